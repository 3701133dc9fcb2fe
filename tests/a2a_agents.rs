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

/// The example worker splits a job marked `[split]`: it asks for two sub-jobs, one per half of
/// the numbers. They appear as children of the job (posted and funded by the worker, on chain
/// too), are worked and validated with their own input, and are finalized on chain.
#[test]
fn sub_jobs_asked_for_by_an_external_worker_are_settled_on_chain() {
    let worker = Agent::start("worker.py", &[]);
    let validator = Agent::start("validator.py", &[]);
    let externals = json!([
        external("ChecksumWorker", &worker, "worker"),
        external("ChecksumValidator", &validator, "validator"),
    ]);
    let title = "Checksum batch 0 [split]";
    let sb = Sandbox::new(|cfg| {
        config(cfg, 1, externals);
        cfg["jobs"][0]["title"] = json!(title);
        cfg["validators"]["committee_size"] = json!(5);
    });
    let (_run, port) = sb.spawn_http(&["run"], &[]);
    wait_for_http(port, Duration::from_secs(120));
    let finalized = |doc: &Value| {
        doc["status"] == "completed"
            && (doc["chain"]["onchain_events"].as_array())
                .is_some_and(|e| e.iter().any(|e| e["event"] == "JobFinalized"))
    };
    let mut docs = vec![Value::Null; 4];
    sb.wait_for(
        "the job and its two sub-jobs finalized on chain",
        Duration::from_secs(300),
        || {
            for (job, doc) in docs.iter_mut().enumerate().skip(1) {
                if !finalized(doc) {
                    *doc = get(port, &format!("/jobs/{job}")).json();
                }
            }
            docs[1..].iter().all(finalized)
        },
    );
    assert_eq!(docs[1]["children"], json!([2, 3]), "{}", docs[1]);
    let numbers =
        omega::engine::external::input_data(omega::domain::job::JobId(1), title)["numbers"]
            .as_array()
            .unwrap()
            .clone();
    let (first, second) = numbers.split_at(numbers.len() / 2);
    for (doc, half) in [(&docs[2], first), (&docs[3], second)] {
        assert_eq!(doc["parent"], 1, "{doc}");
        assert_eq!(doc["lineage"], json!([1]), "{doc}");
        assert_eq!(
            doc["poster"], "ChecksumWorker",
            "the worker posts its sub-jobs: {doc}"
        );
        assert_eq!(doc["reward"], "250", "{doc}");
        let given: Vec<f64> = serde_json::from_value(doc["input"]["numbers"].clone()).unwrap();
        let half: Vec<f64> = half.iter().map(|n| n.as_f64().unwrap()).collect();
        assert_eq!(given, half, "each sub-job has its half as input: {doc}");
        // The worker of the sub-job summed its half, and the validator (which recomputes from
        // the same input) approved.
        let onchain: alloy::primitives::U256 =
            serde_json::from_value(doc["chain"]["onchain_id"].clone()).unwrap();
        let (hash, _) = result_submitted(&sb, onchain).expect("a ResultSubmitted event");
        let result: Value = get(port, &format!("/results/{hash}")).json();
        let sum = result["artifacts"][0]["parts"][0]["data"]["sum"].as_f64();
        assert_eq!(sum, Some(half.iter().sum::<f64>()), "{result}");
    }
    // On chain, the sub-jobs' employer is the parent's agent: the worker created them.
    let d = sb.deployment();
    let rpc = sb.rpc();
    let onchain = |doc: &Value| -> alloy::primitives::U256 {
        serde_json::from_value(doc["chain"]["onchain_id"].clone()).unwrap()
    };
    let (_, parent_agent, _) =
        common::runtime().block_on(common::job_state(&rpc, &d, onchain(&docs[1])));
    for doc in &docs[2..] {
        let (employer, _, _) =
            common::runtime().block_on(common::job_state(&rpc, &d, onchain(doc)));
        assert_eq!(employer, parent_agent, "{doc}");
    }
    let log = sb.log();
    let delegated = log
        .lines()
        .filter(|l| l.contains("\"delegated_job\""))
        .count();
    assert_eq!(delegated, 2, "{log}");
}

/// A stand-in agent on a thread: answers the card at `/.well-known/agent-card.json` with
/// `card` (with `{url}` replaced by its own address) and each JSON-RPC call with the next of
/// `answers` (round robin); "close" closes the connection without an answer.
fn stub_agent(card: &str, answers: Vec<String>) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let card = card.replace("{url}", &format!("http://127.0.0.1:{port}/"));
    std::thread::spawn(move || {
        let mut calls = 0usize;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then as much body as Content-Length says.
            let (head, body_len) = loop {
                let Ok(n) = stream.read(&mut buf) else {
                    break (String::new(), 0);
                };
                if n == 0 {
                    break (String::new(), 0);
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = (text[..end].lines())
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0usize);
                    while request.len() < end + 4 + len {
                        let Ok(n) = stream.read(&mut buf) else { break };
                        if n == 0 {
                            break;
                        }
                        request.extend_from_slice(&buf[..n]);
                    }
                    break (text[..end].to_string(), len);
                }
            };
            let _ = body_len;
            let body = if head.starts_with("GET") {
                card.clone()
            } else {
                let answer = answers[calls % answers.len()].clone();
                calls += 1;
                if answer == "close" {
                    continue; // dropped: the connection closes unanswered
                }
                answer
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

fn stub_card(version: &str, skills: Value) -> String {
    json!({"name": "Stub", "version": "1", "supportedInterfaces": [
        {"url": "{url}", "protocolBinding": "JSONRPC", "protocolVersion": version}],
        "skills": skills})
    .to_string()
}

fn checksum_skill() -> Value {
    json!([{"id": "checksum", "name": "checksum", "description": "", "tags": []}])
}

#[test]
fn a_missing_malformed_or_unsupported_card_stops_the_start_naming_the_agent() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = closed.local_addr().unwrap().port();
    drop(closed);
    let cases = [
        (unreachable, "cannot fetch its agent card"),
        (stub_agent("not json", vec![]), "is not a valid card"),
        (
            stub_agent(&stub_card("0.3", checksum_skill()), vec![]),
            "no JSONRPC interface of protocol version 1.0",
        ),
        (
            stub_agent(&stub_card("1.0", json!([])), vec![]),
            "lists no skills",
        ),
        (
            stub_agent(
                &stub_card("1.0", json!([{"id": "poetry", "name": "poetry"}])),
                vec![],
            ),
            "offers none of the configured skills",
        ),
    ];
    for (port, expected) in cases {
        let url = format!("http://127.0.0.1:{port}/.well-known/agent-card.json");
        let sb = Sandbox::new(|cfg| {
            let agent = json!({"name": "Faulty", "card_url": url, "role": "worker",
                               "skills": ["checksum"], "stake": 1000});
            config(cfg, 1, json!([agent]));
        })
        .chain_off();
        let stderr = sb.fails(&["run", "--cycles", "3"]);
        assert!(
            stderr.contains("external agent \"Faulty\"") && stderr.contains(expected),
            "{expected}: {stderr}"
        );
    }
    // And a bad entry is refused before any card is fetched.
    let sb = Sandbox::new(|cfg| {
        let agent = json!({"name": "Faulty", "card_url": "nowhere", "role": "worker",
                           "skills": ["checksum"], "stake": 1000});
        config(cfg, 1, json!([agent]));
    })
    .chain_off();
    let stderr = sb.fails(&["run", "--cycles", "3"]);
    assert!(
        stderr.contains("external_agents[0] (\"Faulty\"): card_url"),
        "{stderr}"
    );
}

#[test]
fn bad_answers_fail_their_jobs_and_the_run_goes_on() {
    let task = |state: &str, artifacts: Value, message: &str| {
        json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"id": "t1", "contextId": "c",
            "status": {"state": state, "message": {"messageId": "m", "role": "ROLE_AGENT",
                                                   "parts": [{"text": message}]}},
            "artifacts": artifacts}}})
        .to_string()
    };
    let oversized =
        json!([{"artifactId": "a", "name": "r", "parts": [{"text": "x".repeat(300_000)}]}]);
    // Sub-jobs asked for with a result: a malformed request, and two the rules refuse.
    let delegating = |subjobs: Value| {
        let artifacts = json!([{"artifactId": "a", "name": "r", "parts": [{"data": {"sum": 1}}]},
            {"artifactId": "b", "name": "subjobs", "parts": [{"data": {"subjobs": subjobs}}]}]);
        task("TASK_STATE_COMPLETED", artifacts, "")
    };
    let answers = vec![
        delegating(json!([{"title": "half", "skills": ["checksum"], "reward": "lots"}])),
        delegating(json!([{"title": "half", "skills": ["poetry"], "reward": 1}])),
        delegating(json!([{"title": "half", "skills": ["checksum"], "reward": 5000}])),
        "this is not JSON".to_string(),
        json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"status": {"state": "TASK_STATE_WORKING"}}}}).to_string(),
        task("TASK_STATE_COMPLETED", oversized, ""),
        task("TASK_STATE_FAILED", json!([]), "out of cheese"),
        "close".to_string(),
    ];
    let port = stub_agent(&stub_card("1.0", checksum_skill()), answers);
    let url = format!("http://127.0.0.1:{port}/.well-known/agent-card.json");
    let sb = Sandbox::new(|cfg| {
        let agent = json!({"name": "Faulty", "card_url": url, "role": "worker", "skills": ["checksum"],
                           "stake": 250000, "max_parallel_jobs": 8, "task_timeout_seconds": 30});
        config(cfg, 8, json!([agent]));
    })
    .chain_off();
    let (mut run, http) = sb.spawn_http(&["run"], &[]);
    wait_for_http(http, Duration::from_secs(60));
    let expected = [
        "the sub-job request: subjobs[0]: \"reward\" must be a positive number",
        "sub-jobs refused: sub-job \"half\" needs skill \"poetry\", which no agent has",
        "sub-jobs refused: the sub-jobs' rewards come to 5000 tokens, more than the job's",
        "the answer is not JSON",
        "the task has no id",
        "more than the 262144 allowed",
        "TaskStateFailed: out of cheese",
        "error sending request",
    ];
    sb.wait_for(
        "every job failed with its reason",
        Duration::from_secs(60),
        || {
            let log = sb.log();
            let errors: Vec<String> = (log.lines())
                .filter(|l| l.contains("\"job_error\""))
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter_map(|e| e["context"]["reason"].as_str().map(String::from))
                .collect();
            expected
                .iter()
                .all(|e| errors.iter().any(|l| l.contains(e)))
        },
    );
    sb.wait_for("the eight jobs failed", Duration::from_secs(60), || {
        (1..=8).all(|job| get(http, &format!("/jobs/{job}")).json()["status"] == "failed")
    });
    assert!(
        !sb.log().contains("\"delegated_job\""),
        "no sub-job was posted"
    );
    assert!(run.try_wait().unwrap().is_none(), "the run goes on");
    assert_eq!(get(http, "/healthz").status, 200);
    common::sigterm(&mut run);
}

#[test]
fn the_sloppy_workers_wrong_results_are_rejected_by_external_validators() {
    let seed = common::test_seed("sloppy worker");
    let worker = Agent::start(
        "sloppy_worker.py",
        &[("SLOPPY_SEED", &seed.to_string()), ("SLOPPY_RATE", "0.5")],
    );
    // One validator process behind three agents (three names, three keys): committees of
    // external validators only, which inspect every result. No simulated agent at all.
    let validator = Agent::start("validator.py", &[]);
    let mut externals = vec![external("SloppyWorker", &worker, "worker")];
    for i in 1..=3 {
        externals.push(external(&format!("Checker-{i}"), &validator, "validator"));
    }
    let sb = Sandbox::new(|cfg| {
        config(cfg, 6, json!(externals));
        cfg["agents"] = json!([]);
        cfg["validators"]["committee_size"] = json!(3);
        cfg["validators"]["quorum"] = json!(2);
        cfg["external_agents"][0]["max_parallel_jobs"] = json!(6);
    });
    let (_run, port) = sb.spawn_http(&["run"], &[]);
    wait_for_http(port, Duration::from_secs(120));
    for job in 1..=6u64 {
        let mut doc = Value::Null;
        sb.wait_for(
            &format!("job {job} settled"),
            Duration::from_secs(240),
            || {
                doc = get(port, &format!("/jobs/{job}")).json();
                doc["status"] == "completed" || doc["status"] == "failed"
            },
        );
        let onchain: alloy::primitives::U256 =
            serde_json::from_value(doc["chain"]["onchain_id"].clone()).unwrap();
        let (hash, _) = result_submitted(&sb, onchain).expect("a ResultSubmitted event");
        let result: Value = get(port, &format!("/results/{hash}")).json();
        let title = doc["title"].as_str().unwrap();
        let input = omega::engine::external::input_data(omega::domain::job::JobId(job), title);
        let expected: u64 = input["numbers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum();
        let sum = result["artifacts"][0]["parts"][0]["data"]["sum"]
            .as_f64()
            .unwrap();
        let right = sum == expected as f64;
        eprintln!(
            "job {job}: sum {sum}, expected {expected}: {}",
            doc["status"]
        );
        assert_eq!(doc["status"] == "completed", right, "seed {seed}: {doc}");
        if !right {
            assert!(
                doc["outcome"].as_str().unwrap().contains("rejected"),
                "{doc}"
            );
        }
    }
}

#[test]
fn a_worker_that_hangs_fails_its_job_at_the_deadline() {
    let worker = Agent::start("worker.py", &[("WORKER_HANG", "1")]);
    let sb = Sandbox::new(|cfg| {
        config(cfg, 1, json!([external("Hangs", &worker, "worker")]));
        cfg["jobs"][0]["deadline_hours"] = json!(0.003); // about 11 s
    })
    .chain_off();
    let (mut run, port) = sb.spawn_http(&["run"], &[]);
    wait_for_http(port, Duration::from_secs(60));
    let mut doc = Value::Null;
    sb.wait_for(
        "the job failed at its deadline",
        Duration::from_secs(60),
        || {
            doc = get(port, "/jobs/1").json();
            doc["status"] == "failed"
        },
    );
    assert_eq!(doc["assignee"], "Hangs", "{doc}");
    assert!(
        doc["outcome"].as_str().unwrap().contains("deadline"),
        "{doc}"
    );
    assert!(run.try_wait().unwrap().is_none(), "the run goes on");
    common::sigterm(&mut run);
}
