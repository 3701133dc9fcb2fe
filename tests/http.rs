//! The status API of `omega run --http` and `omega serve`: every endpoint, pagination and
//! filters, errors, the bearer-token control endpoints and the event stream.

mod common;

use common::{Sandbox, get, http, sigterm, wait_for, wait_for_http};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::Child;
use std::time::Duration;

const TOKEN: &str = "test-token-7f3a";

/// `omega run --chain off --http 127.0.0.1:0` with `env`, up and answering.
fn live(env: &[(&str, &str)]) -> (Sandbox, u16, Child) {
    let sb = Sandbox::new(|_| {}).chain_off();
    let (child, port) = sb.spawn_http(&["run"], env);
    wait_for_http(port, Duration::from_secs(30));
    (sb, port, child)
}

fn status(port: u16) -> Value {
    let r = get(port, "/status");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn status_jobs_chain_metrics_and_errors_of_a_live_run() {
    let (sb, port, mut child) = live(&[]);

    let h = get(port, "/healthz").json();
    assert_eq!(
        (h["ok"].as_bool(), h["mode"].as_str()),
        (Some(true), Some("live"))
    );

    wait_for(
        "jobs and a first checkpoint",
        Duration::from_secs(20),
        || {
            let s = status(port);
            s["jobs"]["tracked"].as_u64() > Some(2) && s["checkpoint_hash"].is_string()
        },
    );
    let s = status(port);
    assert_eq!(s["mode"], "live");
    assert_eq!(s["running_pid"].as_u64(), Some(child.id() as u64));
    assert_eq!(s["paused"], false);
    assert_eq!(s["ledger"]["balanced"], true);
    let names: Vec<&str> = s["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"steward") && names.len() > 5, "{names:?}");
    assert!(s["checkpoint_hash"].as_str().unwrap().starts_with("0x"));

    // Pagination: pages are disjoint, in id order, and add up to the total.
    let all = get(port, "/jobs?limit=1000").json();
    let total = all["total"].as_u64().unwrap();
    assert!(total >= 2, "{all}");
    let first = get(port, "/jobs?limit=1").json();
    let second = get(port, "/jobs?limit=1&offset=1").json();
    assert_eq!(first["jobs"].as_array().unwrap().len(), 1);
    assert!(first["jobs"][0]["id"].as_u64() < second["jobs"][0]["id"].as_u64());
    let pending = get(port, "/jobs?status=pending").json();
    assert!(
        pending["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["status"] == "pending")
    );
    for bad in [
        "/jobs?status=bogus",
        "/jobs?limit=0",
        "/jobs?limit=100000",
        "/jobs?offset=-1",
        "/jobs?limit=ten",
    ] {
        let r = get(port, bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.json()["error"].is_string(), "{bad}: {}", r.body);
    }
    assert!(
        get(port, "/jobs?status=bogus").json()["error"]
            .as_str()
            .unwrap()
            .contains("pending")
    );

    // One job: its DAG links agree with its parent's, and nothing secret is shown.
    let id = first["jobs"][0]["id"].as_u64().unwrap();
    let job = get(port, &format!("/jobs/{id}")).json();
    assert_eq!(job["id"].as_u64(), Some(id));
    assert_eq!(job["archived"], false);
    assert!(job["chain"].is_null(), "no mirror with --chain off");
    for child_id in job["children"].as_array().unwrap() {
        let c = get(port, &format!("/jobs/{child_id}"));
        if c.status == 200 {
            assert_eq!(c.json()["parent"].as_u64(), Some(id));
        }
    }
    let body = get(port, "/jobs?limit=1000").body;
    for secret in ["salt", "sealed", "quality_ok"] {
        assert!(!body.contains(secret), "/jobs shows {secret}");
    }
    assert_eq!(get(port, "/jobs/99999999").status, 404);
    assert_eq!(get(port, "/jobs/abc").status, 400);
    let nope = get(port, "/no-such-endpoint");
    assert_eq!(nope.status, 404);
    assert!(nope.json()["error"].is_string());

    // /chain without a chain, then with an indexer cursor on disk.
    let c = get(port, "/chain").json();
    assert_eq!(c["mode"], "off");
    assert!(c["contracts"].is_null() && c["indexer"].is_null());
    std::fs::create_dir_all(sb.reports().join("chain")).unwrap();
    std::fs::write(
        sb.reports().join("chain/indexer.json"),
        r#"{"block": 90, "hash": "0x00000000000000000000000000000000000000000000000000000000000000ab", "head": 100, "reorgs": 2, "events": 7}"#,
    )
    .unwrap();
    let c = get(port, "/chain").json();
    assert_eq!(c["indexer"]["lag"].as_u64(), Some(10));

    // Metrics: the text format, and values that agree with /status.
    let m = get(port, "/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    for line in m.body.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample {line:?}");
        assert!(series.starts_with("omega_"), "{line:?}");
    }
    for needle in [
        "omega_indexer_lag_blocks 10",
        "omega_indexer_reorgs_total 2",
        "omega_indexer_events_total 7",
        "omega_attestations_total 0",
        "omega_ledger_balanced 1",
        "omega_paused 0",
        "# TYPE omega_lifecycles_completed_total counter",
        "omega_price_tokens{resource=\"energy\"}",
        "omega_utilisation_ratio ",
    ] {
        assert!(
            m.body.contains(needle),
            "/metrics lacks {needle:?}:\n{}",
            m.body
        );
    }

    let history = get(port, "/history").json();
    assert!(!history["points"].as_array().unwrap().is_empty());
    let page = get(port, "/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"balances\"") && !page.body.contains("https://"));
    sigterm(&mut child);
}

#[test]
fn control_needs_the_bearer_token_and_reaches_the_run() {
    let (sb, port, mut child) = live(&[("OMEGA_CONTROL_TOKEN", TOKEN)]);
    let post = |path: &str, auth: Option<&str>| match auth {
        Some(a) => http(port, "POST", path, &[("Authorization", a)]),
        None => http(port, "POST", path, &[]),
    };
    let control = sb.reports().join("control.json");
    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some("Bearer "),
        Some(&*format!("Basic {TOKEN}")),
        Some(&*format!("Bearer {TOKEN}x")),
    ] {
        let r = post("/control/pause", auth);
        assert_eq!(r.status, 401, "{auth:?}: {}", r.body);
        assert!(r.json()["error"].is_string());
        assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
        assert!(
            !control.exists(),
            "a refused request wrote the control file"
        );
    }
    assert_eq!(
        get(port, "/control/pause").status,
        405,
        "GET is not a control request"
    );

    let bearer = format!("Bearer {TOKEN}");
    let r = post("/control/pause", Some(&bearer));
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["requested"], "pause");
    wait_for("the run to pause", Duration::from_secs(10), || {
        status(port)["paused"] == true
    });
    let file: Value = serde_json::from_slice(&std::fs::read(&control).unwrap()).unwrap();
    assert_eq!(
        (file["source"].as_str(), file["paused"].as_bool()),
        (Some("http"), Some(true))
    );

    let r = post("/control/resume", Some(&bearer));
    assert_eq!(r.status, 202, "{}", r.body);
    wait_for("the run to resume", Duration::from_secs(10), || {
        status(port)["paused"] == false
    });
    sigterm(&mut child);
    assert!(!sb.log().contains(TOKEN), "the token reached the log");
}

#[test]
fn control_is_disabled_without_a_token() {
    let (sb, port, mut child) = live(&[]);
    let r = http(
        port,
        "POST",
        "/control/pause",
        &[("Authorization", "Bearer anything")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("OMEGA_CONTROL_TOKEN")
    );
    assert!(!sb.reports().join("control.json").exists());
    sigterm(&mut child);
}

#[test]
fn the_event_stream_delivers_domain_events_as_json() {
    let (_sb, port, mut child) = live(&[]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(s);
    let (mut name, mut seen) = (String::new(), Vec::new());
    let mut line = String::new();
    while seen.len() < 3 {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "stream ended");
        if let Some(n) = line.trim_end().strip_prefix("event: ") {
            name = n.to_string();
        } else if let Some(data) = line.trim_end().strip_prefix("data: ") {
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(v["event"].as_str(), Some(name.as_str()), "{v}");
            assert!(
                v["cycle"].as_u64().is_some() && v["data"].is_object(),
                "{v}"
            );
            seen.push(name.clone());
        }
    }
    sigterm(&mut child);
}

#[test]
fn bad_bind_addresses_are_refused_with_a_reason() {
    let sb = Sandbox::new(|_| {}).chain_off();
    let err = sb.fails(&["run", "--cycles", "1", "--http", "0.0.0.0:0"]);
    assert!(
        err.contains("not a loopback address") && err.contains("--http-public"),
        "{err}"
    );
    let err = sb.fails(&["run", "--cycles", "1", "--http", "localhost-ish"]);
    assert!(err.contains("--http"), "{err}");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let err = sb.fails(&["run", "--cycles", "1", "--http", &addr]);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    let err = sb.fails(&["serve", "--http", &addr]);
    assert!(err.contains("no checkpoint"), "{err}");
}

#[test]
fn serve_shows_a_reports_folder_and_follows_a_later_run() {
    let sb = Sandbox::new(|_| {}).chain_off();
    sb.ok(&["run", "--fast", "--seed", "3", "--cycles", "200"]);
    let state = sb.state();
    let (mut serve, port) = sb.spawn_http(&["serve", "--refresh", "0.2"], &[]);
    wait_for_http(port, Duration::from_secs(20));
    let s = status(port);
    assert_eq!(s["mode"], "serve");
    assert_eq!(s["cycle"].as_u64(), Some(state.cycle));
    assert!(s["running_pid"].is_null());
    assert_eq!(
        s["jobs"]["completed"].as_u64(),
        Some(state.counters.completed)
    );
    let archived = sb.archived();
    let settled = archived.first().expect("200 fast cycles settle jobs");
    let job = get(port, &format!("/jobs/{}", settled.id)).json();
    assert_eq!(
        (job["archived"].as_bool(), job["status"].as_str()),
        (Some(true), Some(settled.status.name()))
    );
    assert!(
        !get(port, "/history").json()["points"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    sb.ok(&["run", "--fast", "--cycles", "50"]);
    wait_for(
        "serve to re-read the checkpoint",
        Duration::from_secs(10),
        || status(port)["cycle"].as_u64() == Some(state.cycle + 50),
    );
    sigterm(&mut serve);
}

#[test]
fn chain_view_of_a_mirrored_run_on_the_devnet() {
    let sb = Sandbox::new(|_| {});
    let (mut run, port) = sb.spawn_http(&["run"], &[]);
    wait_for_http(port, Duration::from_secs(120));
    wait_for(
        "a job created and a step done on chain",
        Duration::from_secs(120),
        || {
            let j = sb.journal();
            j.iter().any(|e| e["kind"] == "created") && j.iter().any(|e| e["kind"] == "done")
        },
    );
    let d = sb.deployment();

    let c = get(port, "/chain").json();
    assert_eq!(c["mode"], "devnet");
    assert_eq!(c["chain_id"].as_u64(), Some(d.chain_id));
    assert_eq!(c["rpc_url"].as_str(), Some(sb.rpc().as_str()));
    let registry: alloy::primitives::Address = c["contracts"]["jobRegistry"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(registry, d.job_registry);
    assert!(c["mirror"]["jobs_created"].as_u64() >= Some(1), "{c}");
    // The run's own transaction counters: its devnet prices nothing out.
    let tx = &c["transactions"];
    assert!(tx["sent"].as_u64() >= Some(2), "{c}");
    assert_eq!(
        (tx["replaced"].as_u64(), tx["fee_cap_hits"].as_u64()),
        (Some(0), Some(0)),
        "{c}"
    );
    let metrics = get(port, "/metrics").body;
    assert!(metrics.contains("omega_chain_tx_sent_total "), "{metrics}");
    let onchain = &c["attestations"]["onchain"];
    assert!(
        onchain["head"].as_u64() > Some(d.deploy_block),
        "the chain was read: {onchain}"
    );
    assert_eq!(
        onchain["count"].as_u64(),
        Some(0),
        "nothing attested yet: {onchain}"
    );

    // /jobs/{id} carries the mirror's state of that job, as journaled.
    let journal = sb.journal();
    let created = journal.iter().find(|e| e["kind"] == "created").unwrap();
    let id = created["job"].as_u64().unwrap();
    let job = get(port, &format!("/jobs/{id}")).json();
    assert_eq!(job["chain"]["onchain_id"], created["onchain"], "{job}");
    let intent = journal
        .iter()
        .find(|e| e["kind"] == "create_intent" && e["job"] == id)
        .unwrap();
    assert_eq!(job["chain"]["spec_hash"], intent["spec_hash"]);
    let steps: Vec<&Value> = journal
        .iter()
        .filter(|e| e["kind"] == "done" && e["job"] == id)
        .map(|e| &e["step"])
        .collect();
    let shown: Vec<&Value> = job["chain"]["steps"].as_array().unwrap().iter().collect();
    assert!(
        shown.len() >= steps.len() && shown[..steps.len()] == steps[..],
        "{shown:?} vs {steps:?}"
    );
    assert!(
        !job.to_string().contains("salt"),
        "a validator's salt is never shown"
    );

    // Its on-chain events carry real transaction hashes: the JobCreated one was sent to the registry.
    let events = job["chain"]["onchain_events"]
        .as_array()
        .unwrap_or_else(|| panic!("{job}"));
    let created_ev = events
        .iter()
        .find(|e| e["event"] == "JobCreated")
        .unwrap_or_else(|| panic!("{job}"));
    let tx: alloy::primitives::B256 = created_ev["tx"].as_str().unwrap().parse().unwrap();
    let receipt = common::runtime().block_on(async {
        use alloy::providers::{Provider, ProviderBuilder};
        let provider = ProviderBuilder::new().connect_http(sb.rpc().parse().unwrap());
        provider.get_transaction_receipt(tx).await.unwrap()
    });
    let receipt = receipt.expect("the transaction exists");
    assert_eq!(receipt.to, Some(d.job_registry));
    assert_eq!(receipt.block_number, created_ev["block"].as_u64());

    let signers = c["signers"].as_array().unwrap_or_else(|| panic!("{c}"));
    assert_eq!(signers[0]["name"], "owner");
    let owner = d.owner.to_string().to_lowercase();
    assert_eq!(signers[0]["address"].as_str(), Some(owner.as_str()));
    assert!(
        signers.iter().all(|s| s["pending"].as_u64().is_some()),
        "{c}"
    );
    let agents = sb.state().ledger.accounts().len() - 1; // every account but the steward signs
    assert_eq!(signers.len(), 2 + agents, "owner, employer and each agent");

    let m = get(port, "/metrics").body;
    assert!(m.contains("omega_chain_jobs_created_total "), "{m}");
    let owner_line = format!("omega_pending_transactions{{signer=\"owner\",address=\"{owner}\"}} ");
    assert!(m.contains(&owner_line), "{m}");
    sigterm(&mut run);
}
