//! Issue 18's chaos harness, on the devnet with the chain on, seeded (replay a failure with
//! `OMEGA_TEST_SEED=<seed>`). Scenarios, each followed by a settling run and the checks:
//! - `omega run` killed with SIGKILL at random instants;
//! - anvil killed mid-run and restarted from its saved state;
//! - `anvil_reorg` at random depths from 1 to 10, during runs and between them;
//! - an RPC fault proxy between Omega and anvil (transactions accepted while the client is told
//!   they failed, refused and delayed reads).
//!
//! After each: every engine job is on chain exactly once (by spec hash) and where the journal
//! says, `reconcile` exits 0, the ledger is balanced, and no signer has a transaction stuck in the
//! pool (a nonce gap). One table: scenario, faults injected, jobs, duplicates, drift.
//! CI runs the short form (3 kills, 1 anvil restart, 2 reorgs — one during a run, one between
//! runs — and the proxy); `OMEGA_CHAOS_LONG=1` runs the long one (20 kills, 3 anvil restarts, 10
//! reorgs); `OMEGA_CHAOS_COUNTS=kills,restarts,reorgs` sets the three counts.

mod common;
#[path = "fault_proxy/mod.rs"]
mod fault_proxy;

use alloy::primitives::B256;
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::rpc::types::anvil::ReorgOptions;
use alloy::sol_types::SolEvent;
use common::{Sandbox, runtime, sigterm, test_seed};
use fault_proxy::{FaultProxy, Faults};
use omega::chain::bindings::JobRegistry;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::Duration;

struct Row {
    scenario: &'static str,
    faults: String,
    jobs: usize,
    duplicates: usize,
    lost: usize,
    drift: usize,
    detached: usize,
}

const DETACHED: &str = "detached from the chain";

/// Detach lines of spawned runs (their console logs share one file) already counted.
static SEEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Waits until the mirror's journal has grown by `entries` (the run is mid-work then).
fn grow(net: &Sandbox, entries: usize) {
    let start = net.journal().len();
    net.wait_for(
        "the mirror to make progress",
        Duration::from_secs(120),
        || net.journal().len() >= start + entries,
    );
}

fn provider(net: &Sandbox) -> impl Provider {
    ProviderBuilder::new().connect_http(net.rpc().parse().unwrap())
}

/// The pid of this folder's anvil.
fn anvil_pid(net: &Sandbox) -> i32 {
    let text = std::fs::read_to_string(net.reports().join("devnet/anvil.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["pid"].as_i64().unwrap() as i32
}

/// A run that finishes what is in flight, then the checks.
fn settle_and_check(net: &Sandbox, scenario: &'static str, faults: String) -> Row {
    let settling = net.ok_stderr(&["run", "--cycles", "60"]);
    // Kept beside the spawned runs' log, for a failure to be read (OMEGA_TEST_KEEP).
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(net.path("settling.stderr"))
        .unwrap();
    std::io::Write::write_all(&mut log, settling.as_bytes()).unwrap();
    let spawned = net.stderr().matches(DETACHED).count();
    let earlier = SEEN.swap(spawned, std::sync::atomic::Ordering::Relaxed);
    let detached = settling.matches(DETACHED).count() + spawned - earlier;
    let d = net.deployment();
    let created = runtime().block_on(async {
        let filter = Filter::new()
            .address(d.job_registry)
            .event_signature(JobRegistry::JobCreated::SIGNATURE_HASH)
            .from_block(0);
        provider(net).get_logs(&filter).await.unwrap()
    });
    // On chain means in the registry's state, the authority: anvil, when a reorg races with
    // mining, can keep a block whose state it rolled back, so a log may name a job the state
    // does not hold (counted apart, as `zombie logs`).
    let registry = JobRegistry::new(d.job_registry, provider(net));
    let mut on_chain: BTreeMap<B256, Vec<u64>> = BTreeMap::new();
    let mut zombies = 0;
    for log in &created {
        let ev = JobRegistry::JobCreated::decode_log_data(log.data()).unwrap();
        let held = runtime()
            .block_on(async { registry.jobs(ev.jobId).call().await })
            .unwrap();
        if held.specHash != ev.specHash {
            zombies += 1;
            continue;
        }
        on_chain
            .entry(ev.specHash)
            .or_default()
            .push(ev.jobId.to::<u64>());
    }
    let duplicates = on_chain.values().filter(|ids| ids.len() > 1).count();
    // Every journaled creation is the chain job with that spec hash.
    let journal = net.journal();
    let spec_of: BTreeMap<u64, B256> = journal
        .iter()
        .filter(|e| e["kind"] == "create_intent")
        .map(|e| {
            (
                e["job"].as_u64().unwrap(),
                e["spec_hash"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    // The latest mapping of each job counts: a job whose createJob a reorg or a restart took is
    // created again under a new id, journaled after the old one.
    let mut mapped: BTreeMap<u64, u64> = BTreeMap::new();
    for e in journal.iter().filter(|e| e["kind"] == "created") {
        let id = e["onchain"].as_str().unwrap().trim_start_matches("0x");
        mapped.insert(
            e["job"].as_u64().unwrap(),
            u64::from_str_radix(id, 16).unwrap(),
        );
    }
    let lost = mapped
        .iter()
        .filter(|(job, id)| {
            let spec = spec_of.get(job);
            !spec.is_some_and(|s| on_chain.get(s).is_some_and(|ids| ids.contains(id)))
        })
        .count();
    let out = net.omega(&["reconcile", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let drift = report["report"]["drift"]
        .as_array()
        .map_or(usize::MAX, Vec::len);
    if drift != 0 {
        eprintln!("{scenario}: drift {:#}", report["report"]["drift"]);
    }
    assert!(net.state().ledger.totals().balanced(), "{scenario}: ledger");
    let pool = net.txpool();
    assert!(
        pool.contains("pending: {}") && pool.contains("queued: {}"),
        "{scenario}: transactions left in the pool: {pool}"
    );
    let faults = match zombies {
        0 => faults,
        n => format!("{faults}; {n} zombie log(s)"),
    };
    Row {
        scenario,
        faults,
        jobs: created.len() - zombies,
        duplicates,
        lost,
        drift,
        detached,
    }
}

fn kills(net: &Sandbox, rng: &mut ChaCha8Rng, n: usize) -> Row {
    for _ in 0..n {
        let mut run = net.spawn(&["run"]);
        grow(net, rng.random_range(3..40));
        run.kill().unwrap();
        run.wait().unwrap();
    }
    settle_and_check(net, "omega run killed (SIGKILL)", format!("{n} kills"))
}

fn anvil_restarts(net: &Sandbox, rng: &mut ChaCha8Rng, n: usize) -> Row {
    for _ in 0..n {
        let mut run = net.spawn(&["run"]);
        grow(net, rng.random_range(10..60));
        // anvil dies with the run (a host crash): it comes back from its last saved state.
        unsafe { libc::kill(anvil_pid(net), libc::SIGKILL) };
        run.kill().unwrap();
        run.wait().unwrap();
        net.ok(&["devnet", "up"]);
    }
    settle_and_check(
        net,
        "anvil killed, restarted from its state",
        format!("{n} restarts"),
    )
}

fn reorgs(net: &Sandbox, rng: &mut ChaCha8Rng, n: usize) -> Row {
    let mut depths = Vec::new();
    for i in 0..n {
        let during = i % 2 == 0;
        let depth = rng.random_range(1..=10);
        depths.push(depth);
        let reorg = || {
            runtime().block_on(async {
                let options = ReorgOptions {
                    depth,
                    tx_block_pairs: vec![],
                };
                provider(net).anvil_reorg(options).await.unwrap();
            })
        };
        let mut run = net.spawn(&["run"]);
        grow(net, rng.random_range(10..50));
        if during {
            // A chain reorganises between two blocks, never inside one: anvil 1.7.1's
            // `anvil_reorg` racing with a block the run's builder is mining can keep a block
            // whose state it rolled back (its logs then name jobs the state does not hold). So
            // the run is stopped, one block mined behind anvil's mining lock (any block the run
            // was mining is done then), the reorg made, and the run goes on.
            unsafe { libc::kill(run.id() as i32, libc::SIGSTOP) };
            runtime().block_on(async { provider(net).anvil_mine(Some(1), None).await.unwrap() });
            reorg();
            unsafe { libc::kill(run.id() as i32, libc::SIGCONT) };
            grow(net, 5);
            sigterm(&mut run);
        } else {
            sigterm(&mut run);
            reorg();
        }
    }
    settle_and_check(
        net,
        "anvil_reorg (during and between runs)",
        format!("depths {depths:?}"),
    )
}

fn faults(net: &Sandbox, seed: u64) -> Row {
    let anvil = net.rpc();
    let proxy = FaultProxy::start(
        &anvil,
        Faults {
            already_known: 0.04,
            already_imported: 0.04,
            bad_gateway_after: 0.04,
            refused: 0.03,
            delayed: 0.003,
        },
        seed,
    );
    let path = net.reports().join("devnet/anvil.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&original).unwrap();
    record["rpc_url"] = proxy.url.clone().into();
    std::fs::write(&path, record.to_string()).unwrap();
    let out = net.omega(&["run", "--cycles", "60"]);
    std::fs::write(&path, original).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (injected, requests) = proxy.injected();
    let faults = format!(
        "{} of {requests} requests: {injected:?}",
        injected.values().sum::<u64>()
    );
    let mut row = settle_and_check(net, "RPC fault proxy", faults);
    row.detached += String::from_utf8_lossy(&out.stderr)
        .matches(DETACHED)
        .count();
    row
}

/// `OMEGA_CHAOS_COUNTS=kills,restarts,reorgs` (e.g. `0,0,20` to hunt a reorg-only fault).
fn counts_of(text: &str) -> (usize, usize, usize) {
    let n: Vec<usize> = text
        .split(',')
        .map(|c| {
            c.trim()
                .parse()
                .expect("OMEGA_CHAOS_COUNTS: kills,restarts,reorgs")
        })
        .collect();
    match n[..] {
        [kills, restarts, reorgs] => (kills, restarts, reorgs),
        _ => panic!("OMEGA_CHAOS_COUNTS takes three numbers: kills,restarts,reorgs"),
    }
}

#[test]
fn chaos() {
    let seed = test_seed("chaos");
    let long = std::env::var_os("OMEGA_CHAOS_LONG").is_some();
    let (n_kills, n_restarts, n_reorgs) = match std::env::var("OMEGA_CHAOS_COUNTS") {
        Ok(counts) => counts_of(&counts),
        Err(_) if long => (20, 3, 10),
        Err(_) => (3, 1, 2),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    let mut rows = vec![
        kills(&net, &mut rng, n_kills),
        anvil_restarts(&net, &mut rng, n_restarts),
    ];
    if n_reorgs > 0 {
        rows.push(reorgs(&net, &mut rng, n_reorgs));
    }
    rows.push(faults(&net, seed));
    eprintln!(
        "\n{:<42} {:>5} {:>10} {:>5} {:>5} {:>8}  faults",
        "scenario", "jobs", "duplicates", "lost", "drift", "detached"
    );
    for r in &rows {
        eprintln!(
            "{:<42} {:>5} {:>10} {:>5} {:>5} {:>8}  {}",
            r.scenario, r.jobs, r.duplicates, r.lost, r.drift, r.detached, r.faults
        );
    }
    for r in &rows {
        let bad = (r.duplicates, r.lost, r.drift, r.detached);
        assert_eq!(bad, (0, 0, 0, 0), "{}", r.scenario);
    }
}
