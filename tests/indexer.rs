//! The event indexer, chain → engine adoption and `omega reconcile`, against a real anvil.

mod common;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::ProviderBuilder;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::anvil::ReorgOptions;
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use common::{Sandbox, job_state, runtime, seeded_pick, sigterm, test_seed, wait_for};
use omega::chain::bindings::{AGIALPHA, JobRegistry, SystemPause};
use omega::chain::indexer::{Indexer, IndexerSettings, LogSource, RpcSource, SourceError};
use omega::chain::keys::Keys;
use omega::chain::manifest::Deployment;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A key of anvil's public test mnemonic that Omega does not use: "another employer".
fn outsider() -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase("test test test test test test test test test test test junk")
        .index(15)
        .unwrap()
        .build()
        .unwrap()
}

/// Posts a job on chain from the outsider's key with plain contract calls; returns its id.
async fn post_external_job(rpc: &str, d: &Deployment) -> U256 {
    let owner = Keys::devnet(0, 0).unwrap().owner;
    let employer = outsider();
    let reward = U256::from(10u64) * U256::from(10u64).pow(U256::from(18u64));
    let as_owner = ProviderBuilder::new()
        .wallet(EthereumWallet::from(owner))
        .connect_http(rpc.parse().unwrap());
    as_owner
        .anvil_set_balance(employer.address(), U256::from(10u64).pow(U256::from(20u64)))
        .await
        .unwrap();
    let token = AGIALPHA::new(d.token, &as_owner);
    let amount = reward * U256::from(2u64);
    let r = token.mint(employer.address(), amount).send().await.unwrap();
    r.get_receipt().await.unwrap();
    let as_employer = ProviderBuilder::new()
        .wallet(EthereumWallet::from(employer.clone()))
        .connect_http(rpc.parse().unwrap());
    let r = AGIALPHA::new(d.token, &as_employer)
        .approve(d.stake_manager, amount)
        .send()
        .await
        .unwrap();
    r.get_receipt().await.unwrap();
    let now = common::chain_time(&as_employer).await;
    let registry = JobRegistry::new(d.job_registry, &as_employer);
    let call = registry.createJob(
        reward,
        now + 86_400,
        B256::repeat_byte(0xee),
        "ipfs://external".into(),
    );
    let id = call.call().await.unwrap();
    call.send().await.unwrap().get_receipt().await.unwrap();
    id
}

fn reconcile_json(net: &Sandbox) -> (bool, serde_json::Value) {
    let out = net.omega(&["reconcile", "--json"]);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "reconcile printed no JSON: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), json)
}

#[test]
fn a_job_posted_by_another_employer_is_adopted_and_finalized() {
    let net = Sandbox::new(|c| {
        c["generator"]["rate_per_cycle"] = 0.0.into();
        // Work that fails outright never reaches the chain (the job stays Applied there, as
        // designed): this test is about adoption and finalization, not that 2-3 % chance.
        for agent in c["agents"].as_array_mut().unwrap() {
            agent["error_rate"] = 0.0.into();
        }
    });
    net.ok(&["devnet", "up"]);
    let d = net.deployment();
    let rt = runtime();
    let id = rt.block_on(post_external_job(&net.rpc(), &d));
    let (clean, report) = reconcile_json(&net);
    assert!(!clean, "an unadopted job is drift");
    assert!(
        report["report"]["drift"]
            .to_string()
            .contains("not adopted")
    );
    // --repair adopts it (one engine cycle with the chain attached), then finds no drift.
    let repaired = net.ok(&["reconcile", "--repair"]);
    assert!(repaired.contains("no drift"), "{repaired}");
    assert!(net.state().jobs.iter().any(|j| matches!(
        &j.origin,
        omega::domain::job::JobOrigin::External { reference } if *reference == format!("chain:{id}")
    )));

    let run = net.omega(&["run", "--cycles", "60"]);
    let out = common::success(&run);
    let errors: Vec<String> = String::from_utf8_lossy(&run.stderr)
        .lines()
        .filter(|l| l.contains("detached") || l.contains("WARN"))
        .map(str::to_string)
        .collect();
    let (_, agent, state) = rt.block_on(job_state(&net.rpc(), &d, id));
    if state != 6 {
        let log = net.log();
        let adopted: Vec<&str> = log.lines().filter(|l| l.contains("chain:")).collect();
        let journal: Vec<_> = net.journal().into_iter().rev().take(30).collect();
        panic!(
            "the adopted job is in state {state}, not finalized\n{out}\n{errors:#?}\n{adopted:#?}\n{journal:#?}"
        );
    }
    let ours = Keys::devnet(3, 5).unwrap().addresses();
    assert!(
        ours.contains(&agent),
        "one of Omega's agents did it: {agent}"
    );
    assert!(net.log().contains(&format!("chain:{id}")));
    let (clean, report) = reconcile_json(&net);
    assert!(clean, "no drift after adoption: {report:#}");
}

#[test]
fn an_owner_pause_sent_straight_to_system_pause_pauses_the_engine() {
    let net = Sandbox::new(|_| {});
    let mut child = net.spawn(&["run"]);
    wait_for("a job created on chain", Duration::from_secs(60), || {
        net.journal().iter().any(|e| e["kind"] == "created")
    });
    let d = net.deployment();
    let rt = runtime();
    let owner = ProviderBuilder::new()
        .wallet(EthereumWallet::from(Keys::devnet(0, 0).unwrap().owner))
        .connect_http(net.rpc().parse().unwrap());
    let pause = SystemPause::new(d.system_pause, &owner);
    // Sent straight to SystemPause with the owner's key; the engine follows within a cycle.
    let set_paused = |paused: bool| {
        rt.block_on(async {
            let sent = if paused {
                pause.pauseAll().send().await
            } else {
                pause.unpauseAll().send().await
            };
            sent.unwrap().get_receipt().await.unwrap();
        });
        let message = if paused { "paused" } else { "resumed" };
        wait_for(
            &format!("the engine {message} by the chain"),
            Duration::from_secs(20),
            || {
                net.log().contains(&format!(
                    r#""message":"{message}","context":{{"source":"chain"}}"#
                ))
            },
        );
    };
    set_paused(true);
    set_paused(false);
    sigterm(&mut child);
    assert!(!net.state().paused);
    let (clean, report) = reconcile_json(&net);
    let errors = net.stderr();
    let errors: Vec<&str> = errors.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(clean, "{report:#}\n{errors:#?}");
}

#[test]
fn a_reorg_is_detected_and_leaves_no_drift() {
    let net = Sandbox::new(|_| {});
    net.ok(&["run", "--cycles", "15"]);
    let d = net.deployment();
    let rt = runtime();
    rt.block_on(post_external_job(&net.rpc(), &d));
    let (clean, _) = reconcile_json(&net);
    assert!(!clean, "the indexer saw the outsider's job");
    // Replace the block holding the outsider's createJob with an empty one.
    let p = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
    rt.block_on(async {
        p.anvil_reorg(ReorgOptions {
            depth: 1,
            tx_block_pairs: Vec::new(),
        })
        .await
        .unwrap();
    });
    let (clean, report) = reconcile_json(&net);
    assert_eq!(report["reorgs"], 1, "{report:#}");
    assert!(
        clean,
        "the reorged-out job is gone from the view: {report:#}"
    );
}

/// A provider that refuses `eth_getLogs` over more than `max` blocks, as hosted RPCs do.
struct RangeLimited {
    inner: RpcSource,
    max: u64,
    refused: AtomicU64,
}

impl LogSource for RangeLimited {
    async fn head(&self) -> Result<u64, SourceError> {
        self.inner.head().await
    }
    async fn block_hash(&self, n: u64) -> Result<Option<B256>, SourceError> {
        self.inner.block_hash(n).await
    }
    async fn logs(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
    ) -> Result<Vec<alloy::rpc::types::Log>, SourceError> {
        if to - from + 1 > self.max {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(SourceError::classify(format!(
                "eth_getLogs is limited to a {} blocks range",
                self.max
            )));
        }
        self.inner.logs(from, to, addresses).await
    }
}

#[test]
fn a_provider_range_limit_is_handled_by_halving() {
    let net = Sandbox::new(|_| {});
    net.ok(&["run", "--cycles", "10"]);
    let d = net.deployment();
    runtime().block_on(async {
        let plain = RpcSource::connect(&net.rpc()).unwrap();
        let mut reference = Indexer::open(&d, IndexerSettings::new(&net.path("a"), 0)).unwrap();
        reference.sync(&plain).await.unwrap();
        let limited = RangeLimited {
            inner: plain.clone(),
            max: 7,
            refused: AtomicU64::new(0),
        };
        let mut indexer = Indexer::open(&d, IndexerSettings::new(&net.path("b"), 0)).unwrap();
        indexer.sync(&limited).await.unwrap();
        assert!(limited.refused.load(Ordering::Relaxed) > 0);
        assert!(indexer.state.halvings > 0);
        assert_eq!(
            indexer.view(),
            reference.view(),
            "same view in smaller chunks"
        );
        assert!(!indexer.view().jobs.is_empty());
    });
}

#[test]
fn after_a_kill_9_start_up_reconciliation_leaves_zero_drift() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    let mut child = net.spawn(&["run"]);
    wait_for("jobs in flight on chain", Duration::from_secs(60), || {
        net.journal()
            .iter()
            .filter(|e| e["kind"] == "created")
            .count()
            >= 2
    });
    // The kill lands after the k-th further journal entry, k drawn from the printed seed.
    let k = seeded_pick(test_seed("after_a_kill_9"), 0..60) as usize;
    let entries = net.journal().len();
    eprintln!("killing after {k} more journal entries (from {entries})");
    wait_for("k more journal entries", Duration::from_secs(60), || {
        net.journal().len() >= entries + k
    });
    child.kill().unwrap();
    child.wait().unwrap();
    net.ok(&["run", "--cycles", "3"]);
    let (clean, report) = reconcile_json(&net);
    assert!(clean, "right after the restart: {report:#}");
    // And the two sides stay together as the work goes on. A validation round the kill cut
    // short can leave the chain waiting out its windows when a run ends (CI once saw a job
    // failed off chain and still submitted on chain after 30 cycles), and the mirror takes the
    // work up again at the next start: the drift must be gone within two more runs.
    let mut report = serde_json::Value::Null;
    for _ in 0..3 {
        net.ok(&["run", "--cycles", "30"]);
        let clean;
        (clean, report) = reconcile_json(&net);
        if clean {
            return;
        }
    }
    panic!("still drifting after three runs of 30 cycles: {report:#}");
}
