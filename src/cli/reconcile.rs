//! `omega reconcile [--json] [--repair]`: the chain view built from events against the latest
//! checkpoint; exit 0 only when nothing drifts.

use super::ConfigArgs;
use super::chain_opts::IndexerArgs;
use super::target::TargetArgs;
use crate::chain::indexer::{Indexer, RpcSource};
use crate::chain::reconcile::{EngineSide, Report, Side, reconcile, stall_candidates, stalled};
use crate::chain::view::ChainView;
use crate::config::ReportPaths;
use crate::persistence::control;
use clap::Args;
use eyre::{Result, WrapErr};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub files: ConfigArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub indexer: IndexerArgs,
    /// Print the report (and the on-chain view's totals) as JSON.
    #[arg(long, env = "OMEGA_JSON")]
    pub json: bool,
    /// Adopt chain-ahead facts (the pause flag, jobs of other employers) and drive off-chain-ahead
    /// ones through the mirror (one engine cycle with the chain attached, whose mirror also sends
    /// again every step a reorg took from the chain), then check again.
    #[arg(long, env = "OMEGA_REPAIR")]
    pub repair: bool,
}

pub fn execute(a: ReconcileArgs) -> Result<()> {
    if a.json {
        super::progress::hide();
    }
    let (_, paths) = a.files.load()?;
    let target = a.target.require(&paths.dir)?;
    let (rpc, d) = (target.rpc_url, target.deployment);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let devnet = a.target.rpc_url.is_none();
    let settings = a.indexer.settings(&paths.dir, devnet);
    let check = || {
        runtime.block_on(async {
            let mut indexer = Indexer::open(&d, settings.clone())?;
            let source = RpcSource::connect(&rpc)?;
            let started = Instant::now();
            let mut bar = super::progress::BackfillBar::default();
            let indexed = indexer
                .sync_with(&source, &mut |b| bar.update(b))
                .await
                .wrap_err_with(|| format!("indexing {}", crate::chain::redact::redact_url(&rpc)))?;
            drop(bar);
            let engine = EngineSide::load(&paths.state, &paths.archive, &paths.dir.join("chain"))?;
            // Every chain job, the archived final ones too.
            let view = indexer.full_view()?;
            let mut report = reconcile(&engine, &view);
            let candidates = stall_candidates(&engine, &view);
            let provider = crate::chain::tx::connect(&rpc)?;
            let clock = crate::chain::stall_clock::read(&provider, &d, &candidates)
                .await
                .wrap_err("reading the chain's clock for the stalled check")?;
            stalled(&mut report, &engine, &view, &clock);
            Ok::<_, eyre::Report>((report, indexer, view, indexed, started.elapsed()))
        })
    };
    let (mut report, mut indexer, mut view, indexed, took) = check()?;
    if a.repair && !report.clean() {
        repair(&a, &paths, &report)?;
        (report, indexer, view, _, _) = check()?;
    }
    if a.json {
        let out = serde_json::json!({
            "report": report,
            "cursor": {"block": indexer.state.block, "hash": indexer.state.hash, "head": indexer.state.head},
            "reorgs": indexer.state.reorgs,
            "events": indexer.state.events,
            "chain": {
                "jobs": view.jobs.len(),
                "paused": view.any_paused(),
                "stakes": view.stakes,
                "slashes": view.slashes,
                "slashed": view.slashed,
                "params": view.params,
                "attestations": view.attestations,
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&report, &indexer, &view, indexed, took);
    }
    if !report.clean() {
        eyre::bail!(
            "{} item(s) drift between the checkpoint and the chain{}",
            report.drift.len(),
            if a.repair {
                ""
            } else {
                " (omega reconcile --repair fixes what it can)"
            }
        );
    }
    Ok(())
}

fn print_table(
    report: &Report,
    indexer: &Indexer,
    v: &ChainView,
    indexed: u64,
    took: std::time::Duration,
) {
    let s = &indexer.state;
    println!(
        "chain: cursor block {} (head {}), {} events ({} new, indexed in {took:.2?}), {} reorg(s) seen",
        s.block, s.head, s.events, indexed, s.reorgs
    );
    println!(
        "on chain: {} jobs, paused: {}, {} slashes, {} attestation(s)",
        v.jobs.len(),
        v.any_paused(),
        v.slashes,
        v.attestations.len()
    );
    println!(
        "engine: {} mirrored jobs checked, {} in sync",
        report.jobs_checked, report.in_sync
    );
    if report.clean() {
        println!("no drift");
        return;
    }
    println!(
        "{:<22} {:<16} {:<22} ON CHAIN",
        "SUBJECT", "SIDE", "OFF CHAIN"
    );
    for d in &report.drift {
        let side = match d.side {
            Side::OffChainAhead => "off-chain ahead",
            Side::ChainAhead => "chain ahead",
            Side::Conflict => "CONFLICT",
            Side::Stalled => "STALLED",
        };
        println!(
            "{:<22} {side:<16} {:<22} {}",
            d.subject, d.offchain, d.onchain
        );
    }
}

/// Pause drift is adopted through the control file (the chain is the authority on pause); the
/// rest goes through one engine cycle with the chain attached: its start-up reconciliation adopts
/// other employers' jobs and the mirror's recovery and drain send what the engine is ahead with.
fn repair(a: &ReconcileArgs, paths: &ReportPaths, report: &Report) -> Result<()> {
    if let Some(p) = report.drift.iter().find(|d| d.subject == "pause") {
        let paused = p.onchain == "true";
        control::request(&paths.control, paused, "reconcile")?;
        println!(
            "repair: engine {} to match the chain",
            if paused { "paused" } else { "resumed" }
        );
    }
    if report.drift.iter().all(|d| d.subject == "pause") {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["run", "--cycles", "1", "--status-every", "0", "--config"])
        .arg(&a.files.config)
        .arg("--reports")
        .arg(&paths.dir);
    if let (Some(url), Some(manifest)) = (&a.target.rpc_url, &a.target.deployments) {
        cmd.args(["--rpc-url", url])
            .arg("--deployments")
            .arg(manifest);
    }
    println!("repair: one engine cycle with the chain attached");
    let status = cmd.status().wrap_err("starting omega run for the repair")?;
    if !status.success() {
        eyre::bail!("the repair run failed ({status}); see its output above");
    }
    Ok(())
}
