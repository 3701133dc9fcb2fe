//! An RPC fault proxy for the tests: it stands between Omega and anvil and, seeded, breaks the
//! answers the way real nodes and networks do. A transaction is forwarded first and then the
//! client is told it failed (`already known`, anvil's `transaction already imported`, an HTTP 502
//! after forwarding), so a client that signs the same intent again makes a duplicate; other
//! requests meet 429/503 refusals (not forwarded) and delayed answers.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The faults, and the share of eligible requests each gets.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Of `eth_sendRawTransaction`: forwarded, then answered `already known`.
    pub already_known: f64,
    /// Forwarded, then answered `transaction already imported` (-32003).
    pub already_imported: f64,
    /// Forwarded, then answered HTTP 502.
    pub bad_gateway_after: f64,
    /// Of other `eth_` requests: refused with 429 or 503 without forwarding.
    pub refused: f64,
    /// Of other `eth_` requests: answered 3 s late.
    pub delayed: f64,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    faults: Faults,
    rng: Mutex<ChaCha8Rng>,
    injected: Mutex<BTreeMap<&'static str, u64>>,
    requests: Mutex<u64>,
}

pub struct FaultProxy {
    pub url: String,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

impl FaultProxy {
    /// Serves on a free loopback port until dropped.
    pub fn start(upstream: &str, faults: Faults, seed: u64) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            faults,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            injected: Mutex::default(),
            requests: Mutex::default(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        FaultProxy {
            url,
            shared,
            _runtime: runtime,
        }
    }

    /// Faults injected so far, by kind, and the requests seen.
    pub fn injected(&self) -> (BTreeMap<&'static str, u64>, u64) {
        (
            self.shared.injected.lock().unwrap().clone(),
            *self.shared.requests.lock().unwrap(),
        )
    }
}

enum Fault {
    None,
    AlreadyKnown,
    AlreadyImported,
    BadGatewayAfter,
    Refused(StatusCode),
    Delayed,
}

impl Shared {
    fn pick(&self, method: &str) -> Fault {
        let f = &self.faults;
        let x: f64 = self.rng.lock().unwrap().random();
        if method == "eth_sendRawTransaction" {
            let mut edge = f.already_known;
            if x < edge {
                return Fault::AlreadyKnown;
            }
            edge += f.already_imported;
            if x < edge {
                return Fault::AlreadyImported;
            }
            edge += f.bad_gateway_after;
            return if x < edge {
                Fault::BadGatewayAfter
            } else {
                Fault::None
            };
        }
        // The devnet's own methods (mining, clock) stay clean: they are the test's control.
        if !method.starts_with("eth_") {
            return Fault::None;
        }
        if x < f.refused / 2.0 {
            Fault::Refused(StatusCode::TOO_MANY_REQUESTS)
        } else if x < f.refused {
            Fault::Refused(StatusCode::SERVICE_UNAVAILABLE)
        } else if x < f.refused + f.delayed {
            Fault::Delayed
        } else {
            Fault::None
        }
    }

    fn count(&self, kind: &'static str) {
        *self.injected.lock().unwrap().entry(kind).or_default() += 1;
    }

    async fn forward(&self, body: Bytes) -> Result<(StatusCode, Bytes), StatusCode> {
        let answer = self
            .client
            .post(&self.upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|_| StatusCode::BAD_GATEWAY)?;
        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        let bytes = answer.bytes().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
        Ok((status, Bytes::from(bytes.to_vec())))
    }
}

/// The upstream's answer as it came, labelled JSON.
fn json((status, body): (StatusCode, Bytes)) -> Response {
    let content_type = [(axum::http::header::CONTENT_TYPE, "application/json")];
    (status, content_type, body).into_response()
}

/// A JSON-RPC error answer to request `id`.
fn rpc_error(id: &serde_json::Value, code: i64, message: &str) -> Response {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    (StatusCode::OK, axum::Json(body)).into_response()
}

async fn handle(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    *s.requests.lock().unwrap() += 1;
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    // Batches pass untouched: faults are per single call.
    let method = request["method"].as_str().unwrap_or("").to_string();
    let id = request["id"].clone();
    let fault = s.pick(&method);
    if let Fault::Refused(status) = fault {
        s.count(if status == StatusCode::TOO_MANY_REQUESTS {
            "429"
        } else {
            "503"
        });
        return status.into_response();
    }
    let forwarded = match s.forward(body).await {
        Ok(answer) => answer,
        Err(status) => return status.into_response(),
    };
    match fault {
        Fault::AlreadyKnown => {
            s.count("already known");
            rpc_error(&id, -32000, "already known")
        }
        Fault::AlreadyImported => {
            s.count("already imported");
            rpc_error(&id, -32003, "transaction already imported")
        }
        Fault::BadGatewayAfter => {
            s.count("502 after forwarding");
            StatusCode::BAD_GATEWAY.into_response()
        }
        Fault::Delayed => {
            s.count("3 s delay");
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(forwarded)
        }
        Fault::None | Fault::Refused(_) => json(forwarded),
    }
}
