//! External agents in the cycle: the seam between the synchronous engine and agents reached over
//! A2A. An external agent answers its tick at once, like a simulated one, from what it knows
//! now: a job it was handed starts an A2A task in the background and is reported `Working`
//! until the task has ended; the answer is taken at a later cycle (done with its result hash,
//! or an error). A committee seat works the same way: the vote is committed once the validator
//! has answered, and a seat whose validator has not answered in time is simply not committed
//! (the round's usual rules then count it as missed). Nothing here ever waits on the network.
//!
//! The A2A calls themselves (the wire format, HTTP) are behind `A2aCalls`, which the HTTP
//! layer implements (`http::a2a::client`).

use super::seams::BoxFuture;
use crate::domain::agent::{
    AgentProfile, AgentReply, AgentTick, Bid, CommitRequest, JobBrief, Progress, RevealReply,
    SubJobRequest, WorkItem, WorkReport,
};
use crate::domain::amount::Amount;
use crate::domain::commit_reveal::SealedVote;
use crate::domain::job::JobId;
use alloy_primitives::{B256, keccak256};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The largest result Omega keeps and serves (its canonical JSON).
pub const MAX_RESULT_BYTES: usize = 256 * 1024;
/// The largest input a sub-job may be given (its JSON).
pub const MAX_INPUT_BYTES: usize = 16 * 1024;
/// The longest title a sub-job may have, in characters.
pub const MAX_SUBJOB_TITLE: usize = 200;

/// One A2A task, start to end: send `data` as a message's data part to the agent's JSON-RPC
/// endpoint `url`, follow the task to a terminal state within `timeout`, and return its
/// artifacts (as JSON) if it completed, or say why not.
pub trait A2aCalls: Send + Sync {
    fn run_task(
        &self,
        url: String,
        data: Value,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, String>>;
}

/// Results of external work, by hash, as files in `reports/results/` (served by the HTTP API
/// under `/results/{hash}`; kept across restarts).
#[derive(Clone, Debug)]
pub struct Results {
    dir: PathBuf,
}

impl Results {
    pub fn new(dir: PathBuf) -> Results {
        Results { dir }
    }

    fn path(&self, hash: &B256) -> PathBuf {
        self.dir.join(format!("{hash}.json"))
    }

    /// Stores `bytes` under their keccak hash, which it returns.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<B256> {
        let hash = keccak256(bytes);
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".{hash}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, self.path(&hash))?;
        Ok(hash)
    }

    /// The result stored under `hash`, if any.
    pub fn get(&self, hash: &B256) -> Option<Vec<u8>> {
        std::fs::read(self.path(hash)).ok()
    }
}

/// The input data of a job, derived from its id and title only, so that a validator given the
/// same task data computes the same thing the worker did.
pub fn input_data(job: JobId, title: &str) -> Value {
    let seed = keccak256(format!("omega-input:{}:{title}", job.0));
    let numbers: Vec<u64> = seed
        .0
        .chunks(4)
        .map(|c| u64::from(c[0]) * 7 + u64::from(c[1]))
        .collect();
    json!({ "text": title, "numbers": numbers })
}

/// The data part of the task that hands `job` to an external worker.
pub fn work_task(job: JobId, brief: &JobBrief) -> Value {
    json!({
        "kind": "omega.job",
        "job": job.0,
        "title": brief.title,
        "skills": brief.skills,
        "reward": brief.reward.tokens().to_string(),
        "deadline_ms": brief.deadline_ms,
        "parent": brief.parent.map(|p| p.0),
        "input": match &brief.input {
            Some(given) => given.as_ref().clone(),
            None => input_data(job, &brief.title),
        },
    })
}

/// The canonical JSON of a worker's answer: `{"job", "artifacts"}` with every object's keys
/// sorted and no spaces. Its keccak hash is what goes on chain. (serde_json keeps object keys
/// sorted unless its `preserve_order` feature is on, which this crate does not use; a test
/// checks it.)
pub fn canonical_result(job: JobId, artifacts: &[Value]) -> Result<Vec<u8>, String> {
    let bytes = serde_json::to_vec(&json!({ "job": job.0, "artifacts": artifacts }))
        .map_err(|e| format!("the result is not JSON: {e}"))?;
    if bytes.len() > MAX_RESULT_BYTES {
        return Err(format!(
            "the result is {} bytes, more than the {MAX_RESULT_BYTES} allowed",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// A validator's answer: the first data part of its artifacts with a boolean `approve` (and an
/// optional `reason`).
pub fn verdict(artifacts: &[Value]) -> Result<(bool, String), String> {
    let parts = artifacts
        .iter()
        .filter_map(|a| a["parts"].as_array())
        .flatten();
    for part in parts {
        if let Some(approve) = part["data"]["approve"].as_bool() {
            let reason = part["data"]["reason"].as_str().unwrap_or_default();
            return Ok((approve, reason.to_string()));
        }
    }
    Err("the answer has no data part with a boolean \"approve\"".into())
}

/// The sub-jobs a worker asks for with its answer: the first data part with a `subjobs` key,
/// a list of `{"title", "skills", "reward", "input"?}` (`reward` in tokens, a number or a
/// decimal string; `input` an object, handed to the sub-job's worker as its `input`). None when
/// no part has the key. A list of the wrong shape is an error naming the entry; the rules on
/// what may be asked for (how many, how deep, for how much) are the world's.
pub fn subjob_requests(artifacts: &[Value]) -> Result<Vec<SubJobRequest>, String> {
    let parts = artifacts
        .iter()
        .filter_map(|a| a["parts"].as_array())
        .flatten();
    let Some(list) = parts.filter_map(|p| p["data"].get("subjobs")).next() else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or("the sub-job request: \"subjobs\" is not a list")?;
    (list.iter().enumerate())
        .map(|(i, entry)| {
            subjob_request(entry).map_err(|e| format!("the sub-job request: subjobs[{i}]: {e}"))
        })
        .collect()
}

fn subjob_request(entry: &Value) -> Result<SubJobRequest, String> {
    let title = (entry["title"].as_str())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("\"title\" must be a non-empty string")?;
    if title.chars().count() > MAX_SUBJOB_TITLE {
        return Err(format!(
            "the title is longer than {MAX_SUBJOB_TITLE} characters"
        ));
    }
    let skills: Vec<String> = serde_json::from_value(entry["skills"].clone())
        .ok()
        .filter(|s: &Vec<String>| !s.is_empty() && s.iter().all(|s| !s.trim().is_empty()))
        .ok_or("\"skills\" must be a non-empty list of skill names")?;
    let tokens = match &entry["reward"] {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let reward = tokens
        .filter(|t| t.is_finite() && *t > 0.0 && *t <= 1e15)
        .map(Amount::from_tokens)
        .ok_or("\"reward\" must be a positive number of tokens (at most 1e15)")?;
    let input = match &entry["input"] {
        Value::Null => None,
        Value::Object(_) if entry["input"].to_string().len() <= MAX_INPUT_BYTES => {
            Some(Arc::new(entry["input"].clone()))
        }
        Value::Object(_) => {
            return Err(format!("\"input\" is larger than {MAX_INPUT_BYTES} bytes"));
        }
        _ => return Err("\"input\" must be an object".into()),
    };
    Ok(SubJobRequest {
        title: title.to_string(),
        skills,
        reward,
        input,
    })
}

type Outcome<T> = Arc<Mutex<Option<Result<T, String>>>>;
/// A worker's answer: its result's hash, and the sub-jobs it asked for.
type Answer = (B256, Vec<SubJobRequest>);
/// A validator's answer: approve, and why.
type Vote = (bool, String);
/// Committee seats by job and round nonce.
type Seats = HashMap<(JobId, u32), Slot<Vote>>;

/// One A2A task in flight or ended.
struct Slot<T> {
    outcome: Outcome<T>,
    task: tokio::task::JoinHandle<()>,
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An external agent as the engine sees it: its profile, policy and the tasks in flight.
pub struct ExternalDriver {
    profile: AgentProfile,
    min_reward: Amount,
    timeout: Duration,
    url: String,
    calls: Arc<dyn A2aCalls>,
    results: Results,
    work: Mutex<HashMap<JobId, Slot<Answer>>>,
    votes: Mutex<Seats>,
}

impl ExternalDriver {
    pub fn new(
        profile: AgentProfile,
        min_reward: f64,
        timeout: Duration,
        url: String,
        calls: Arc<dyn A2aCalls>,
        results: Results,
    ) -> ExternalDriver {
        ExternalDriver {
            profile,
            min_reward: Amount::from_tokens(min_reward),
            timeout,
            url,
            calls,
            results,
            work: Mutex::default(),
            votes: Mutex::default(),
        }
    }

    pub fn profile(&self) -> &AgentProfile {
        &self.profile
    }

    /// The agent's answer to `tick`, at once (see the module's comment).
    pub fn decide(&self, tick: &AgentTick) -> AgentReply {
        let mut rng = ChaCha8Rng::seed_from_u64(tick.seed);
        let bids = (tick.offers.iter())
            .filter(|o| o.reward >= self.min_reward && o.skills.held > 0)
            .map(|o| Bid {
                job: o.job,
                score: f64::from(o.skills.held) * 10.0,
            })
            .collect();
        AgentReply {
            agent: self.profile.id,
            cycle: tick.cycle,
            bids,
            work: self.follow_work(&tick.work),
            commits: self.follow_votes(&tick.commits, &mut rng),
            // Reveal exactly what was committed, always: the salt is the engine's.
            reveals: (tick.reveals.iter())
                .map(|r| RevealReply {
                    job: r.job,
                    nonce: r.nonce,
                    approve: r.approve,
                    salt: r.salt,
                })
                .collect(),
        }
    }

    /// Starts a task for each job handed over for the first time; reports those that ended.
    fn follow_work(&self, items: &[WorkItem]) -> Vec<WorkReport> {
        let mut slots = self.work.lock().expect("work slots");
        // A job no longer handed back (submitted, failed, past its deadline) needs no task.
        slots.retain(|job, _| items.iter().any(|w| w.job == *job));
        let mut reports = Vec::new();
        for w in items {
            let Some(brief) = &w.brief else { continue };
            let slot = slots
                .entry(w.job)
                .or_insert_with(|| self.start_work(w.job, brief));
            let (progress, result, subjobs) = match slot.outcome.lock().expect("outcome").clone() {
                None => (Progress::Working, None, Vec::new()),
                Some(Ok((hash, subjobs))) => {
                    (Progress::Done { work_ok: true }, Some(hash), subjobs)
                }
                Some(Err(reason)) => {
                    let reason = format!("{} (A2A): {reason}", self.profile.name);
                    (Progress::Error { reason }, None, Vec::new())
                }
            };
            reports.push(WorkReport {
                job: w.job,
                progress,
                delegate: false,
                innovation: 0.0,
                result,
                subjobs,
            });
        }
        reports
    }

    fn start_work(&self, job: JobId, brief: &JobBrief) -> Slot<Answer> {
        let outcome: Outcome<Answer> = Arc::default();
        let (calls, url, timeout) = (self.calls.clone(), self.url.clone(), self.timeout);
        let (data, results, name) = (
            work_task(job, brief),
            self.results.clone(),
            self.profile.name.clone(),
        );
        let done = outcome.clone();
        let task = tokio::spawn(async move {
            let started = std::time::Instant::now();
            let answer = calls
                .run_task(url, data, timeout)
                .await
                .and_then(|artifacts| {
                    let subjobs = subjob_requests(&artifacts)?;
                    let bytes = canonical_result(job, &artifacts)?;
                    let hash = (results.put(&bytes))
                        .map_err(|e| format!("cannot keep the result: {e}"))?;
                    Ok((hash, subjobs))
                });
            match &answer {
                Ok((hash, _)) => tracing::info!(
                    a2a_ms = started.elapsed().as_secs_f64() * 1e3,
                    "job {job}: {name} answered over A2A, result {hash}"
                ),
                Err(e) => tracing::warn!("job {job}: {name} (A2A): {e}"),
            }
            *done.lock().expect("outcome") = Some(answer);
        });
        Slot { outcome, task }
    }

    /// Commits each seat whose validator has answered; starts a task for each new seat.
    fn follow_votes(&self, seats: &[CommitRequest], rng: &mut ChaCha8Rng) -> Vec<SealedVote> {
        let mut slots = self.votes.lock().expect("vote slots");
        slots.retain(|key, _| seats.iter().any(|c| (c.job, c.nonce) == *key));
        let mut commits = Vec::new();
        for c in seats {
            let Some(brief) = &c.brief else { continue };
            let approve = match brief.result {
                // Simulated work has no result to inspect: the seat votes as the simulation's
                // quality says, as the simulated validators do.
                None => Some(c.work_ok),
                Some(hash) => {
                    let slot = (slots.entry((c.job, c.nonce)))
                        .or_insert_with(|| self.start_validation(c.job, brief, hash));
                    let answer = slot.outcome.lock().expect("outcome").clone();
                    answer.and_then(Result::ok).map(|(approve, _)| approve)
                }
            };
            if let Some(approve) = approve {
                let salt = B256::from(rng.random::<[u8; 32]>());
                commits.push(SealedVote::new(
                    c.job,
                    c.nonce,
                    self.profile.id,
                    approve,
                    salt,
                ));
            }
        }
        commits
    }

    fn start_validation(&self, job: JobId, brief: &JobBrief, hash: B256) -> Slot<Vote> {
        let outcome: Outcome<Vote> = Arc::default();
        let result = (self.results.get(&hash))
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .unwrap_or(Value::Null);
        let mut data = work_task(job, brief);
        data["kind"] = json!("omega.validation");
        data["result_hash"] = json!(hash.to_string());
        data["result"] = result;
        let (calls, url, timeout) = (self.calls.clone(), self.url.clone(), self.timeout);
        let (name, done) = (self.profile.name.clone(), outcome.clone());
        let task = tokio::spawn(async move {
            let answer = (calls.run_task(url, data, timeout).await).and_then(|a| verdict(&a));
            match &answer {
                Ok((approve, reason)) => tracing::info!(
                    "job {job}: {name} {} over A2A: {reason}",
                    if *approve { "approves" } else { "rejects" }
                ),
                Err(e) => tracing::warn!("job {job}: {name} (A2A) gave no vote: {e}"),
            }
            *done.lock().expect("outcome") = Some(answer);
        });
        Slot { outcome, task }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_result_has_sorted_keys_and_no_spaces() {
        let artifacts = [json!({"parts": [{"data": {"sum": 3, "a": [1, 2]}}], "name": "r"})];
        let bytes = canonical_result(JobId(7), &artifacts).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"artifacts":[{"name":"r","parts":[{"data":{"a":[1,2],"sum":3}}]}],"job":7}"#
        );
        let big = [json!({"parts": [{"text": "x".repeat(MAX_RESULT_BYTES)}]})];
        let refused = canonical_result(JobId(7), &big).unwrap_err();
        assert!(refused.contains("more than"), "{refused}");
    }

    #[test]
    fn a_verdict_is_the_first_data_part_with_a_boolean_approve() {
        let artifacts = [
            json!({"parts": [{"text": "thinking"}]}),
            json!({"parts": [{"data": {"approve": false, "reason": "sum is off"}}]}),
        ];
        assert_eq!(verdict(&artifacts), Ok((false, "sum is off".into())));
        let unclear = [json!({"parts": [{"data": {"approve": "yes"}}]})];
        assert!(verdict(&unclear).is_err());
    }

    #[test]
    fn sub_jobs_are_read_from_the_first_data_part_that_asks_for_them() {
        let ask = |subjobs: Value| {
            let artifacts = [
                json!({"parts": [{"data": {"sum": 3}}]}),
                json!({"parts": [{"text": "and"}, {"data": {"subjobs": subjobs}}]}),
            ];
            subjob_requests(&artifacts)
        };
        let asked = ask(json!([
            {"title": " Half ", "skills": ["checksum"], "reward": "2.5", "input": {"numbers": [1]}},
            {"title": "Rest", "skills": ["checksum", "audit"], "reward": 3},
        ]))
        .unwrap();
        assert_eq!(
            asked,
            vec![
                SubJobRequest {
                    title: "Half".into(),
                    skills: vec!["checksum".into()],
                    reward: Amount::from_tokens(2.5),
                    input: Some(Arc::new(json!({"numbers": [1]}))),
                },
                SubJobRequest {
                    title: "Rest".into(),
                    skills: vec!["checksum".into(), "audit".into()],
                    reward: Amount::from_tokens(3.0),
                    input: None,
                },
            ]
        );
        let plain = [json!({"parts": [{"data": {"sum": 3}}]})];
        assert_eq!(subjob_requests(&plain), Ok(vec![]));
        let ok = json!({"title": "t", "skills": ["s"], "reward": 1});
        let with = |key: &str, value: Value| {
            let mut entry = ok.clone();
            entry[key] = value;
            json!([ok.clone(), entry])
        };
        let big = json!({"text": "x".repeat(MAX_INPUT_BYTES)});
        let cases = [
            (json!({"title": "t"}), "\"subjobs\" is not a list"),
            (with("title", json!("")), "subjobs[1]: \"title\""),
            (with("title", json!("x".repeat(201))), "longer than 200"),
            (with("skills", json!([])), "subjobs[1]: \"skills\""),
            (with("skills", json!("checksum")), "\"skills\""),
            (with("reward", json!(-1)), "\"reward\" must be a positive"),
            (with("reward", json!("lots")), "\"reward\""),
            (with("reward", json!(1e16)), "at most 1e15"),
            (
                with("input", json!("numbers")),
                "\"input\" must be an object",
            ),
            (with("input", big), "larger than 16384 bytes"),
        ];
        for (subjobs, expected) in cases {
            let refused = ask(subjobs).unwrap_err();
            assert!(
                refused.starts_with("the sub-job request") && refused.contains(expected),
                "{expected}: {refused}"
            );
        }
    }

    #[test]
    fn a_sub_job_given_input_hands_that_input_to_its_worker() {
        let brief = |input: Option<Value>| JobBrief {
            title: "t".into(),
            skills: vec!["checksum".into()],
            reward: Amount::from_tokens(1.0),
            deadline_ms: 5,
            parent: Some(JobId(1)),
            result: None,
            work_ok: true,
            input: input.map(Arc::new),
        };
        let given = json!({"numbers": [1, 2]});
        assert_eq!(
            work_task(JobId(3), &brief(Some(given.clone())))["input"],
            given
        );
        assert_eq!(
            work_task(JobId(3), &brief(None))["input"],
            input_data(JobId(3), "t")
        );
        assert_eq!(work_task(JobId(3), &brief(None))["parent"], 1);
    }

    #[test]
    fn input_data_depends_on_the_job_only() {
        assert_eq!(input_data(JobId(3), "t"), input_data(JobId(3), "t"));
        assert_ne!(input_data(JobId(3), "t"), input_data(JobId(4), "t"));
        assert_eq!(
            input_data(JobId(3), "t")["numbers"]
                .as_array()
                .unwrap()
                .len(),
            8
        );
    }

    #[test]
    fn results_are_kept_under_their_keccak_hash() {
        let dir = tempfile::tempdir().unwrap();
        let results = Results::new(dir.path().join("results"));
        let hash = results.put(b"{\"job\":1}").unwrap();
        assert_eq!(hash, keccak256(b"{\"job\":1}"));
        assert_eq!(results.get(&hash).unwrap(), b"{\"job\":1}");
        assert!(results.get(&B256::ZERO).is_none());
    }
}
