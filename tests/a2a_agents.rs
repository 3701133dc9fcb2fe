//! External agents over A2A (`external_agents` in the config): the example worker and validator
//! (`examples/a2a/*.py`, on the official SDK's server side, run with `.venv/bin/python`) take
//! part in a run on the devnet; and what a bad card or an unreachable agent does.

mod common;

use common::{Sandbox, get, wait_for_http};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An example agent started as a Python process; killed when dropped.
struct Agent {
    child: Child,
    port: u16,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// `examples/a2a/<script>` on a free port (it prints `listening PORT` once bound).
    fn start(script: &str, env: &[(&str, &str)]) -> Agent {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("examples/a2a").join(script))
            .arg("0")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run .venv/bin/python (scripts/setup-python.sh installs the A2A SDK)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = (line.strip_prefix("listening "))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{script} did not start: {line:?}"));
        Agent { child, port }
    }

    fn card_url(&self) -> String {
        format!("http://127.0.0.1:{}/.well-known/agent-card.json", self.port)
    }
}

/// Only validators of the simulation, `jobs` checksum jobs, no generated jobs, and the
/// external agents given.
fn config(cfg: &mut Value, jobs: usize, externals: Value) {
    let validators = cfg["agents"][3].clone();
    cfg["agents"] = json!([validators]);
    cfg["agents"][0]["count"] = json!(4);
    cfg["validators"]["committee_size"] = json!(4);
    cfg["validators"]["quorum"] = json!(3);
    cfg["generator"]["rate_per_cycle"] = json!(0.0);
    // An external validator answers over HTTP: its commit phase must leave it the time.
    cfg["validators"]["commit_phase_seconds"] = json!(4.0);
    cfg["jobs"] = (0..jobs)
        .map(|i| {
            json!({"title": format!("Checksum batch {i}"), "reward": 1000 + i, "deadline_hours": 1,
                   "energy": 100, "compute": 100, "skills": ["checksum"]})
        })
        .collect();
    cfg["external_agents"] = externals;
}

fn external(name: &str, agent: &Agent, role: &str) -> Value {
    json!({"name": name, "card_url": agent.card_url(), "role": role, "skills": ["checksum"],
           "stake": 250000, "max_parallel_jobs": 3, "task_timeout_seconds": 60})
}

/// The job's on-chain `ResultSubmitted` (hash, URI), if any, read from the devnet.
fn result_submitted(sb: &Sandbox, onchain_id: alloy::primitives::U256) -> Option<(String, String)> {
    use alloy::providers::Provider;
    use alloy::rpc::types::Filter;
    use alloy::sol_types::SolEvent;
    use omega::chain::bindings::JobRegistry;
    let d = sb.deployment();
    let provider = alloy::providers::ProviderBuilder::new().connect_http(sb.rpc().parse().unwrap());
    common::runtime().block_on(async {
        let filter = Filter::new()
            .address(d.job_registry)
            .event_signature(JobRegistry::ResultSubmitted::SIGNATURE_HASH)
            .topic1(alloy::primitives::B256::from(onchain_id))
            .from_block(0);
        let logs = provider.get_logs(&filter).await.unwrap();
        let log = logs.first()?;
        let e = JobRegistry::ResultSubmitted::decode_log_data(log.data()).ok()?;
        Some((e.resultHash.to_string(), e.resultURI))
    })
}

#[test]
fn the_example_worker_and_validator_take_jobs_finalized_on_chain() {
    let worker = Agent::start("worker.py", &[]);
    let validator = Agent::start("validator.py", &[]);
    let externals = json!([
        external("ChecksumWorker", &worker, "worker"),
        external("ChecksumValidator", &validator, "validator"),
    ]);
    let sb = Sandbox::new(|cfg| {
        config(cfg, 3, externals);
        // Four simulated validators and the external one: every committee seats it.
        cfg["validators"]["committee_size"] = json!(5);
    });
    let (_run, port) = sb.spawn_http(&["run"], &[]);
    wait_for_http(port, Duration::from_secs(120));

    for job in 1..=3u64 {
        let mut doc = Value::Null;
        sb.wait_for(
            &format!("job {job} finalized on chain"),
            Duration::from_secs(240),
            || {
                doc = get(port, &format!("/jobs/{job}")).json();
                let finalized = doc["chain"]["onchain_events"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|e| e["event"] == "JobFinalized"));
                finalized && doc["status"] == "completed"
            },
        );
        assert_eq!(doc["assignee"], "ChecksumWorker", "{doc}");
        let onchain: alloy::primitives::U256 =
            serde_json::from_value(doc["chain"]["onchain_id"].clone()).unwrap();
        let (hash, uri) = result_submitted(&sb, onchain).expect("a ResultSubmitted event");
        // The result is served under its URI and hashes to what went on chain.
        assert_eq!(uri, format!("http://127.0.0.1:{port}/results/{hash}"));
        let served = get(port, &format!("/results/{hash}"));
        assert_eq!(served.status, 200, "{}", served.body);
        let bytes = served.body.as_bytes();
        assert_eq!(alloy::primitives::keccak256(bytes).to_string(), hash);
        let result: Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(result["job"], job, "{result}");
        let data = &result["artifacts"][0]["parts"][0]["data"];
        assert!(
            data["sum"].is_number() && data["sha256"].is_string(),
            "{result}"
        );
        // The external validator sat, and its vote (approve) was revealed and counted.
        let log = sb.log();
        let vote = log.lines().find(|l| {
            l.contains("\"validator_vote\"")
                && l.contains("\"validator\":\"ChecksumValidator\"")
                && l.contains(&format!("\"job\":{job},"))
        });
        let vote: Value =
            serde_json::from_str(vote.unwrap_or_else(|| {
                panic!("no vote of the external validator on job {job}:\n{log}")
            }))
            .unwrap();
        assert_eq!(vote["context"]["approve"], true, "{vote}");
        assert_eq!(vote["context"]["valid"], true, "{vote}");
    }
    assert_eq!(get(port, "/results/0x12").status, 400);
}
