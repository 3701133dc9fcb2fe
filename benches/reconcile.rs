//! Indexing and reconciliation at scale: an employer posts N jobs on a fresh devnet (raw
//! `createJob` transactions with pre-assigned nonces), then a fresh indexer reads every event from
//! the deploy block and the engine side (N mirrored jobs, mapping from a mirror journal) is diffed
//! with the chain view.
//!
//!     cargo bench --bench reconcile        # BENCH_JOBS=10000 by default
//!
//! Needs `scripts/setup.sh` (anvil).

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{B256, U256, keccak256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use omega::chain::bindings::{AGIALPHA, JobRegistry};
use omega::chain::indexer::{Indexer, IndexerSettings, RpcSource};
use omega::chain::journal::{Entry, Journal};
use omega::chain::keys::Keys;
use omega::chain::reconcile::{EngineJob, EngineSide, reconcile};
use omega::chain::tx::connect;
use omega::domain::job::JobStatus;
use std::time::{Duration, Instant};

mod common;

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let jobs: u64 = std::env::var("BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let common::BenchDevnet {
        dir, paths, devnet, ..
    } = common::devnet(3, 5).await?;
    let d = devnet.deployment.clone();
    let provider = connect(&devnet.process.rpc_url)?;
    let employer = Keys::devnet(3, 5)?.employer;
    let wallet = EthereumWallet::from(employer.clone());
    let from = employer.address();
    let chain_id = provider.get_chain_id().await?;
    let price = provider.get_gas_price().await?;
    let nonce = provider.get_transaction_count(from).pending().await?;
    let now = provider
        .get_block_by_number(Default::default())
        .await?
        .map(|b| b.header.timestamp)
        .unwrap_or_default();
    let tx = |to, data: Vec<u8>, nonce, gas| {
        TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(data)
            .with_nonce(nonce)
            .with_chain_id(chain_id)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(price * 2 + 1)
            .with_max_priority_fee_per_gas(price.min(1_000_000_000))
    };
    let approve = AGIALPHA::approveCall {
        spender: d.stake_manager,
        value: U256::MAX,
    };
    let mut hashes = vec![
        *provider
            .send_tx_envelope(
                tx(d.token, approve.abi_encode(), nonce, 100_000)
                    .build(&wallet)
                    .await?,
            )
            .await?
            .tx_hash(),
    ];
    // Many transactions per block: automine would mine one block per transaction.
    provider.anvil_set_auto_mine(false).await?;
    let posting = Instant::now();
    for i in 0..jobs {
        let create = JobRegistry::createJobCall {
            reward: U256::from(1_000_000u64),
            deadline: now + 86_400,
            specHash: keccak256(i.to_be_bytes()),
            uri: String::new(),
        };
        let t = tx(d.job_registry, create.abi_encode(), nonce + 1 + i, 400_000);
        hashes.push(
            *provider
                .send_tx_envelope(t.build(&wallet).await?)
                .await?
                .tx_hash(),
        );
    }
    let last = *hashes.last().expect("sent");
    let receipt = loop {
        provider.evm_mine(None).await?;
        if let Some(r) = provider.get_transaction_receipt(last).await? {
            break r;
        }
    };
    provider.anvil_set_auto_mine(true).await?;
    eyre::ensure!(receipt.status(), "the last createJob reverted");
    let posting = posting.elapsed();

    // Index everything from the deploy block with a fresh cursor.
    let source = RpcSource::connect(&devnet.process.rpc_url)?;
    let mut indexer = Indexer::open(&d, IndexerSettings::new(dir.path(), 0))?;
    let started = Instant::now();
    let events = indexer.sync(&source).await?;
    let indexing = started.elapsed();

    // The engine side: N mirrored jobs, their ids from a mirror journal on disk.
    let journal_path = dir.path().join("mirror.jsonl");
    {
        let (mut journal, _) = Journal::open(&journal_path)?;
        journal.record(&Entry::Header {
            registry: d.job_registry,
            run_id: B256::ZERO,
            first_job: 1,
        })?;
        for i in 1..=jobs {
            journal.record(&Entry::Created {
                job: i,
                onchain: U256::from(i),
            })?;
        }
    }
    let started = Instant::now();
    let mut engine = EngineSide {
        first_job: 1,
        ..Default::default()
    };
    for i in 1..=jobs {
        let job = EngineJob {
            status: JobStatus::Pending,
            adopted_from: None,
        };
        engine.jobs.insert(i, job);
    }
    let (_, entries) = Journal::open(&journal_path)?;
    engine.read_mirror_journal(&entries);
    let loading = started.elapsed();
    let started = Instant::now();
    let report = reconcile(&engine, indexer.view());
    let diffing = started.elapsed();
    eyre::ensure!(
        report.clean(),
        "drift: {:?}",
        &report.drift[..report.drift.len().min(5)]
    );

    let secs = |d: Duration| d.as_secs_f64();
    println!("| measure | value |\n|---|---:|");
    println!("| jobs posted on chain | {jobs} |");
    println!("| posting: tx/s | {:.0} |", jobs as f64 / secs(posting));
    println!(
        "| blocks indexed | {} |",
        indexer.state.block - d.deploy_block + 1
    );
    println!("| events indexed | {events} |");
    println!("| indexing: s | {:.2} |", secs(indexing));
    println!(
        "| indexing: events/s | {:.0} |",
        events as f64 / secs(indexing)
    );
    println!("| reconcile: load engine side s | {:.3} |", secs(loading));
    println!("| reconcile: diff s | {:.3} |", secs(diffing));
    println!(
        "| reconcile {jobs} jobs, total incl. indexing s | {:.2} |",
        secs(indexing + loading + diffing)
    );
    omega::chain::anvil::stop(&paths)?;
    Ok(())
}
