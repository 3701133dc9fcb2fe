//! Nothing is left silently stuck on chain: rejected work goes through the v2 dispute path, a job
//! the engine failed before `submit` is released (cancelled, or expired once its deadline passes),
//! and a job that stands still on chain past its windows is reported by `reconcile` as stalled
//! until the mirror moves it again.

mod common;

use alloy::primitives::U256;
use alloy::providers::ProviderBuilder;
use alloy::providers::ext::AnvilApi;
use common::{Sandbox, job_state, runtime, wait_for};
use std::time::Duration;

const STATE_APPLIED: u8 = 2;
const STATE_FINALIZED: u8 = 6;
const STATE_CANCELLED: u8 = 7;

/// Moves the devnet's clock `seconds` ahead and mines a block at the new time.
fn warp(net: &Sandbox, seconds: u64) {
    runtime().block_on(async {
        let p = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
        p.anvil_increase_time(seconds).await.unwrap();
        p.anvil_mine(Some(1), None).await.unwrap();
    });
}

/// On-chain ids of the engine jobs whose journal has the step `step`.
fn onchain_with_step(net: &Sandbox, step: &str) -> Vec<U256> {
    let journal = net.journal();
    let onchain = |job: &serde_json::Value| {
        journal
            .iter()
            .find(|e| e["kind"] == "created" && e["job"] == *job)
            .and_then(|e| e["onchain"].as_str())
            .map(|s| s.parse::<U256>().unwrap())
    };
    journal
        .iter()
        .filter(|e| e["kind"] == "done" && e["step"] == step)
        .filter_map(|e| onchain(&e["job"]))
        .collect()
}

fn states(net: &Sandbox, ids: &[U256]) -> Vec<u8> {
    let d = net.deployment();
    runtime().block_on(async {
        let mut out = Vec::new();
        for id in ids {
            out.push(job_state(&net.rpc(), &d, *id).await.2);
        }
        out
    })
}

/// The devnet's two profiles: the bridge must not depend on the friendly one.
fn sandbox(reference: bool, tweak: impl FnOnce(&mut serde_json::Value)) -> Sandbox {
    let net = Sandbox::new(tweak);
    if reference { net.reference() } else { net }
}

#[test]
fn jobs_that_fail_before_submit_are_released_on_chain() {
    released_on_chain(false);
}

#[test]
fn reference_profile_jobs_that_fail_before_submit_are_released_on_chain() {
    released_on_chain(true);
}

fn released_on_chain(reference: bool) {
    // Every agent's work ends in an unrecoverable fault: no job reaches `submit`.
    let net = sandbox(reference, |c| {
        for a in c["agents"].as_array_mut().unwrap() {
            a["error_rate"] = 1.0.into();
        }
    });
    let stderr = net.ok_stderr(&["run", "--cycles", "60"]);
    assert!(!stderr.contains("detached"), "{stderr}");
    let failed = onchain_with_step(&net, "failed");
    assert!(!failed.is_empty(), "no job failed on chain\n{}", net.log());
    let before = states(&net, &failed);
    assert!(
        before
            .iter()
            .all(|s| [STATE_APPLIED, STATE_CANCELLED].contains(s)),
        "{before:?}"
    );
    let applied = before.iter().filter(|s| **s == STATE_APPLIED).count();
    assert!(
        applied > 0,
        "no failed job waits for its deadline: {before:?}"
    );
    // Released before the deadline is impossible on chain; reconcile calls the wait in sync.
    let out = net.omega(&["reconcile"]);
    assert!(
        out.status.success(),
        "{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        net.log(),
        std::fs::read_to_string(net.reports().join("chain/mirror.jsonl")).unwrap()
    );
    // Past every deadline (the devnet gives 30 days of margin), the next run expires them.
    warp(&net, 31 * 24 * 3600);
    let stderr = net.ok_stderr(&["run", "--cycles", "10"]);
    assert!(!stderr.contains("detached"), "{stderr}");
    let after = states(&net, &failed);
    assert!(
        after
            .iter()
            .all(|s| [STATE_FINALIZED, STATE_CANCELLED].contains(s)),
        "failed jobs still locked on chain: {after:?}"
    );
    let expired = onchain_with_step(&net, "expire").len();
    assert!(
        expired >= applied,
        "{expired} < {applied}\n{}",
        net.stderr()
    );
    net.ok(&["reconcile"]);
}

#[test]
fn a_job_standing_still_on_chain_is_stalled_until_the_mirror_moves_it() {
    stalled_until_moved(false);
}

#[test]
fn reference_profile_a_job_standing_still_on_chain_is_stalled_until_the_mirror_moves_it() {
    stalled_until_moved(true);
}

fn stalled_until_moved(reference: bool) {
    let net = sandbox(reference, |_| {});
    let mut run = net.spawn(&["run"]);
    wait_for(
        "a committee selected on chain",
        Duration::from_secs(120),
        || {
            net.journal()
                .iter()
                .any(|e| e["step"].as_str().is_some_and(|s| s.starts_with("select:")))
        },
    );
    run.kill().unwrap(); // SIGKILL: nothing is finished on the way out
    run.wait().unwrap();
    // Two hours later nothing has moved: more than both windows twice plus the grace.
    warp(&net, 2 * 3600);
    let out = net.omega(&["reconcile", "--json"]);
    assert!(!out.status.success(), "a stalled job was called in sync");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stalled = |r: &serde_json::Value| {
        r["report"]["drift"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["side"] == "stalled")
            .count()
    };
    assert!(stalled(&report) > 0, "{report:#}");
    // The mirror takes them up again: windows closed, it force-finalizes after the grace.
    net.ok(&["run", "--cycles", "30"]);
    let out = net.omega(&["reconcile", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stalled(&report), 0, "{report:#}");
}

#[test]
fn rejected_work_is_resolved_through_the_dispute_module() {
    resolved_through_the_dispute_module(false);
}

#[test]
fn reference_profile_rejected_work_is_resolved_through_the_dispute_module() {
    resolved_through_the_dispute_module(true);
}

fn resolved_through_the_dispute_module(reference: bool) {
    // Every agent's work is bad: validators reject it and the chain leaves each job Disputed.
    let net = sandbox(reference, |c| {
        for a in c["agents"].as_array_mut().unwrap() {
            a["bad_work_rate"] = 1.0.into();
        }
    });
    let stderr = net.ok_stderr(&["run", "--cycles", "120"]);
    let d = net.deployment();
    let dm = d
        .dispute_module
        .expect("the devnet deploys a DisputeModule");
    let (raised, resolved) = runtime().block_on(async {
        use alloy::providers::Provider;
        use alloy::rpc::types::Filter;
        use alloy::sol_types::SolEvent;
        use omega::chain::bindings::DisputeModule as Dm;
        let p = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
        let logs = |sig| {
            let filter = Filter::new().address(dm).event_signature(sig).from_block(0);
            let p = p.clone();
            async move { p.get_logs(&filter).await.unwrap().len() }
        };
        (
            logs(Dm::DisputeRaised::SIGNATURE_HASH).await,
            logs(Dm::DisputeResolved::SIGNATURE_HASH).await,
        )
    });
    assert!(raised > 0, "no dispute raised\n{}", net.log());
    assert!(resolved > 0, "no dispute resolved\n{}", net.log());
    let finished = onchain_with_step(&net, "finish:false");
    assert!(!finished.is_empty(), "no rejected job finalized on chain");
    assert!(
        states(&net, &finished)
            .iter()
            .all(|s| *s == STATE_FINALIZED)
    );
    assert!(!stderr.contains("detached"), "{stderr}");
    net.ok(&["reconcile"]);
}
