//! Chain throughput: mirrored job lifecycles/s and tx/s against a raw baseline (an alloy loop of
//! plain transfers with pre-assigned nonces), measured against the same anvil in the same run.
//!
//!     cargo bench --bench chain            # BENCH_SECONDS=30 BENCH_RAW_TXS=2000 to change sizes
//!     OMEGA_BIN=path cargo bench --bench chain   # a binary built elsewhere
//!     BENCH_KEEP=1 cargo bench --bench chain     # keep the folder (anvil.log, run.log, reports)
//!     BENCH_LOG_LEVEL=omega::chain=debug ...     # Omega's log filter for the run (run.log)
//!
//! Needs `scripts/setup.sh` (anvil) and a release build of `omega` (the bench builds it first).

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use omega::chain::keys::Keys;
use omega::chain::miner::Miner;
use omega::chain::tx::connect;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

/// The mirror's workforce: three kinds of agents, this many of each (`BENCH_AGENTS`), the
/// validators (`BENCH_VALIDATORS`) and the jobs in flight at once (`BENCH_IN_FLIGHT`).
const AGENTS_PER_KIND: u64 = 6;
const VALIDATORS: u64 = 24;
const IN_FLIGHT: u64 = 256;

/// A plain transfer (the baseline the issue names).
fn transfer(_: u64) -> TransactionRequest {
    TransactionRequest::default()
        .with_to(Address::with_last_byte(0x42))
        .with_value(U256::from(1))
        .with_gas_limit(21_000)
}

/// `n` transactions `call(i)` from `key`, all sent with nonces assigned up front, then every
/// receipt awaited; returns transactions per second. With `miner`, each send pokes the block
/// builder.
async fn raw_loop(
    provider: &alloy::providers::DynProvider,
    key: &alloy::signers::local::PrivateKeySigner,
    n: u64,
    miner: Option<&Miner>,
    call: impl Fn(u64) -> TransactionRequest,
) -> eyre::Result<f64> {
    let wallet = EthereumWallet::from(key.clone());
    let from = key.address();
    let chain_id = provider.get_chain_id().await?;
    let nonce = provider.get_transaction_count(from).pending().await?;
    let price = provider.get_gas_price().await?;
    let start = Instant::now();
    let mut hashes = Vec::with_capacity(n as usize);
    for i in 0..n {
        let tx = call(i)
            .with_from(from)
            .with_nonce(nonce + i)
            .with_chain_id(chain_id)
            .with_max_fee_per_gas(price * 2 + 1)
            .with_max_priority_fee_per_gas(price.min(1_000_000_000));
        hashes.push(
            *provider
                .send_tx_envelope(tx.build(&wallet).await?)
                .await?
                .tx_hash(),
        );
        if let Some(m) = miner {
            m.poke();
        }
    }
    for h in &hashes {
        loop {
            match provider.get_transaction_receipt(*h).await? {
                Some(r) => {
                    eyre::ensure!(r.status(), "raw loop: {h} reverted");
                    break;
                }
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / ticks
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The baselines on the bench's anvil: tx/s of each raw loop and anvil's CPU per transaction.
struct Baselines {
    raw_tps: f64,
    built_tps: f64,
    calls_tps: f64,
    transfer_ms: f64,
    create_ms: f64,
}

/// What the mirror's run did, counted on chain and in its journal.
struct MirrorRun {
    elapsed: f64,
    txs: u64,
    blocks: u64,
    finalized: usize,
    /// anvil's and Omega's CPU over the timed window (before the drain), and that window.
    anvil_cpu: f64,
    omega_cpu: f64,
    cpu_window: f64,
    /// anvil's CPU over the whole run, drain included, in ms.
    anvil_cpu_ms_all: f64,
    /// The second and the last fifth of the timed window (the first holds the start-up).
    early: Window,
    late: Window,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let seconds = env("BENCH_SECONDS", 30);
    let raw_txs = env("BENCH_RAW_TXS", 2000);
    let agents_per_kind = env("BENCH_AGENTS", AGENTS_PER_KIND);
    let validators = env("BENCH_VALIDATORS", VALIDATORS);
    let in_flight = env("BENCH_IN_FLIGHT", IN_FLIGHT);
    // OMEGA_BIN: a binary built elsewhere (e.g. to compare two builds on the same devnet code).
    let bin = match std::env::var("OMEGA_BIN") {
        Ok(bin) => bin,
        Err(_) => {
            let status = Command::new("cargo")
                .args(["build", "--release", "--quiet"])
                .status()?;
            eyre::ensure!(status.success(), "cargo build --release failed");
            "target/release/omega".to_string()
        }
    };
    let bench = common::devnet(agents_per_kind as usize * 3, validators as usize).await?;
    let provider = connect(&bench.devnet.process.rpc_url)?;
    let base = baselines(&provider, &bench, raw_txs).await?;
    let config = bench.dir.path().join("config.json");
    write_config(&config, in_flight, agents_per_kind, validators)?;
    let run = run_mirror(&provider, &bench, &bin, &config, seconds).await?;
    report(&base, &run, raw_txs);
    let dir = bench.dir.path();
    let run_log = std::fs::read_to_string(dir.join("run.log"))?;
    for line in run_log.lines().filter(|l| l.contains("ERROR")) {
        println!("{line}");
    }
    let run_out = std::fs::read_to_string(dir.join("run.out"))?;
    // The run's closing summary: transactions sent, mined reverts, the per-step timings.
    for line in run_out
        .lines()
        .filter(|l| l.starts_with("chain (") || l.starts_with("chain steps"))
    {
        println!("\n{line}");
    }
    omega::chain::anvil::stop(&bench.paths)?;
    if std::env::var_os("BENCH_KEEP").is_some() {
        // The devnet's log (every RPC method anvil answered) and Omega's reports, to look into.
        println!("\nkept: {}", bench.dir.keep().display());
    }
    Ok(())
}

/// Raw baselines: the owner pipelines plain transfers with nonces assigned up front; first on
/// the devnet as anvil starts it (automine: one block per transaction), then with Omega's block
/// builder mining (what the mirror runs with); then the employer's `createJob` calls.
async fn baselines(
    provider: &alloy::providers::DynProvider,
    bench: &common::BenchDevnet,
    raw_txs: u64,
) -> eyre::Result<Baselines> {
    let keys = Keys::devnet(3, 5)?;
    let raw_tps = raw_loop(provider, &keys.owner, raw_txs, None, transfer).await?;
    let lease = bench.dir.path().join("bench-miner.json");
    let miner = Miner::start(provider.clone(), &lease).await?;
    // anvil's CPU per transaction of each loop: what a transaction of each kind costs the node.
    let pid = bench.devnet.process.pid;
    let cpu = cpu_seconds(pid);
    let built_tps = raw_loop(provider, &keys.owner, raw_txs, Some(&miner), transfer).await?;
    let transfer_ms = (cpu_seconds(pid) - cpu) * 1000.0 / raw_txs as f64;
    // What this anvil mines of a contract call the mirror sends (escrow, storage, an event)
    // rather than of a plain transfer.
    let registry = bench.devnet.deployment.job_registry;
    let create = |i: u64| {
        let call = omega::chain::bindings::JobRegistry::createJobCall {
            reward: U256::from(1_000_000_000_000_000_000u128),
            deadline: 4_000_000_000,
            specHash: alloy::primitives::keccak256(i.to_be_bytes()),
            uri: "bench".into(),
        };
        TransactionRequest::default()
            .with_to(registry)
            .with_input(alloy::sol_types::SolCall::abi_encode(&call))
            .with_gas_limit(600_000)
    };
    let cpu = cpu_seconds(pid);
    let calls_tps = raw_loop(provider, &keys.employer, raw_txs, Some(&miner), create).await?;
    let create_ms = (cpu_seconds(pid) - cpu) * 1000.0 / raw_txs as f64;
    miner.stop().await?;
    Ok(Baselines {
        raw_tps,
        built_tps,
        calls_tps,
        transfer_ms,
        create_ms,
    })
}

/// The mirror's configuration: the default one with the bench's workforce and jobs in flight.
fn write_config(
    path: &std::path::Path,
    in_flight: u64,
    agents_per_kind: u64,
    validators: u64,
) -> eyre::Result<()> {
    let mut cfg: serde_json::Value =
        serde_json::from_str(include_str!("../config/default_config.json"))?;
    cfg["cycle_seconds"] = 0.05.into();
    cfg["max_concurrent_jobs"] = in_flight.into();
    cfg["generator"]["rate_per_cycle"] = 16.into();
    cfg["generator"]["max_pending"] = in_flight.into();
    for a in cfg["agents"].as_array_mut().unwrap() {
        let validator = a["role"] == "validator";
        a["count"] = if validator {
            validators
        } else {
            agents_per_kind
        }
        .into();
        a["max_parallel_jobs"] = 16.into();
        a["energy_allowance"] = 1e9.into();
        a["compute_allowance"] = 1e9.into();
    }
    std::fs::write(path, serde_json::to_string(&cfg)?)?;
    Ok(())
}

/// The real orchestrator, many jobs in flight, for `seconds`; then SIGTERM and its drain.
async fn run_mirror(
    provider: &alloy::providers::DynProvider,
    bench: &common::BenchDevnet,
    bin: &str,
    config: &std::path::Path,
    seconds: u64,
) -> eyre::Result<MirrorRun> {
    let (dir, pid) = (bench.dir.path(), bench.devnet.process.pid);
    let first_block = provider.get_block_number().await?;
    let started = Instant::now();
    let anvil_cpu_start = cpu_seconds(pid);
    // BENCH_LOG_LEVEL: Omega's log filter for the run (its log is `run.log`, kept with BENCH_KEEP).
    let log_level = std::env::var("BENCH_LOG_LEVEL").unwrap_or_else(|_| "error".into());
    let port = bench.port.to_string();
    let mut child = Command::new(bin)
        .args(["run", "--status-every", "0", "--log-level", &log_level])
        .args(["--port", &port])
        .arg("--config")
        .arg(config)
        .arg("--reports")
        .arg(&bench.reports)
        .stdout(std::fs::File::create(dir.join("run.out"))?)
        .stderr(std::fs::File::create(dir.join("run.log"))?)
        .spawn()?;
    // The head at each fifth of the run: how long a block takes as the contracts' storage grows.
    let fifth = Duration::from_secs_f64(seconds as f64 / 5.0);
    let mut heads = vec![first_block];
    for _ in 0..5 {
        tokio::time::sleep(fifth).await;
        heads.push(provider.get_block_number().await?);
    }
    let omega_cpu = cpu_seconds(child.id());
    let anvil_cpu = cpu_seconds(pid) - anvil_cpu_start;
    let cpu_window = started.elapsed().as_secs_f64();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait()?;
    let elapsed = started.elapsed().as_secs_f64();
    let anvil_cpu_ms_all = (cpu_seconds(pid) - anvil_cpu_start) * 1000.0;
    let last_block = provider.get_block_number().await?;
    let per_block = transactions_per_block(provider, first_block + 1, last_block).await?;
    let txs = per_block.iter().sum();
    let fifth_ms = fifth.as_secs_f64() * 1000.0;
    let window = |i: usize| Window::of(&per_block, first_block, heads[i], heads[i + 1], fifth_ms);
    let journal =
        std::fs::read_to_string(bench.reports.join("chain/mirror.jsonl")).unwrap_or_default();
    let finalized = journal
        .lines()
        .filter(|l| l.contains("\"step\":\"finish"))
        .count();
    Ok(MirrorRun {
        elapsed,
        txs,
        blocks: last_block - first_block,
        finalized,
        anvil_cpu,
        omega_cpu,
        cpu_window,
        anvil_cpu_ms_all,
        early: window(1),
        late: window(4),
    })
}

/// How many transactions each block `from..=to` holds.
async fn transactions_per_block(
    provider: &alloy::providers::DynProvider,
    from: u64,
    to: u64,
) -> eyre::Result<Vec<u64>> {
    let mut out = Vec::new();
    for n in from..=to {
        let block = provider.get_block_by_number(n.into()).await?;
        out.push(block.map_or(0, |b| b.transactions.len() as u64));
    }
    Ok(out)
}

/// Blocks mined in one fifth of the run: ms per block and transactions per block.
struct Window {
    ms_per_block: f64,
    txs_per_block: f64,
}

impl Window {
    /// The blocks after `start` up to `end`; `per_block[0]` is block `first + 1`.
    fn of(per_block: &[u64], first: u64, start: u64, end: u64, ms: f64) -> Window {
        let blocks = end.saturating_sub(start).max(1);
        let skip = start.saturating_sub(first) as usize;
        let txs: u64 = per_block.iter().skip(skip).take(blocks as usize).sum();
        Window {
            ms_per_block: ms / blocks as f64,
            txs_per_block: txs as f64 / blocks as f64,
        }
    }
}

/// The figures, as a Markdown table.
fn report(b: &Baselines, m: &MirrorRun, raw_txs: u64) {
    let mirror_tps = m.txs as f64 / m.elapsed;
    let per_tx = |x: f64| x / m.txs.max(1) as f64;
    println!("| measure | value |\n|---|---:|");
    println!("| raw baseline: transfers | {raw_txs} |");
    println!("| raw baseline: tx/s | {:.0} |", b.raw_tps);
    println!(
        "| raw loop with the block builder: tx/s | {:.0} |",
        b.built_tps
    );
    println!(
        "| raw createJob loop with the block builder: tx/s | {:.0} |",
        b.calls_tps
    );
    println!("| mirror: run time s (incl. drain) | {:.1} |", m.elapsed);
    println!("| mirror: transactions | {} |", m.txs);
    println!(
        "| mirror: blocks, transactions per block | {}, {:.1} |",
        m.blocks,
        m.txs as f64 / m.blocks.max(1) as f64
    );
    println!(
        "| mirror, 2nd / last fifth of the run: ms per block; transactions per block | {:.0} / {:.0}; {:.1} / {:.1} |",
        m.early.ms_per_block, m.late.ms_per_block, m.early.txs_per_block, m.late.txs_per_block
    );
    println!(
        "| mirror: lifecycles finalized on chain | {} |",
        m.finalized
    );
    println!(
        "| mirror: lifecycles/s | {:.2} |",
        m.finalized as f64 / m.elapsed
    );
    println!("| mirror: tx/s | {mirror_tps:.1} |");
    println!("| mirror tx/s ÷ raw tx/s | {:.3} |", mirror_tps / b.raw_tps);
    println!(
        "| mirror tx/s ÷ raw tx/s with the block builder | {:.3} |",
        mirror_tps / b.built_tps
    );
    println!(
        "| mirror tx/s ÷ raw createJob tx/s with the block builder | {:.3} |",
        mirror_tps / b.calls_tps
    );
    println!(
        "| anvil CPU per transaction, ms: transfer / `createJob` / mirror | {:.2} / {:.2} / {:.2} |",
        b.transfer_ms,
        b.create_ms,
        per_tx(m.anvil_cpu_ms_all)
    );
    // Two cores here: how much of them anvil and Omega used while the mirror ran.
    println!(
        "| CPU while mirroring, anvil / omega (cores) | {:.2} / {:.2} |",
        m.anvil_cpu / m.cpu_window,
        m.omega_cpu / m.cpu_window
    );
}
