//! Issue 18: answers that lie about sent transactions. Between Omega and the devnet a proxy
//! forwards transactions and then says they failed (`already known`, `transaction already
//! imported`, HTTP 502 after forwarding), refuses reads (429, 503) and delays answers. One intent
//! stays one transaction: every engine job is on chain exactly once (by spec hash), nothing is
//! detached, and `reconcile` finds no drift. And a crash between journaling a signed `createJob`
//! and sending it: the next run sends those very bytes, never a second `createJob`.

mod common;
#[path = "fault_proxy/mod.rs"]
mod fault_proxy;

use alloy::primitives::B256;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use common::{Sandbox, runtime, test_seed};
use fault_proxy::{FaultProxy, Faults};
use omega::chain::bindings::JobRegistry;
use std::collections::BTreeMap;

/// Every `JobCreated` of the devnet's registry.
fn created_on_chain(net: &Sandbox, anvil: &str) -> Vec<JobRegistry::JobCreated> {
    let d = net.deployment();
    let logs = runtime().block_on(async {
        let p = ProviderBuilder::new().connect_http(anvil.parse().unwrap());
        let filter = Filter::new()
            .address(d.job_registry)
            .event_signature(JobRegistry::JobCreated::SIGNATURE_HASH)
            .from_block(0);
        p.get_logs(&filter).await.unwrap()
    });
    logs.iter()
        .map(|log| JobRegistry::JobCreated::decode_log_data(log.data()).unwrap())
        .collect()
}

fn assert_once_per_spec(created: &[JobRegistry::JobCreated]) {
    let mut per_spec: BTreeMap<_, u32> = BTreeMap::new();
    for ev in created {
        *per_spec.entry(ev.specHash).or_default() += 1;
    }
    let twice: Vec<_> = per_spec.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "created twice: {twice:?}");
}

/// Points this folder's devnet record at `url` (the run then talks to anvil through it).
fn route_devnet_through(net: &Sandbox, url: &str) -> String {
    let path = net.reports().join("devnet/anvil.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&original).unwrap();
    record["rpc_url"] = url.into();
    std::fs::write(&path, serde_json::to_string_pretty(&record).unwrap()).unwrap();
    original
}

#[test]
fn lying_answers_make_no_duplicate_and_detach_nothing() {
    let seed = test_seed("lying_answers_make_no_duplicate_and_detach_nothing");
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    let anvil = net.rpc();
    let faults = Faults {
        already_known: 0.04,
        already_imported: 0.04,
        bad_gateway_after: 0.04,
        refused: 0.03,
        delayed: 0.003,
    };
    let proxy = FaultProxy::start(&anvil, faults, seed);
    let original = route_devnet_through(&net, &proxy.url);
    let out = net.omega(&["run", "--cycles", "60"]);
    std::fs::write(net.reports().join("devnet/anvil.json"), original).unwrap();
    let (injected, requests) = proxy.injected();
    eprintln!("faults injected in {requests} requests: {injected:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let sends: u64 = ["already known", "already imported", "502 after forwarding"]
        .iter()
        .filter_map(|k| injected.get(k))
        .sum();
    assert!(sends > 0, "no transaction was lied about: {injected:?}");
    assert!(
        !stderr.contains("detached"),
        "a job was detached:\n{stderr}"
    );

    // Every spec hash once on chain, and as many chain jobs as the journal created.
    let created = created_on_chain(&net, &anvil);
    assert_once_per_spec(&created);
    let journaled = net
        .journal()
        .iter()
        .filter(|e| e["kind"] == "created")
        .count();
    assert_eq!(
        created.len(),
        journaled,
        "chain jobs vs journaled creations"
    );
    assert!(journaled >= 5, "too few jobs to tell: {journaled}");
    let out = net.omega(&["reconcile"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(net.reports().join("chain/mirror.jsonl")).unwrap()
    );
}

/// The crash one transaction per intent is journaled for: the run dies right after the signed
/// `createJob` is fsynced to the journal and before the node gets it. The next run sends those
/// very bytes first; the job's creation on chain is that transaction, and nothing is created twice.
#[test]
fn a_create_journaled_but_never_sent_is_sent_as_signed_after_a_crash() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    let anvil = net.rpc();
    let crash = [("OMEGA_TEST_CRASH_AT", "create-signed")];
    let crashed = net.omega_env(&["run", "--cycles", "20", "--fast"], &crash);
    let stderr = String::from_utf8_lossy(&crashed.stderr);
    assert!(
        !crashed.status.success(),
        "the run did not crash:\n{stderr}"
    );
    let signed: Vec<_> = net
        .journal()
        .into_iter()
        .filter(|e| e["kind"] == "create_signed")
        .collect();
    assert_eq!(signed.len(), 1, "{signed:?}");
    let job = signed[0]["job"].as_u64().unwrap();
    let hash: B256 = signed[0]["hash"].as_str().unwrap().parse().unwrap();
    let provider = ProviderBuilder::new().connect_http(anvil.parse().unwrap());
    let known = runtime().block_on(provider.get_transaction_by_hash(hash));
    assert!(
        known.unwrap().is_none(),
        "the node got {hash} before the crash"
    );
    assert!(created_on_chain(&net, &anvil).is_empty());

    net.ok(&["run", "--cycles", "20", "--fast"]);
    let receipt = runtime().block_on(provider.get_transaction_receipt(hash));
    let receipt = receipt.unwrap().expect("the journaled createJob was mined");
    assert!(receipt.status(), "{receipt:?}");
    let id = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| JobRegistry::JobCreated::decode_log_data(l.data()).ok())
        .expect("JobCreated in its receipt")
        .jobId;
    let mapped = net
        .journal()
        .into_iter()
        .filter(|e| e["kind"] == "created" && e["job"] == job)
        .map(|e| e["onchain"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(mapped, vec![format!("{id:#x}")], "job {job}'s mapping");
    let created = created_on_chain(&net, &anvil);
    assert!(
        created.len() >= 5,
        "too few jobs to tell: {}",
        created.len()
    );
    assert_once_per_spec(&created);
    net.ok(&["reconcile"]);
}
