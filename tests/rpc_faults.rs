//! Issue 18: answers that lie about sent transactions. Between Omega and the devnet a proxy
//! forwards transactions and then says they failed (`already known`, `transaction already
//! imported`, HTTP 502 after forwarding), refuses reads (429, 503) and delays answers. One intent
//! stays one transaction: every engine job is on chain exactly once (by spec hash), nothing is
//! detached, and `reconcile` finds no drift.

mod common;
#[path = "fault_proxy/mod.rs"]
mod fault_proxy;

use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use common::{Sandbox, runtime, test_seed};
use fault_proxy::{FaultProxy, Faults};
use omega::chain::bindings::JobRegistry;
use std::collections::BTreeMap;

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
    let d = net.deployment();
    let created = runtime().block_on(async {
        let p = ProviderBuilder::new().connect_http(anvil.parse().unwrap());
        let filter = Filter::new()
            .address(d.job_registry)
            .event_signature(JobRegistry::JobCreated::SIGNATURE_HASH)
            .from_block(0);
        p.get_logs(&filter).await.unwrap()
    });
    let mut per_spec: BTreeMap<_, u32> = BTreeMap::new();
    for log in &created {
        let ev = JobRegistry::JobCreated::decode_log_data(log.data()).unwrap();
        *per_spec.entry(ev.specHash).or_default() += 1;
    }
    let twice: Vec<_> = per_spec.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "created twice: {twice:?}");
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
