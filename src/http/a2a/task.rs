//! A task as the client sees it: its state follows the job, and a finished job's artifact holds
//! the result, the validators' verdict and the job's on-chain transactions.

use super::book::{Cancel, TaskRecord, reference};
use super::wire::{Artifact, Message, Part, Role, Task, TaskState, TaskStatus};
use crate::domain::job::{Job, JobOrigin, JobStatus};
use crate::domain::world::WorldState;
use crate::http::state::HttpContext;
use crate::http::{chain, jobs};
use serde_json::{Value, json};
use std::io::BufRead;

/// The job step the mirror journals last for a settled job: until it is done, a job the engine
/// settled is still being finalized on chain.
const FINAL_CHAIN_STEP: &str = "finish";

/// The job behind task `id`: from the record, else by its reference in the live state, else in
/// the archive (a task sent before a restart).
pub fn find_job(ctx: &HttpContext, id: &str, record: Option<&TaskRecord>) -> Option<Job> {
    let view = ctx.current();
    let reference = reference(id);
    let is_ours =
        |j: &Job| matches!(&j.origin, JobOrigin::External { reference: r } if *r == reference);
    if let Some(job_id) = record.and_then(|r| r.job) {
        return (view.state.jobs.get(job_id).cloned())
            .or_else(|| jobs::archived(&ctx.paths.archive, job_id));
    }
    if let Some(job) = view.state.jobs.iter().find(|j| is_ours(j)) {
        return Some(job.clone());
    }
    let file = std::fs::File::open(&ctx.paths.archive).ok()?;
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter(|line| line.contains(&reference))
        .filter_map(|line| serde_json::from_str::<Job>(&line).ok())
        .find(is_ours)
}

/// The task: `None` when neither a record nor a job knows it.
pub async fn build(
    ctx: &HttpContext,
    id: &str,
    record: Option<TaskRecord>,
    history: bool,
) -> Option<Task> {
    let job = find_job(ctx, id, record.as_ref());
    if record.is_none() && job.is_none() {
        return None;
    }
    let view = ctx.current();
    let context_id = record
        .as_ref()
        .map_or_else(|| id.to_string(), |r| r.context_id.clone());
    let history = match (&record, history) {
        (Some(r), true) => vec![r.message.clone()],
        _ => Vec::new(),
    };
    let (state, note, artifacts) = match (&job, &record) {
        (Some(job), _) => progress(ctx, &view.state, job, record.as_ref()).await,
        (None, Some(r)) if r.cancel == Cancel::Done => (
            TaskState::TaskStateCanceled,
            Some("cancelled before its job was posted".to_string()),
            Vec::new(),
        ),
        (None, Some(r)) if r.refused => (
            TaskState::TaskStateRejected,
            Some("the engine refused the job (the steward cannot front its escrow now, or the rules refused it); see the run's log".to_string()),
            Vec::new(),
        ),
        _ => (TaskState::TaskStateSubmitted, None, Vec::new()),
    };
    let status = TaskStatus {
        state,
        message: note.map(|text| agent_message(id, &context_id, text)),
        timestamp: rfc3339(view.updated_ms),
    };
    Some(Task {
        id: id.to_string(),
        context_id,
        status,
        artifacts,
        history,
        metadata: json!({"omegaJobId": job.as_ref().map(|j| j.id.0)}),
    })
}

/// The task's state for its job's status, a note for the client, and the final artifact.
async fn progress(
    ctx: &HttpContext,
    s: &WorldState,
    job: &Job,
    record: Option<&TaskRecord>,
) -> (TaskState, Option<String>, Vec<Artifact>) {
    let state = match job.status {
        JobStatus::Pending => TaskState::TaskStateSubmitted,
        JobStatus::Active | JobStatus::Validating => TaskState::TaskStateWorking,
        JobStatus::Completed => TaskState::TaskStateCompleted,
        JobStatus::Failed => TaskState::TaskStateFailed,
        JobStatus::Cancelled => TaskState::TaskStateCanceled,
    };
    let note = format!("job {} is {}", job.id.0, job.status.name());
    if !state.is_terminal() {
        return (state, Some(note), Vec::new());
    }
    let onchain = jobs::mirror_state(&ctx.paths.dir.join("chain").join("mirror.jsonl"), job.id);
    // A completed job the mirror created on chain is reported once the chain has finalized it
    // too, so that the artifact lists every transaction. (A failed job may never be finalized
    // on chain: it ends as the engine says.)
    let on_chain = onchain["onchain_id"].is_string() || onchain["onchain_id"].is_number();
    let finalized = onchain["steps"].as_array().is_some_and(|steps| {
        steps
            .iter()
            .filter_map(Value::as_str)
            .any(|s| s.split_once(':').map_or(s, |(name, _)| name) == FINAL_CHAIN_STEP)
    });
    if job.status == JobStatus::Completed && on_chain && !finalized {
        let wait = format!("{note} in the engine; waiting for the chain to finalize it");
        return (TaskState::TaskStateWorking, Some(wait), Vec::new());
    }
    let transactions = transactions(ctx, &onchain).await;
    let artifact = Artifact {
        artifact_id: format!("omega-job-{}", job.id.0),
        name: "result".into(),
        description: "The job's result, the validators' verdict and its on-chain transactions"
            .into(),
        parts: vec![Part::data(result(s, job, record, &onchain, transactions))],
    };
    (state, Some(note), vec![artifact])
}

/// The job's lifecycle transactions read from the chain's logs (`[]` without a chain).
async fn transactions(ctx: &HttpContext, onchain: &Value) -> Value {
    let id = serde_json::from_value::<alloy::primitives::U256>(onchain["onchain_id"].clone());
    match id {
        Ok(id) => match chain::job_events(ctx, id).await {
            Value::Null => json!([]),
            v => v,
        },
        Err(_) => json!([]),
    }
}

/// The artifact's data: what was done, how the validators judged it, where it is on chain.
fn result(
    s: &WorldState,
    job: &Job,
    record: Option<&TaskRecord>,
    onchain: &Value,
    transactions: Value,
) -> Value {
    let name = |id| crate::http::jobs::account_name(s, id);
    json!({
        "job": job.id.0,
        "title": job.title,
        "status": job.status.name(),
        "result": {
            "outcome": job.outcome,
            "assignee": job.assignee.and_then(name),
            "reward": job.reward.to_string(),
            "skills": job.skills,
            "work_done": job.work_done,
        },
        "verdict": verdict(job, record),
        "chain": {
            "onchain_id": onchain["onchain_id"],
            "transactions": transactions,
        },
    })
}

/// How the validators judged the job: the tally and each revealed vote as this process saw
/// them (a task sent before a restart has only the job's outcome).
fn verdict(job: &Job, record: Option<&TaskRecord>) -> Value {
    let votes = record.map_or(&[][..], |r| &r.votes[..]);
    let last_round = votes.iter().map(|v| v.round).max();
    let final_votes = |approve: bool| {
        (votes.iter())
            .filter(|v| Some(v.round) == last_round && v.approve == approve)
            .count() as u32
    };
    let (approvals, rejections) = record
        .and_then(|r| r.tally)
        .unwrap_or((final_votes(true), final_votes(false)));
    json!({
        "approved": job.status == JobStatus::Completed,
        "outcome": job.outcome,
        "rounds": job.validation_rounds,
        "approvals": approvals,
        "rejections": rejections,
        "votes": votes,
    })
}

pub fn agent_message(task_id: &str, context_id: &str, text: String) -> Message {
    Message {
        message_id: format!("{task_id}-status"),
        context_id: Some(context_id.to_string()),
        task_id: Some(task_id.to_string()),
        role: Role::RoleAgent,
        parts: vec![Part::text(text)],
        metadata: None,
    }
}

/// A protobuf `Timestamp` in JSON: RFC 3339, UTC.
pub fn rfc3339(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(at).to_string()
}
