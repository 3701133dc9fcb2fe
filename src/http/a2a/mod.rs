//! Omega as an A2A (Agent2Agent 1.0) agent: its agent card at `/.well-known/agent-card.json`
//! and a JSON-RPC 2.0 endpoint at `/a2a` with `SendMessage` (posts a job), `GetTask` (follows
//! it) and `CancelTask`. Served by `omega run --http` only: `omega serve` runs no engine to post
//! jobs to.
//!
//! Posting needs the bearer token of the control endpoints (`OMEGA_CONTROL_TOKEN`); so does
//! reading a task unless `--a2a-public-reads` is given. The card itself is public, as A2A
//! discovery expects.

mod book;
pub mod client;
mod intake;
mod task;
pub mod wire;

pub use book::{A2aSink, A2aSource, SharedBook};

use super::control;
use super::state::HttpContext;
use crate::domain::events::ExternalInput;
use crate::domain::job::JobStatus;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use book::Cancel;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::{RpcError, RpcRequest, RpcResponse, code};

/// What the A2A endpoints need beyond the status API's context.
pub struct A2aService {
    pub book: SharedBook,
    /// Every skill some agent of the workforce has (the card's skills; a job's skills must be
    /// among them).
    pub skills: Vec<String>,
    /// `GetTask` without the bearer token.
    pub public_reads: bool,
}

type Ctx = State<Arc<HttpContext>>;

/// Not served here (`omega serve`).
fn unavailable() -> Response {
    let why = "A2A is served by `omega run --http` only (there is no engine here to post jobs to)";
    (StatusCode::NOT_FOUND, Json(json!({ "error": why }))).into_response()
}

/// `GET /.well-known/agent-card.json`: the JSON-RPC URL is built from the request's `Host`, so
/// the card is right whatever address the client reached us on.
pub async fn agent_card(State(ctx): Ctx, headers: HeaderMap) -> Response {
    let Some(svc) = ctx.a2a.as_ref() else {
        return unavailable();
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    Json(card(
        &format!("http://{host}{}", wire::RPC_PATH),
        &svc.skills,
    ))
    .into_response()
}

fn card(url: &str, skills: &[String]) -> wire::AgentCard {
    use wire::*;
    let bearer = "bearer".to_string();
    let example = r#"{"title": "Grid balancing study", "reward": 25, "skills": ["energy"]}"#;
    AgentCard {
        name: "Omega".into(),
        description: "Omega orchestrates a workforce of AI agents on AGI Jobs v2: a task is posted as a job, \
                      worked by an agent, judged by a validator committee through commit-reveal and, when \
                      the run has a chain, mirrored on chain. Send a data part {title, reward (tokens), \
                      skills (optional)}; the final artifact holds the result, the verdict and the job's \
                      transactions."
            .into(),
        supported_interfaces: vec![AgentInterface {
            url: url.to_string(),
            protocol_binding: "JSONRPC".into(),
            protocol_version: PROTOCOL_VERSION.into(),
        }],
        version: env!("CARGO_PKG_VERSION").into(),
        capabilities: AgentCapabilities {
            streaming: false,
            push_notifications: false,
            extended_agent_card: false,
        },
        security_schemes: [(
            bearer.clone(),
            SecurityScheme {
                http_auth_security_scheme: HttpAuthSecurityScheme {
                    description: "OMEGA_CONTROL_TOKEN of the run".into(),
                    scheme: "Bearer".into(),
                },
            },
        )]
        .into(),
        security_requirements: vec![SecurityRequirement {
            schemes: [(bearer, StringList { list: vec![] })].into(),
        }],
        default_input_modes: vec!["application/json".into(), "text/plain".into()],
        default_output_modes: vec!["application/json".into()],
        skills: skills
            .iter()
            .map(|s| AgentSkill {
                id: s.clone(),
                name: s.clone(),
                description: format!("Jobs needing the {s:?} skill, done by Omega's agents and validated by its committee"),
                tags: vec![s.clone(), "agi-jobs".into()],
                examples: vec![example.replace("energy", s)],
            })
            .collect(),
    }
}

/// `POST /a2a`: one JSON-RPC request (batches are not supported). Errors of the protocol are
/// JSON-RPC errors with HTTP 200; a missing or wrong token is HTTP 401 (403 when the run has no
/// token at all), like the control endpoints.
pub async fn rpc(State(ctx): Ctx, headers: HeaderMap, body: Bytes) -> Response {
    let Some(svc) = ctx.a2a.as_ref() else {
        return unavailable();
    };
    let parsed = serde_json::from_slice::<Value>(&body);
    let method = parsed.as_ref().ok().and_then(|v| v.get("method")?.as_str());
    let public = svc.public_reads && method == Some("GetTask");
    if !public && let Err((status, message)) = control::authorize(ctx.token.as_deref(), &headers) {
        let mut r = (status, Json(json!({"error": message}))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Bearer".parse().expect("header value"),
            );
        }
        return r;
    }
    let request = match parsed {
        Err(e) => {
            return reply(
                Value::Null,
                Err(RpcError::new(code::PARSE_ERROR, format!("not JSON: {e}"))),
            );
        }
        Ok(v) => v,
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let request = match envelope(request) {
        Ok(r) => r,
        Err(e) => return reply(id, Err(e)),
    };
    if let Err(e) = version(&headers) {
        return reply(id, Err(e));
    }
    let outcome = match request.method.as_str() {
        "SendMessage" => send_message(&ctx, svc, request.params),
        "GetTask" => get_task(&ctx, svc, request.params).await,
        "CancelTask" => cancel_task(&ctx, svc, request.params).await,
        "SendStreamingMessage" | "SubscribeToTask" => Err(RpcError::new(
            code::UNSUPPORTED_OPERATION,
            "streaming is not supported (the card says capabilities.streaming = false): use SendMessage and GetTask",
        )),
        other => Err(RpcError::new(
            code::METHOD_NOT_FOUND,
            format!("method {other:?} not found: Omega serves SendMessage, GetTask and CancelTask"),
        )),
    };
    reply(request.id, outcome)
}

fn reply(id: Value, outcome: Result<Value, RpcError>) -> Response {
    Json(RpcResponse::answer(id, outcome)).into_response()
}

/// A JSON-RPC 2.0 request object, or an invalid-request error.
fn envelope(request: Value) -> Result<RpcRequest, RpcError> {
    let invalid = |why: &str| RpcError::new(code::INVALID_REQUEST, why.to_string());
    if !request.is_object() {
        return Err(invalid(
            "a request must be one JSON-RPC 2.0 object (batches are not supported)",
        ));
    }
    let request: RpcRequest = serde_json::from_value(request)
        .map_err(|e| invalid(&format!("not a JSON-RPC 2.0 request: {e}")))?;
    if request.jsonrpc != "2.0" {
        return Err(invalid("\"jsonrpc\" must be \"2.0\""));
    }
    if !(request.id.is_string() || request.id.is_number() || request.id.is_null()) {
        return Err(invalid("\"id\" must be a string, a number or null"));
    }
    Ok(request)
}

/// An `A2A-Version` header must name 1.0 (the patch is ignored); none is taken as 1.0.
fn version(headers: &HeaderMap) -> Result<(), RpcError> {
    let Some(v) = headers.get(wire::VERSION_HEADER) else {
        return Ok(());
    };
    let v = v.to_str().unwrap_or_default().trim();
    let major_minor: Vec<&str> = v.split('.').take(2).collect();
    if major_minor == ["1", "0"] || v == "1" {
        return Ok(());
    }
    Err(RpcError::new(
        code::VERSION_NOT_SUPPORTED,
        format!(
            "A2A version {v:?} is not supported: Omega speaks {}",
            wire::PROTOCOL_VERSION
        ),
    ))
}

fn params<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params)
        .map_err(|e| RpcError::new(code::INVALID_PARAMS, format!("invalid params: {e}")))
}

/// Queues the job for the next cycle and answers with the task, submitted. It does not wait for
/// the job to end whatever `returnImmediately` says: jobs take many cycles (and chain blocks);
/// follow the task with `GetTask`.
fn send_message(ctx: &HttpContext, svc: &A2aService, raw: Value) -> Result<Value, RpcError> {
    let request: wire::SendMessageRequest = params(raw)?;
    let message = request.message;
    if message.task_id.is_some() {
        return Err(RpcError::new(
            code::UNSUPPORTED_OPERATION,
            "Omega takes one message per task: send a new message (without taskId) for another job",
        ));
    }
    let view = ctx.current();
    let job = intake::job_request(&message, &svc.skills, &view.state)
        .map_err(|why| RpcError::new(code::INVALID_PARAMS, why))?;
    let id = new_id();
    let context_id = message.context_id.clone().unwrap_or_else(new_id);
    let input = ExternalInput::AdoptJob {
        reference: book::reference(&id),
        title: job.title,
        reward: job.reward,
        skills: job.skills,
    };
    let record = book::TaskRecord::new(context_id.clone(), message.clone());
    svc.book
        .lock()
        .expect("a2a book")
        .submit(id.clone(), record, input);
    tracing::info!("A2A task {id}: job queued for the next cycle");
    let task = wire::Task {
        id: id.clone(),
        context_id,
        status: wire::TaskStatus {
            state: wire::TaskState::TaskStateSubmitted,
            message: None,
            timestamp: task::rfc3339(crate::engine::clock::wall_ms()),
        },
        artifacts: Vec::new(),
        history: vec![message],
        metadata: json!({"omegaJobId": null}),
    };
    Ok(json!({"task": task}))
}

async fn get_task(ctx: &HttpContext, svc: &A2aService, raw: Value) -> Result<Value, RpcError> {
    let request: wire::TaskIdRequest = params(raw)?;
    let history = request.history_length.is_none_or(|n| n > 0);
    let task = lookup(ctx, svc, &request.id, history).await?;
    Ok(json!(task))
}

/// How long `CancelTask` waits for the engine (which takes a cancellation at its next cycle).
const CANCEL_WAIT: Duration = Duration::from_secs(10);

/// Cancels the task's job if no agent has taken it yet: withdrawn here if it has not reached
/// the engine, else cancelled and refunded at the next cycle (on a chain, the mirror then
/// cancels it there too, `cancelJob`). Answers the task, `CANCELED`; otherwise the task is not
/// cancelable, and the error says why.
async fn cancel_task(ctx: &HttpContext, svc: &A2aService, raw: Value) -> Result<Value, RpcError> {
    let request: wire::TaskIdRequest = params(raw)?;
    let id = request.id.as_str();
    let not_cancelable = |why: String| Err(RpcError::new(code::TASK_NOT_CANCELABLE, why));
    let task = lookup(ctx, svc, id, false).await?;
    if task.status.state.is_terminal() {
        return not_cancelable(format!("task {id} has ended ({:?})", task.status.state));
    }
    if svc.book.lock().expect("a2a book").withdraw(id) {
        tracing::info!("A2A task {id}: cancelled before its job was posted");
        return Ok(json!(lookup(ctx, svc, id, true).await?));
    }
    let record = |svc: &A2aService| svc.book.lock().expect("a2a book").get(id);
    if record(svc).is_none() {
        return not_cancelable(format!(
            "task {id} was sent before Omega restarted: its job is not cancelled on request"
        ));
    }
    // Handed to the engine: its job is known once that cycle has run.
    let posted = until(|| record(svc).filter(|r| r.job.is_some() || r.refused)).await;
    let Some(job) = posted.and_then(|r| r.job) else {
        let task = lookup(ctx, svc, id, false).await?;
        return not_cancelable(format!("task {id} has no job ({:?})", task.status.state));
    };
    let status = ctx.current().state.jobs.get(job).map(|j| j.status);
    if let Some(status) = status.filter(|s| *s != JobStatus::Pending) {
        return not_cancelable(format!(
            "task {id} cannot be cancelled: its job {job} is {} (an agent has taken it); only a job no agent has taken yet can be",
            status.name()
        ));
    }
    svc.book.lock().expect("a2a book").ask_cancel(id, job);
    let answered =
        until(|| record(svc).filter(|r| matches!(r.cancel, Cancel::Done | Cancel::Refused))).await;
    match answered.map(|r| r.cancel) {
        Some(Cancel::Done) => {}
        Some(_) => {
            return not_cancelable(format!(
                "task {id} cannot be cancelled: an agent took its job {job} before the cancellation reached the engine"
            ));
        }
        None => {
            return not_cancelable(format!(
                "the engine did not take the cancellation of task {id} within {CANCEL_WAIT:?}; follow the task with GetTask"
            ));
        }
    }
    tracing::info!("A2A task {id}: job {job} cancelled on request");
    // The live view shows the cancellation once it is next published.
    let mut task = lookup(ctx, svc, id, true).await?;
    let started = Instant::now();
    while !task.status.state.is_terminal() && started.elapsed() < CANCEL_WAIT {
        tokio::time::sleep(WAIT_STEP).await;
        task = lookup(ctx, svc, id, true).await?;
    }
    Ok(json!(task))
}

/// How often a wait of `CancelTask` looks again.
const WAIT_STEP: Duration = Duration::from_millis(20);

/// The first `Some` of `f`, asked every `WAIT_STEP` for at most `CANCEL_WAIT`.
async fn until<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if started.elapsed() >= CANCEL_WAIT {
            return None;
        }
        tokio::time::sleep(WAIT_STEP).await;
    }
}

async fn lookup(
    ctx: &HttpContext,
    svc: &A2aService,
    id: &str,
    history: bool,
) -> Result<wire::Task, RpcError> {
    let record = svc.book.lock().expect("a2a book").get(id);
    task::build(ctx, id, record, history)
        .await
        .ok_or_else(|| RpcError::new(code::TASK_NOT_FOUND, format!("task {id:?} not found")))
}

/// A random id in the UUID layout (the chance of two alike is nil; ids only need to be unique).
fn new_id() -> String {
    let b = alloy_primitives::B128::random();
    let h = alloy_primitives::hex::encode(b.as_slice());
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
