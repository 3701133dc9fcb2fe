//! The routes and their handlers. Errors are JSON: `{"error": "..."}` with a fitting status.

use super::state::{HttpContext, checkpoint_hash_on_disk};
use super::{a2a, chain, control, jobs, metrics};
use crate::domain::job::JobId;
use crate::persistence::{control as control_file, pidfile};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast;

type Ctx = State<Arc<HttpContext>>;

const DASHBOARD: &str = include_str!("dashboard.html");

pub fn router(ctx: Arc<HttpContext>) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/healthz", get(healthz))
        .route("/status", get(status))
        .route("/history", get(history))
        .route("/jobs", get(job_list))
        .route("/jobs/{id}", get(job_detail))
        .route("/chain", get(chain_doc))
        .route("/metrics", get(prometheus))
        .route("/events", get(events))
        .route("/control/pause", post(pause))
        .route("/control/resume", post(resume))
        .route("/results/{hash}", get(result))
        .route(a2a::wire::CARD_PATH, get(a2a::agent_card))
        .route(a2a::wire::RPC_PATH, post(a2a::rpc))
        .fallback(not_found)
        .with_state(ctx)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn dashboard() -> Html<&'static str> {
    Html(DASHBOARD)
}

async fn healthz(State(ctx): Ctx) -> Json<Value> {
    let view = ctx.current();
    Json(
        json!({"ok": true, "mode": ctx.mode, "cycle": view.state.cycle, "updated_ms": view.updated_ms}),
    )
}

/// `omega status --json`, plus where the view comes from and when it was published.
async fn status(State(ctx): Ctx) -> Response {
    let view = ctx.current();
    let s = &view.state;
    let pending = match control_file::read(&ctx.paths.control) {
        Ok(c) => c
            .filter(|c| c.seq > s.applied_control_seq)
            .map(|c| c.paused),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let running = match ctx.mode {
        "live" => Some(std::process::id()),
        _ => pidfile::running(&ctx.paths.lock),
    };
    let hash = view
        .checkpoint_hash
        .clone()
        .or_else(|| checkpoint_hash_on_disk(&ctx.paths));
    let mut report = super::status_report(s, pending, running, hash.as_deref().unwrap_or_default());
    if hash.is_none() {
        report["checkpoint_hash"] = Value::Null; // a live run before its first checkpoint
    }
    report["mode"] = json!(ctx.mode);
    report["updated_ms"] = json!(view.updated_ms);
    report["now_ms"] = json!(s.now_ms);
    report["job_stakes_by_account"] = job_stakes_by_account(s);
    Json(report).into_response()
}

/// Tokens each account has staked on the jobs it is working on (the dashboard's stakes column).
fn job_stakes_by_account(s: &crate::domain::world::WorldState) -> Value {
    let mut stakes = vec![crate::domain::amount::Amount::ZERO; s.ledger.accounts().len()];
    for job in s.jobs.iter().filter(|j| !j.status.is_terminal()) {
        if let Some(slot) = job.assignee.and_then(|a| stakes.get_mut(a.0 as usize)) {
            *slot += job.stake;
        }
    }
    let map: serde_json::Map<String, Value> = s
        .ledger
        .accounts()
        .iter()
        .zip(stakes)
        .map(|(a, st)| (a.name.clone(), json!(st.to_string())))
        .collect();
    Value::Object(map)
}

async fn history(State(ctx): Ctx) -> Json<Value> {
    let points: Vec<_> = ctx
        .history
        .lock()
        .expect("history")
        .iter()
        .cloned()
        .collect();
    Json(json!({"points": points}))
}

async fn job_list(
    State(ctx): Ctx,
    query: Result<Query<jobs::JobQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // A malformed query (`offset=-1`, `limit=ten`) gets the same JSON error as a bad value.
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let view = ctx.current();
    match jobs::list(&view.state, &q) {
        Ok(v) => Json(v).into_response(),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

async fn job_detail(State(ctx): Ctx, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>().map(JobId) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("job id {id:?} is not a number"),
        );
    };
    let view = ctx.current();
    let (mut doc, archived) = match view.state.jobs.get(id) {
        Some(job) => (jobs::job_json(&view.state, job), false),
        None => match jobs::archived(&ctx.paths.archive, id) {
            Some(job) => (jobs::job_json(&view.state, &job), true),
            None => return error(StatusCode::NOT_FOUND, format!("no job {id}")),
        },
    };
    doc["archived"] = json!(archived);
    doc["chain"] = jobs::mirror_state(&ctx.paths.dir.join("chain").join("mirror.jsonl"), id);
    let onchain_id =
        serde_json::from_value::<alloy::primitives::U256>(doc["chain"]["onchain_id"].clone());
    if let Ok(onchain_id) = onchain_id {
        doc["chain"]["onchain_events"] = chain::job_events(&ctx, onchain_id).await;
    }
    Json(doc).into_response()
}

/// `GET /results/{hash}`: an external agent's result, the exact bytes whose keccak hash went on
/// chain with `submit` (so anyone can check it against `ResultSubmitted`).
async fn result(State(ctx): Ctx, Path(hash): Path<String>) -> Response {
    let Ok(parsed) = hash.parse::<alloy::primitives::B256>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{hash:?} is not a result hash (0x and 64 hex digits)"),
        );
    };
    let results = crate::engine::external::Results::new(ctx.paths.dir.join("results"));
    match results.get(&parsed) {
        Some(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no result {parsed}")),
    }
}

async fn chain_doc(State(ctx): Ctx) -> Json<Value> {
    Json(chain::document(&ctx).await)
}

async fn prometheus(State(ctx): Ctx) -> Response {
    let view = ctx.current();
    let dir = &ctx.paths.dir;
    let (indexer, mirror) = (chain::indexer(dir), chain::mirror(dir));
    let (attestations, pending) = (chain::attestations(dir), chain::pending(&ctx).await);
    let transactions = (ctx.chain.transactions.as_ref())
        .map(chain::transactions)
        .unwrap_or_default();
    let figures = metrics::ChainFigures {
        indexer: &indexer,
        mirror: &mirror,
        attestations: &attestations,
        pending: &pending,
        transactions: &transactions,
    };
    let text = metrics::render(&view.state, &figures);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Server-sent events: one `event: <name>` with a JSON `data:` line per domain event.
async fn events(
    State(ctx): Ctx,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let rx = ctx.events.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(e) => Event::default().event(&*e.name).data(&*e.json),
            // A slow client skips what it missed and says so.
            Err(broadcast::error::RecvError::Lagged(n)) => Event::default()
                .event("lagged")
                .data(json!({"skipped": n}).to_string()),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn pause(State(ctx): Ctx, headers: HeaderMap) -> Response {
    request(&ctx, &headers, true)
}

async fn resume(State(ctx): Ctx, headers: HeaderMap) -> Response {
    request(&ctx, &headers, false)
}

/// Writes the control file exactly as `omega pause`/`omega resume` do; the orchestrator applies
/// it within one cycle.
fn request(ctx: &HttpContext, headers: &HeaderMap, pause: bool) -> Response {
    if let Err((status, message)) = control::authorize(ctx.token.as_deref(), headers) {
        let mut r = error(status, message);
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Bearer".parse().expect("header value"),
            );
        }
        return r;
    }
    match control_file::request(&ctx.paths.control, pause, "http") {
        Ok(c) => {
            tracing::info!(
                "{} requested over HTTP (#{})",
                if pause { "pause" } else { "resume" },
                c.seq
            );
            (
                StatusCode::ACCEPTED,
                Json(json!({"requested": if pause { "pause" } else { "resume" }, "seq": c.seq})),
            )
                .into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
