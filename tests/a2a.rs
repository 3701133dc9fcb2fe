//! Omega as an A2A agent (`omega run --http`): the official Python SDK's client
//! (`tests/a2a/client.py`, run with `.venv/bin/python`; `scripts/setup-python.sh` installs
//! `a2a-sdk`) resolves the agent card, posts a job as a task and follows it to the end; and the
//! JSON-RPC endpoint's answers to bad input (tokens, methods, params, unknown tasks).

mod common;

use common::{Sandbox, get, http_body, wait_for_http};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

const TOKEN: &str = "a2a-test-token-51c2";

/// `omega run --http 127.0.0.1:0` with the token and `env`, up and answering.
fn live(sb: &Sandbox, env: &[(&str, &str)]) -> (u16, Child) {
    let env: Vec<(&str, &str)> = [("OMEGA_CONTROL_TOKEN", TOKEN)]
        .into_iter()
        .chain(env.iter().copied())
        .collect();
    let (child, port) = sb.spawn_http(&["run"], &env);
    wait_for_http(port, Duration::from_secs(120));
    (port, child)
}

/// `.venv/bin/python`, with the SDK importable; otherwise the test fails saying how to get it.
fn sdk_python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import a2a.client, a2a.types"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the A2A SDK (a2a-sdk) is not installed in {}: run scripts/setup-python.sh",
        python.display()
    );
    python
}

/// Runs the SDK client against the run on `port`; its JSON report.
fn sdk_client(port: u16, title: &str, reward: &str, skills: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/a2a/client.py");
    let base = format!("http://127.0.0.1:{port}");
    let out = std::process::Command::new(sdk_python())
        .arg(script)
        .args([base.as_str(), TOKEN, title, reward])
        .args(skills)
        .env("A2A_TIMEOUT_S", "240")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "client.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("client.py printed no JSON ({e}): {out:?}"))
}

/// The one data part of the task's final artifact.
fn artifact(task: &Value) -> &Value {
    let artifacts = task["artifacts"]
        .as_array()
        .unwrap_or_else(|| panic!("{task}"));
    assert_eq!(artifacts.len(), 1, "{task}");
    &artifacts[0]["parts"][0]["data"]
}

/// Checks the card, the states and the artifact the client saw; returns the artifact's data.
fn check_completed(report: &Value, title: &str) -> Value {
    let card = &report["card"];
    assert_eq!(card["name"], "Omega");
    let iface = &card["supportedInterfaces"][0];
    assert_eq!(
        (&iface["protocolBinding"], &iface["protocolVersion"]),
        (&json!("JSONRPC"), &json!("1.0")),
        "{card}"
    );
    assert!(
        card["capabilities"]["streaming"].is_null() || card["capabilities"]["streaming"] == false
    );
    assert!(
        card["skills"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "energy"),
        "{card}"
    );
    assert!(card["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer");

    let (sent, task) = (&report["sent"], &report["task"]);
    assert_eq!(sent["status"]["state"], "TASK_STATE_SUBMITTED", "{sent}");
    assert_eq!(task["id"], sent["id"]);
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{report}");
    let states = report["states"].as_array().unwrap();
    assert_eq!(states.first().unwrap(), "TASK_STATE_SUBMITTED");
    let data = artifact(task).clone();
    assert_eq!(data["title"], title, "{data}");
    assert_eq!(data["status"], "completed", "{data}");
    assert!(data["result"]["assignee"].is_string(), "{data}");
    assert_eq!(data["result"]["skills"], json!(["energy"]), "{data}");
    assert_eq!(data["verdict"]["approved"], true, "{data}");
    assert!(data["verdict"]["approvals"].as_f64() >= Some(1.0), "{data}");
    assert!(
        data["verdict"]["votes"]
            .as_array()
            .is_some_and(|v| !v.is_empty()),
        "{data}"
    );
    data
}

/// Simulated agents that never fail or botch a job (by default a few percent do, at random): a
/// test that follows a job to COMPLETED must not depend on the draw.
fn reliable(cfg: &mut Value) {
    for a in cfg["agents"].as_array_mut().unwrap() {
        for rate in ["error_rate", "bad_work_rate", "non_reveal_rate"] {
            a[rate] = json!(0.0);
        }
    }
}

#[test]
fn an_sdk_client_posts_a_job_as_a_task_and_follows_it_to_completed() {
    let sb = Sandbox::new(reliable).chain_off();
    let (port, _run) = live(&sb, &[]);
    let report = sdk_client(port, "A2A grid balancing study", "7.5", &["energy"]);
    let data = check_completed(&report, "A2A grid balancing study");
    assert_eq!(data["chain"]["transactions"], json!([]), "no chain: {data}");

    // The task is the job: the status API shows it, from outside, with the task's reference.
    let task_id = report["task"]["id"].as_str().unwrap();
    let job = data["job"].as_f64().unwrap() as u64;
    let shown = get(port, &format!("/jobs/{job}")).json();
    assert_eq!(shown["status"], "completed", "{shown}");
    assert_eq!(shown["reward"], "7.5000", "{shown}");
    assert_eq!(
        shown["origin"]["external"]["reference"],
        format!("a2a:{task_id}")
    );
}

#[test]
fn an_sdk_client_gets_the_jobs_transactions_on_the_devnet() {
    let sb = Sandbox::new(reliable);
    let (port, _run) = live(&sb, &[]);
    let report = sdk_client(port, "A2A on-chain study", "3", &["energy"]);
    let data = check_completed(&report, "A2A on-chain study");
    let txs = data["chain"]["transactions"]
        .as_array()
        .unwrap_or_else(|| panic!("{data}"));
    let events: Vec<&str> = txs.iter().filter_map(|t| t["event"].as_str()).collect();
    assert!(
        events.contains(&"JobCreated") && events.contains(&"JobFinalized"),
        "{events:?}"
    );
    // Each hash is a mined transaction of the devnet.
    let rpc = sb.rpc();
    let provider = alloy::providers::ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    common::runtime().block_on(async {
        use alloy::providers::Provider;
        for t in txs {
            let hash: alloy::primitives::B256 = t["tx"].as_str().unwrap().parse().unwrap();
            let receipt = provider.get_transaction_receipt(hash).await.unwrap();
            assert!(
                receipt.is_some_and(|r| r.status()),
                "{t} is mined and succeeded"
            );
        }
    });
}

/// One JSON-RPC call to `/a2a`: (HTTP status, body).
fn call(port: u16, token: Option<&str>, body: &str) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let r = http_body(port, "POST", "/a2a", &headers, body);
    (r.status, r.json())
}

fn rpc(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params}).to_string()
}

fn error_code(port: u16, token: Option<&str>, body: &str) -> i64 {
    let (status, v) = call(port, token, body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["jsonrpc"], "2.0");
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error: {v}"))
}

/// A skill only an agent that takes no jobs has: a job needing it waits, untaken.
const IDLE_SKILL: &str = "archival";

fn with_idle_agent(cfg: &mut Value) {
    let idle = json!({"name": "Archivist", "role": "energy", "skills": [IDLE_SKILL], "stake": 1000,
                      "energy_allowance": 1000, "compute_allowance": 1000, "max_parallel_jobs": 0});
    cfg["agents"].as_array_mut().unwrap().push(idle);
}

#[test]
fn bad_input_gets_the_spec_errors() {
    let sb = Sandbox::new(with_idle_agent).chain_off();
    let (port, _run) = live(&sb, &[]);
    let get_task = rpc("GetTask", json!({"id": "no-such-task"}));

    // The card is public; everything on /a2a needs the token.
    assert_eq!(get(port, "/.well-known/agent-card.json").status, 200);
    for token in [None, Some("wrong")] {
        let r = http_body(port, "POST", "/a2a", &[], &get_task);
        assert_eq!(r.status, 401, "{}", r.body);
        let (status, _) = call(port, token, &get_task);
        assert_eq!(status, 401);
    }
    let t = Some(TOKEN);
    assert_eq!(error_code(port, t, "{not json"), -32700);
    assert_eq!(error_code(port, t, "[1, 2]"), -32600);
    assert_eq!(
        error_code(
            port,
            t,
            r#"{"jsonrpc": "1.0", "id": 1, "method": "GetTask"}"#
        ),
        -32600
    );
    assert_eq!(error_code(port, t, &rpc("tasks/get", json!({}))), -32601);
    assert_eq!(
        error_code(port, t, &rpc("GetTask", json!({"id": 5}))),
        -32602
    );
    assert_eq!(
        error_code(port, t, &rpc("SendMessage", json!({"msg": {}}))),
        -32602
    );
    let send = |data: Value| {
        rpc(
            "SendMessage",
            json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"data": data}]}}),
        )
    };
    for bad in [
        json!({"title": "no reward"}),
        json!({"title": "negative", "reward": -1}),
        json!({"title": "too rich", "reward": 1e30}),
        json!({"title": "unknown skill", "reward": 1, "skills": ["juggling"]}),
        json!({"title": "typo", "reward": 1, "skils": ["energy"]}),
        json!({"reward": 1}),
    ] {
        assert_eq!(error_code(port, t, &send(bad.clone())), -32602, "{bad}");
    }
    assert_eq!(error_code(port, t, &get_task), -32001);
    assert_eq!(
        error_code(port, t, &rpc("CancelTask", json!({"id": "nope"}))),
        -32001
    );

    an_untaken_task_is_cancelled_once(port);
    let r = http_body(
        port,
        "POST",
        "/a2a",
        &[
            ("Authorization", &format!("Bearer {TOKEN}")),
            ("A2A-Version", "0.3"),
        ],
        &get_task,
    );
    assert_eq!(r.json()["error"]["code"], -32009);
}

/// A task whose job no agent can take: cancelled (withdrawn before the engine took it, or
/// cancelled at the next cycle), then not cancelable (it has ended), and readable by id.
fn an_untaken_task_is_cancelled_once(port: u16) {
    let t = Some(TOKEN);
    let id = &post_task(
        port,
        json!({"title": "kept", "reward": 2, "skills": [IDLE_SKILL]}),
    );
    let (_, cancelled) = call(port, t, &rpc("CancelTask", json!({"id": id})));
    assert_eq!(
        cancelled["result"]["status"]["state"], "TASK_STATE_CANCELED",
        "{cancelled}"
    );
    assert_eq!(
        error_code(port, t, &rpc("CancelTask", json!({"id": id}))),
        -32002
    );
    let (_, got) = call(port, t, &rpc("GetTask", json!({"id": id})));
    assert_eq!(got["result"]["id"], id.as_str(), "{got}");
    assert_eq!(
        got["result"]["status"]["state"], "TASK_STATE_CANCELED",
        "{got}"
    );
}

#[test]
fn public_reads_let_anyone_get_a_task_but_not_post_one() {
    let sb = Sandbox::new(|_| {}).chain_off();
    let (port, _run) = live(&sb, &[("OMEGA_A2A_PUBLIC_READS", "true")]);
    let (status, v) = call(port, None, &rpc("GetTask", json!({"id": "nope"})));
    assert_eq!(
        (status, v["error"]["code"].as_i64()),
        (200, Some(-32001)),
        "{v}"
    );
    let send = rpc(
        "SendMessage",
        json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "t"}]}}),
    );
    assert_eq!(call(port, None, &send).0, 401);
    assert_eq!(
        call(port, None, &rpc("CancelTask", json!({"id": "nope"}))).0,
        401
    );
}

/// `CancelTask` on the devnet: a task whose job no agent has taken is cancelled (the job
/// cancelled and refunded in the engine, `cancelJob` on chain); a task whose job an agent has
/// taken is not cancelable, and goes on to complete.
#[test]
fn cancel_task_cancels_an_untaken_job_on_chain_too_and_refuses_a_taken_one() {
    let sb = Sandbox::new(with_idle_agent);
    let (port, _run) = live(&sb, &[]);
    let cancel = |id: &str| call(port, Some(TOKEN), &rpc("CancelTask", json!({"id": id}))).1;

    let idle = post_task(
        port,
        json!({"title": "Archive it", "reward": 2, "skills": [IDLE_SKILL]}),
    );
    // Cancelled once the engine has posted it and the mirror created it on chain.
    let mut job = 0;
    sb.wait_for("the job created on chain", Duration::from_secs(120), || {
        job = get_task(port, &idle)["metadata"]["omegaJobId"]
            .as_u64()
            .unwrap_or(0);
        job > 0 && !get(port, &format!("/jobs/{job}")).json()["chain"]["onchain_id"].is_null()
    });
    let cancelled = cancel(&idle);
    let task = &cancelled["result"];
    assert_eq!(
        task["status"]["state"], "TASK_STATE_CANCELED",
        "{cancelled}"
    );
    assert_eq!(task["metadata"]["omegaJobId"], job, "{task}");
    let doc = get(port, &format!("/jobs/{job}")).json();
    assert_eq!(doc["status"], "cancelled", "{doc}");
    assert_eq!(
        doc["outcome"],
        omega::domain::world::CANCELLED_ON_REQUEST,
        "{doc}"
    );
    cancelled_on_chain(&sb, port, &idle, job);

    // A job an agent has taken stays, and goes on to its end.
    let taken = post_task(
        port,
        json!({"title": "Grid study", "reward": 3, "skills": ["energy"]}),
    );
    sb.wait_for("an agent took the job", Duration::from_secs(120), || {
        get_task(port, &taken)["status"]["state"] != "TASK_STATE_SUBMITTED"
    });
    let refused = cancel(&taken);
    assert_eq!(refused["error"]["code"], -32002, "{refused}");
    let why = refused["error"]["message"].as_str().unwrap();
    assert!(
        why.contains("cannot be cancelled") || why.contains("has ended"),
        "{why}"
    );
    sb.wait_for("the taken job's end", Duration::from_secs(240), || {
        let state = get_task(port, &taken)["status"]["state"].clone();
        state == "TASK_STATE_COMPLETED" || state == "TASK_STATE_FAILED"
    });
}

/// Posts a job with `data` as its data part; the task's id.
fn post_task(port: u16, data: Value) -> String {
    let message = json!({"messageId": "m", "role": "ROLE_USER", "parts": [{"data": data}]});
    let (_, sent) = call(
        port,
        Some(TOKEN),
        &rpc("SendMessage", json!({"message": message})),
    );
    sent["result"]["task"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{sent}"))
        .to_string()
}

fn get_task(port: u16, id: &str) -> Value {
    call(port, Some(TOKEN), &rpc("GetTask", json!({"id": id}))).1["result"].clone()
}

/// The mirror cancels task `id`'s job on chain: `JobCancelled` among the task's transactions,
/// and the registry's job cancelled without an agent.
fn cancelled_on_chain(sb: &Sandbox, port: u16, id: &str, job: u64) {
    let mut events = Vec::new();
    sb.wait_for(
        "JobCancelled among the task's transactions",
        Duration::from_secs(120),
        || {
            let task = get_task(port, id);
            let txs = &artifact(&task)["chain"]["transactions"];
            events = (txs.as_array().into_iter().flatten())
                .filter_map(|t| t["event"].as_str().map(String::from))
                .collect();
            events.iter().any(|e| e == "JobCancelled")
        },
    );
    assert!(events.contains(&"JobCreated".to_string()), "{events:?}");
    let doc = get(port, &format!("/jobs/{job}")).json();
    let onchain: alloy::primitives::U256 =
        serde_json::from_value(doc["chain"]["onchain_id"].clone()).unwrap();
    let (_, agent, state) =
        common::runtime().block_on(common::job_state(&sb.rpc(), &sb.deployment(), onchain));
    assert_eq!(state, 7, "Cancelled in v2's JobRegistry");
    assert_eq!(
        agent,
        alloy::primitives::Address::ZERO,
        "no agent ever applied"
    );
}
