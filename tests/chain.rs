//! The chain half against a real anvil: each test starts its own devnet (anvil takes a free port)
//! through `omega` itself, runs the orchestrator, and checks the chain with plain RPC reads.

use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use omega::chain::bindings::{JobRegistry, StakeManager};
use omega::chain::keys::Keys;
use omega::chain::manifest::Deployment;
use std::time::Duration;

mod common;

use common::{Sandbox, get, job_state, runtime, seeded_pick, sigterm, test_seed, wait_for};

/// Logs of type `E` from `address` in blocks `from..=latest`, with their block numbers.
async fn logs_since<E: SolEvent>(rpc: &str, address: Address, from: u64) -> Vec<(u64, E)> {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    if from > provider.get_block_number().await.unwrap() {
        return Vec::new(); // anvil refuses a range that starts past its head
    }
    let filter = Filter::new()
        .address(address)
        .event_signature(E::SIGNATURE_HASH)
        .from_block(from);
    provider
        .get_logs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|l| {
            (
                l.block_number.unwrap(),
                E::decode_log_data(l.data()).unwrap(),
            )
        })
        .collect()
}

/// Every event of type `E` emitted by `address` since the deployment, decoded.
async fn events<E: SolEvent>(rpc: &str, d: &Deployment, address: Address) -> Vec<E> {
    let logs = logs_since::<E>(rpc, address, d.deploy_block).await;
    logs.into_iter().map(|(_, e)| e).collect()
}

#[test]
fn a_mirrored_run_finalizes_jobs_on_chain_each_step_by_its_actor() {
    let net = Sandbox::new(|_| {});
    // Settled jobs are forgotten as soon as their finish is deep enough (not 30 s later).
    let stdout = net.ok(&["run", "--cycles", "40", "--forget-after-s", "0"]);
    assert!(stdout.contains("finalized on chain"), "{stdout}");
    let d = net.deployment();
    let keys = Keys::devnet(3, 5).unwrap();
    runtime().block_on(async {
        let created = events::<JobRegistry::JobCreated>(&net.rpc(), &d, d.job_registry).await;
        let finalized = events::<JobRegistry::JobFinalized>(&net.rpc(), &d, d.job_registry).await;
        assert!(!finalized.is_empty(), "no job finalized on chain");
        // The demo jobs were posted by the steward: the employer key created them.
        assert_eq!(created[0].employer, keys.employer.address());
        for ev in &finalized {
            let (employer, agent, state) = job_state(&net.rpc(), &d, ev.jobId).await;
            assert_eq!(state, 6, "Finalized");
            assert_eq!(agent, ev.worker);
            assert!(keys.addresses().contains(&agent) && keys.addresses().contains(&employer));
        }
        // Every agent's stake is its deposit minus exactly what was slashed from it on chain.
        let provider = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
        let slashes = events::<StakeManager::StakeSlashed>(&net.rpc(), &d, d.stake_manager).await;
        let deposit = U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18u64));
        for key in &keys.agents {
            let stake = StakeManager::new(d.stake_manager, &provider)
                .stakeOf(key.address(), 0)
                .call()
                .await
                .unwrap();
            let slashed: U256 = slashes
                .iter()
                .filter(|e| e.user == key.address() && e.role == 0)
                .map(|e| {
                    e.employerShare
                        + e.treasuryShare
                        + e.operatorShare
                        + e.validatorShare
                        + e.burnShare
                })
                .sum();
            assert_eq!(
                stake + slashed,
                deposit,
                "agent {} stake does not add up",
                key.address()
            );
        }
    });
    // Each engine job was created at most once on chain.
    let created: Vec<u64> = net
        .journal()
        .iter()
        .filter(|e| e["kind"] == "created")
        .map(|e| e["job"].as_u64().unwrap())
        .collect();
    let mut unique = created.clone();
    unique.dedup();
    assert_eq!(created.len(), unique.len());
    // Jobs settled by the engine and finalized on chain are forgotten as final, each after its
    // finish; a run after them (which replays the journal) and reconcile still agree with it.
    let journal = net.journal();
    let step_of = |job: u64, prefix: &str| {
        journal.iter().position(|e| {
            e["job"] == job && e["step"].as_str().is_some_and(|s| s.starts_with(prefix))
        })
    };
    let finals: Vec<u64> = journal
        .iter()
        .filter(|e| e["step"] == "final")
        .map(|e| e["job"].as_u64().unwrap())
        .collect();
    assert!(!finals.is_empty(), "no job was forgotten as final");
    for job in &finals {
        let finish = step_of(*job, "finish").unwrap_or_else(|| panic!("job {job}: no finish"));
        assert!(
            finish < step_of(*job, "final").unwrap(),
            "job {job} final before its finish"
        );
    }
    net.ok(&["run", "--cycles", "10"]);
    net.ok(&["reconcile"]);
}

#[test]
fn rejected_work_is_disputed_and_the_agent_slashed_on_chain() {
    let net = Sandbox::new(|c| {
        for a in c["agents"].as_array_mut().unwrap() {
            a["bad_work_rate"] = 1.0.into();
        }
        c["generator"]["rate_per_cycle"] = 0.0.into();
    });
    net.ok(&["run", "--cycles", "40"]);
    assert!(net.log().contains("rejected by validators"));
    let d = net.deployment();
    runtime().block_on(async {
        let disputed = events::<JobRegistry::JobDisputed>(&net.rpc(), &d, d.job_registry).await;
        let slashed = events::<StakeManager::StakeSlashed>(&net.rpc(), &d, d.stake_manager).await;
        let finalized = events::<JobRegistry::JobFinalized>(&net.rpc(), &d, d.job_registry).await;
        assert!(!disputed.is_empty(), "no dispute on chain");
        assert!(!slashed.is_empty(), "no slash on chain");
        assert!(!finalized.is_empty(), "rejected jobs are still finalized");
    });
}

/// Transactions in the devnet's pool, pending or queued.
async fn pool_size(rpc: &str) -> u64 {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let status: serde_json::Value = provider
        .raw_request("txpool_status".into(), ())
        .await
        .unwrap();
    ["pending", "queued"]
        .iter()
        .map(|k| u64::from_str_radix(status[k].as_str().unwrap().trim_start_matches("0x"), 16))
        .map(Result::unwrap)
        .sum()
}

async fn paused_on_chain(rpc: &str, d: &Deployment) -> bool {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    JobRegistry::new(d.job_registry, &provider)
        .paused()
        .call()
        .await
        .unwrap()
}

#[test]
fn pause_blocks_the_chain_and_resume_continues() {
    let net = Sandbox::new(|_| {});
    let (mut child, port) = net.spawn_http(&["run"], &[]);
    let cycle = || get(port, "/healthz").json()["cycle"].as_u64().unwrap();
    wait_for("a job finalized on chain", Duration::from_secs(60), || {
        net.journal()
            .iter()
            .any(|e| e["step"].as_str().is_some_and(|s| s.starts_with("finish")))
    });
    net.ok(&["pause"]);
    let d = net.deployment();
    let rt = runtime();
    wait_for("SystemPause on chain", Duration::from_secs(20), || {
        rt.block_on(paused_on_chain(&net.rpc(), &d))
    });
    // Judge by the chain, not the journal: a finalize sent just before the pause may be journaled
    // after it (the journal records a step once its receipt is in).
    let pause_block = rt
        .block_on(logs_since::<JobRegistry::Paused>(
            &net.rpc(),
            d.job_registry,
            d.deploy_block,
        ))
        .last()
        .expect("a Paused event")
        .0;
    // Give a wrong finalize every chance to land: the engine runs on paused for a while, then
    // whatever it sent meanwhile is mined (the pool drains) before the chain is read.
    let paused_at = cycle();
    wait_for("8 cycles while paused", Duration::from_secs(30), || {
        cycle() >= paused_at + 8
    });
    wait_for("the pool to drain", Duration::from_secs(20), || {
        rt.block_on(pool_size(&net.rpc())) == 0
    });
    let settled_while_paused = rt.block_on(logs_since::<JobRegistry::JobFinalized>(
        &net.rpc(),
        d.job_registry,
        pause_block + 1,
    ));
    assert!(
        settled_while_paused.is_empty(),
        "nothing settles on chain while paused: {:?}",
        settled_while_paused
            .iter()
            .map(|(b, e)| (b, e.jobId))
            .collect::<Vec<_>>()
    );
    net.ok(&["resume"]);
    wait_for("unpaused on chain", Duration::from_secs(20), || {
        !rt.block_on(paused_on_chain(&net.rpc(), &d))
    });
    wait_for("more jobs finalized", Duration::from_secs(60), || {
        !rt.block_on(logs_since::<JobRegistry::JobFinalized>(
            &net.rpc(),
            d.job_registry,
            pause_block + 1,
        ))
        .is_empty()
    });
    sigterm(&mut child);
}

#[test]
fn kill_9_mid_lifecycle_then_restart_creates_nothing_twice() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    let mut child = net.spawn(&["run"]);
    wait_for("jobs in flight on chain", Duration::from_secs(60), || {
        let j = net.journal();
        j.iter().filter(|e| e["kind"] == "salt").count() >= 3
            && j.iter().any(|e| e["kind"] == "create_intent")
    });
    // The kill lands after the k-th further journal entry, k drawn from the printed seed.
    let k = seeded_pick(test_seed("kill_9_mid_lifecycle"), 0..40) as usize;
    let entries = net.journal().len();
    eprintln!("killing after {k} more journal entries (from {entries})");
    wait_for("k more journal entries", Duration::from_secs(60), || {
        net.journal().len() >= entries + k
    });
    child.kill().unwrap(); // SIGKILL while transactions are in flight; anvil keeps running
    child.wait().unwrap();
    net.ok(&["run", "--cycles", "150"]);
    let journal = net.journal();
    let d = net.deployment();
    let rt = runtime();
    let created_on_chain = rt.block_on(events::<JobRegistry::JobCreated>(
        &net.rpc(),
        &d,
        d.job_registry,
    ));
    let mut spec_hashes: Vec<_> = created_on_chain.iter().map(|e| e.specHash).collect();
    let total = spec_hashes.len();
    spec_hashes.sort();
    spec_hashes.dedup();
    assert_eq!(
        spec_hashes.len(),
        total,
        "an engine job was created twice on chain"
    );
    // Commits made before the crash were revealed after it: their salts came back from the journal.
    let committed: Vec<(u64, String)> = journal
        .iter()
        .filter(|e| e["kind"] == "done" && e["step"].as_str().unwrap().starts_with("commit:"))
        .map(|e| {
            (
                e["job"].as_u64().unwrap(),
                e["step"].as_str().unwrap()[7..].to_string(),
            )
        })
        .collect();
    let revealed: Vec<(u64, String)> = journal
        .iter()
        .filter(|e| e["kind"] == "done" && e["step"].as_str().unwrap().starts_with("reveal:"))
        .map(|e| {
            (
                e["job"].as_u64().unwrap(),
                e["step"].as_str().unwrap()[7..].to_string(),
            )
        })
        .collect();
    let finished: Vec<u64> = journal
        .iter()
        .filter(|e| e["step"].as_str().is_some_and(|s| s.starts_with("finish")))
        .map(|e| e["job"].as_u64().unwrap())
        .collect();
    assert!(!finished.is_empty());
    let revealed_share =
        committed.iter().filter(|c| revealed.contains(c)).count() as f64 / committed.len() as f64;
    assert!(
        revealed_share > 0.8,
        "only {revealed_share:.2} of on-chain commits were revealed"
    );
    assert!(
        committed.iter().any(|(job, _)| finished.contains(job)),
        "jobs with commits before the crash were finalized after it"
    );
}

async fn automine(rpc: &str) -> bool {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    provider.anvil_get_auto_mine().await.unwrap()
}

/// Blocks since `from` and the transactions in them.
async fn blocks_and_txs(rpc: &str, from: u64) -> (u64, u64) {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let head = provider.get_block_number().await.unwrap();
    let mut txs = 0;
    for n in from + 1..=head {
        let block = provider
            .get_block_by_number(n.into())
            .await
            .unwrap()
            .unwrap();
        txs += block.transactions.len() as u64;
    }
    (head - from, txs)
}

#[test]
fn a_run_mines_in_batches_and_gives_automine_back_even_after_kill_9() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    let rt = runtime();
    let lease = net.reports().join("devnet").join("miner.json");
    let deployed_at = net.deployment().deploy_block;
    assert!(
        rt.block_on(automine(&net.rpc())),
        "a fresh devnet automines"
    );

    let mut child = net.spawn(&["run"]);
    wait_for("jobs in flight on chain", Duration::from_secs(60), || {
        net.journal().iter().filter(|e| e["kind"] == "done").count() >= 10
    });
    assert!(
        !rt.block_on(automine(&net.rpc())),
        "the run builds the blocks"
    );
    assert!(lease.exists());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !rt.block_on(automine(&net.rpc())),
        "nobody gave it back yet"
    );
    net.ok(&["devnet", "up"]);
    assert!(
        rt.block_on(automine(&net.rpc())),
        "devnet up restores an orphaned devnet"
    );
    assert!(!lease.exists());

    net.ok(&["run", "--cycles", "60"]);
    assert!(
        rt.block_on(automine(&net.rpc())),
        "a run that ends gives it back"
    );
    let (blocks, txs) = rt.block_on(blocks_and_txs(&net.rpc(), deployed_at));
    assert!(
        blocks < txs,
        "{txs} transactions in {blocks} blocks: transactions sent together share a block"
    );
}

#[test]
fn a_transaction_left_in_the_pool_by_a_killed_run_is_mined_when_automine_comes_back() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    let rt = runtime();
    // What a run killed mid-send leaves behind: automine off, its lease, a transaction pending.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let lease = net.reports().join("devnet").join("miner.json");
    std::fs::write(&lease, format!("{{\"pid\":{dead_pid}}}")).unwrap();
    let hash = rt.block_on(async {
        use alloy::network::{EthereumWallet, TransactionBuilder};
        use alloy::rpc::types::TransactionRequest;
        let owner = Keys::devnet(0, 0).unwrap().owner;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(owner.clone()))
            .connect_http(net.rpc().parse().unwrap());
        provider.anvil_set_auto_mine(false).await.unwrap();
        let tx = TransactionRequest::default()
            .with_to(Address::with_last_byte(0x42))
            .with_value(U256::from(1));
        *provider.send_transaction(tx).await.unwrap().tx_hash()
    });
    let receipt = |h| {
        rt.block_on(async {
            let provider = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
            provider.get_transaction_receipt(h).await.unwrap()
        })
    };
    assert!(receipt(hash).is_none(), "pending while nobody mines");
    let status = net.ok(&["devnet", "status"]);
    assert!(status.contains("automine restored"), "{status}");
    assert!(receipt(hash).is_some(), "mined when automine came back");
    assert!(!lease.exists());
    assert!(rt.block_on(automine(&net.rpc())));
}
