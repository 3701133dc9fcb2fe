//! Omega as an A2A client of external agents: reads and checks an agent card, hands a job (or a
//! validation) over as a task with `SendMessage` and follows it with `GetTask` to a terminal
//! state. Speaks the wire format of `wire.rs`, the one Omega serves.

use super::wire::{self, AgentCard, AgentSkill, Message, Part, Role, Task, TaskState};
use crate::engine::external::A2aCalls;
use crate::engine::seams::BoxFuture;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The largest answer read from an agent (a card or a JSON-RPC response).
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// How soon a task is first asked after (most answers are quick); the wait then doubles up to
/// `POLL_EVERY`.
const FIRST_POLL: Duration = Duration::from_millis(10);
/// How often a task is asked after, at most.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// One HTTP request's limit (a task's own limit is the agent's `task_timeout_seconds`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Default)]
pub struct A2aClient {
    http: reqwest::Client,
}

/// What Omega keeps of a checked card.
#[derive(Clone, Debug)]
pub struct Card {
    pub name: String,
    /// The JSON-RPC interface's URL.
    pub rpc_url: String,
    pub skills: Vec<AgentSkill>,
}

impl Card {
    /// Whether one of the card's skills is the job skill `skill` (by id, name or tag).
    pub fn offers(&self, skill: &str) -> bool {
        (self.skills.iter())
            .any(|s| s.id == skill || s.name == skill || s.tags.iter().any(|t| t == skill))
    }

    pub fn skill_names(&self) -> Vec<&str> {
        self.skills.iter().map(|s| s.id.as_str()).collect()
    }
}

/// Fetches the card at `url` and checks it: protocol 1.0 over JSON-RPC, at least one skill.
pub async fn fetch_card(client: &A2aClient, url: &str) -> eyre::Result<Card> {
    let bytes = (client.get(url).await)
        .map_err(|e| eyre::eyre!("cannot fetch its agent card at {url}: {e}"))?;
    let card: AgentCard = serde_json::from_slice(&bytes)
        .map_err(|e| eyre::eyre!("its agent card at {url} is not a valid card: {e}"))?;
    check_card(card, url).map_err(|e| eyre::eyre!("its agent card at {url}: {e}"))
}

/// The checks on a card, apart from fetching it.
pub fn check_card(card: AgentCard, url: &str) -> Result<Card, String> {
    let iface = (card.supported_interfaces.iter())
        .find(|i| i.protocol_binding == "JSONRPC" && i.protocol_version == wire::PROTOCOL_VERSION);
    let Some(iface) = iface else {
        let offered: Vec<String> = (card.supported_interfaces.iter())
            .map(|i| format!("{} {}", i.protocol_binding, i.protocol_version))
            .collect();
        return Err(format!(
            "no JSONRPC interface of protocol version {} (it offers {offered:?})",
            wire::PROTOCOL_VERSION
        ));
    };
    let rpc_url = url::Url::parse(url)
        .and_then(|base| base.join(&iface.url))
        .map_err(|e| format!("its interface URL {:?} is not a URL: {e}", iface.url))?;
    if card.skills.is_empty() {
        return Err("it lists no skills".into());
    }
    Ok(Card {
        name: card.name,
        rpc_url: rpc_url.to_string(),
        skills: card.skills,
    })
}

impl A2aClient {
    pub fn new() -> A2aClient {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        A2aClient { http }
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        read_limited(response).await
    }

    /// One JSON-RPC call; its `result`, or the error it answered.
    async fn call(&self, url: &str, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response = (self.http.post(url))
            .header("content-type", "application/json")
            .header(wire::VERSION_HEADER, wire::PROTOCOL_VERSION)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("{method}: {e}"))?;
        let bytes = read_limited(response)
            .await
            .map_err(|e| format!("{method}: {e}"))?;
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{method}: the answer is not JSON: {e}"))?;
        if let Some(error) = answer.get("error") {
            return Err(format!(
                "{method}: error {} {}",
                error["code"], error["message"]
            ));
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| format!("{method}: the answer has neither result nor error"))
    }

    /// Sends `data` as a task and follows it until it ends or `timeout` passes.
    pub async fn run(
        &self,
        url: &str,
        data: Value,
        timeout: Duration,
    ) -> Result<Vec<Value>, String> {
        let started = Instant::now();
        let message = Message {
            message_id: format!("omega-{}", alloy_primitives::B256::random()),
            role: Role::RoleUser,
            parts: vec![Part::data(data)],
            ..Message::default()
        };
        let params = json!({"message": message, "configuration": {"returnImmediately": true}});
        let sent = tokio::time::timeout(timeout, self.call(url, "SendMessage", params))
            .await
            .map_err(|_| format!("no answer to SendMessage within {timeout:?}"))??;
        // The agent may answer with a message straight away instead of a task.
        if let Some(message) = sent.get("message") {
            return Ok(vec![json!({"name": "message", "parts": message["parts"]})]);
        }
        let mut task = parse_task(sent.get("task").cloned().unwrap_or(sent), "SendMessage")?;
        let mut wait = FIRST_POLL;
        while !task.status.state.is_terminal() {
            if started.elapsed() >= timeout {
                return Err(format!(
                    "the task did not end within {timeout:?} (last {:?})",
                    task.status.state
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(POLL_EVERY);
            let params = json!({"id": task.id});
            task = parse_task(self.call(url, "GetTask", params).await?, "GetTask")?;
        }
        finished(task)
    }
}

fn parse_task(value: Value, method: &str) -> Result<Task, String> {
    let task: Task = serde_json::from_value(value)
        .map_err(|e| format!("{method}: the answer is not a task: {e}"))?;
    if task.id.is_empty() {
        return Err(format!("{method}: the task has no id"));
    }
    Ok(task)
}

/// A task that ended: its artifacts if it completed, else why not.
fn finished(task: Task) -> Result<Vec<Value>, String> {
    let why = || {
        (task.status.message.iter())
            .flat_map(|m| m.parts.iter())
            .filter_map(|p| p.text.clone())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match task.status.state {
        TaskState::TaskStateCompleted if task.artifacts.is_empty() => {
            Err("the task completed without artifacts".into())
        }
        TaskState::TaskStateCompleted => (task.artifacts.iter())
            .map(|a| serde_json::to_value(a).map_err(|e| e.to_string()))
            .collect(),
        state => Err(format!("the task ended {state:?}: {}", why())),
    }
}

/// The body of `response`, refused when it is an error status or larger than
/// `MAX_ANSWER_BYTES` (read chunk by chunk, so a huge answer is never held whole).
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is larger than {MAX_ANSWER_BYTES} bytes"
            ));
        }
    }
    Ok(body)
}

impl A2aCalls for A2aClient {
    fn run_task(
        &self,
        url: String,
        data: Value,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, String>> {
        let client = self.clone();
        Box::pin(async move { client.run(&url, data, timeout).await })
    }
}
