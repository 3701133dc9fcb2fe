//! Reorgs against a real anvil: steps a reorg takes from the chain come back (re-driven by the
//! mirror from its journal), even for jobs the engine has settled, and `omega reconcile` ends
//! with no drift.

use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use omega::chain::bindings::{JobRegistry, ValidationModule};
use omega::domain::job::JobStatus;
use std::process::Output;

mod common;

use common::{Sandbox, job_state, runtime, success};

const FINALIZED: u8 = 6;

/// Events of type `E` from `address` since the deploy block: (block, event).
async fn events<E: SolEvent>(rpc: &str, address: Address, from: u64) -> Vec<(u64, E)> {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let filter = Filter::new()
        .address(address)
        .event_signature(E::SIGNATURE_HASH)
        .from_block(from);
    let logs = provider.get_logs(&filter).await.unwrap();
    logs.iter()
        .map(|l| {
            (
                l.block_number.unwrap(),
                E::decode_log_data(l.data()).unwrap(),
            )
        })
        .collect()
}

/// `anvil_reorg` of the last `depth` blocks, replaced by empty ones (as `cast rpc anvil_reorg`).
async fn reorg(rpc: &str, depth: u64) {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    provider
        .anvil_reorg(alloy::rpc::types::anvil::ReorgOptions {
            depth,
            tx_block_pairs: vec![],
        })
        .await
        .unwrap();
}

async fn head(rpc: &str) -> u64 {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    provider.get_block_number().await.unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A job the engine has settled loses its reveals and its finalize to a reorg; `reconcile
/// --repair` (a stopped run) sends them again — the same validators, the same votes — and
/// `reconcile` then finds no drift.
#[test]
fn reorged_reveals_and_finalize_of_a_settled_job_come_back() {
    let net = Sandbox::new(|_| {});
    net.ok(&["run", "--cycles", "40"]);
    let (rpc, d) = (net.rpc(), net.deployment());
    let settled: Vec<u64> = net
        .archived()
        .iter()
        .filter(|j| j.status == JobStatus::Completed)
        .map(|j| j.id.0)
        .collect();
    let mapping: Vec<(u64, U256)> = net
        .journal()
        .iter()
        .filter(|e| e["kind"] == "created")
        .map(|e| {
            let onchain = e["onchain"].as_str().unwrap().parse().unwrap();
            (e["job"].as_u64().unwrap(), onchain)
        })
        .collect();
    let rt = runtime();
    let reveals = rt.block_on(events::<ValidationModule::ValidationRevealed>(
        &rpc,
        d.validation_module,
        d.deploy_block,
    ));
    let commits = rt.block_on(events::<ValidationModule::ValidationCommitted>(
        &rpc,
        d.validation_module,
        d.deploy_block,
    ));
    // The settled job whose first reveal came last, with its commits in earlier blocks.
    let (job, onchain, first_reveal) = mapping
        .iter()
        .filter(|(job, _)| settled.contains(job))
        .filter_map(|(job, id)| {
            let first = reveals
                .iter()
                .filter(|(_, e)| e.jobId == *id)
                .map(|(b, _)| *b)
                .min()?;
            let last_commit = commits
                .iter()
                .filter(|(_, e)| e.jobId == *id)
                .map(|(b, _)| *b)
                .max()?;
            (last_commit < first).then_some((*job, *id, first))
        })
        .max_by_key(|(_, _, first)| *first)
        .expect("a settled job with its reveals after its commits");
    let before: Vec<(Address, bool)> = reveals
        .iter()
        .filter(|(_, e)| e.jobId == onchain)
        .map(|(_, e)| (e.validator, e.approve))
        .collect();
    let depth = rt.block_on(head(&rpc)) - first_reveal + 1;
    eprintln!(
        "engine job {job} (on chain #{onchain}): reorg of {depth} blocks from block {first_reveal}"
    );
    rt.block_on(reorg(&rpc, depth));
    assert_ne!(
        rt.block_on(job_state(&rpc, &d, onchain)).2,
        FINALIZED,
        "the reorg took the finalize"
    );

    // A plain reconcile reports the drift and sends nothing.
    let head_before = rt.block_on(head(&rpc));
    let plain = net.omega(&["reconcile"]);
    assert!(!plain.status.success(), "drift is reported");
    assert!(String::from_utf8_lossy(&plain.stdout).contains(&format!("job {job} ")));
    assert_eq!(
        rt.block_on(head(&rpc)),
        head_before,
        "a plain reconcile is read-only"
    );

    let repair = net.omega(&["reconcile", "--repair"]);
    let log = stderr(&repair);
    success(&repair);
    assert!(
        log.contains(&format!(
            "chain mirror: job {job} (on chain #{onchain}): the chain lost"
        )),
        "the re-driven job is logged: {log}"
    );
    assert_eq!(rt.block_on(job_state(&rpc, &d, onchain)).2, FINALIZED);
    let after: Vec<(Address, bool)> = rt
        .block_on(events::<ValidationModule::ValidationRevealed>(
            &rpc,
            d.validation_module,
            d.deploy_block,
        ))
        .iter()
        .filter(|(_, e)| e.jobId == onchain)
        .map(|(_, e)| (e.validator, e.approve))
        .collect();
    let sorted = |mut v: Vec<(Address, bool)>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(after),
        sorted(before),
        "the same validators reveal the same votes"
    );
    let finalized = rt.block_on(events::<JobRegistry::JobFinalized>(
        &rpc,
        d.job_registry,
        d.deploy_block,
    ));
    assert_eq!(
        finalized.iter().filter(|(_, e)| e.jobId == onchain).count(),
        1
    );
    let out = net.ok(&["reconcile"]);
    assert!(out.contains("no drift"), "{out}");
}

/// The operator's scenario: 20 cycles, `anvil_reorg 3`, 10 more cycles, then no drift.
#[test]
fn a_run_after_a_reorg_sends_again_what_the_reorg_took() {
    let net = Sandbox::new(|_| {});
    net.ok(&["run", "--cycles", "20", "--fast"]);
    let rpc = net.rpc();
    let rt = runtime();
    rt.block_on(reorg(&rpc, 3));
    let drift = net.omega(&["reconcile"]);
    let run = net.omega(&["run", "--cycles", "10"]);
    let log = stderr(&run);
    success(&run);
    if !drift.status.success() {
        assert!(
            log.contains("the chain lost"),
            "the drift was re-driven: {log}"
        );
    }
    let out = net.omega(&["reconcile"]);
    assert!(
        out.status.success(),
        "no drift after the run: {}\n{log}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A reorg while `omega run` is going: the mirror notices it (its latest mined block is gone),
/// sends again what it took, and the run ends with no drift and no job detached.
#[test]
fn a_reorg_during_a_run_is_re_driven_before_the_run_ends() {
    let net = Sandbox::new(|_| {});
    let mut run = net.spawn(&["run", "--cycles", "60"]);
    common::wait_for(
        "a job finished on chain",
        std::time::Duration::from_secs(120),
        || {
            net.journal()
                .iter()
                .any(|e| e["step"].as_str().is_some_and(|s| s.starts_with("finish:")))
        },
    );
    let rt = runtime();
    rt.block_on(reorg(&net.rpc(), 4));
    assert!(run.wait().unwrap().success(), "{}", net.stderr());
    let log = net.stderr();
    assert!(log.contains("a reorg took blocks"), "{log}");
    assert!(!log.contains("detached from the chain"), "{log}");
    let out = net.omega(&["reconcile"]);
    assert!(
        out.status.success(),
        "no drift after the run: {}\n{log}",
        String::from_utf8_lossy(&out.stdout)
    );
}
