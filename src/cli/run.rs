//! `omega run`: the orchestrator.

use super::{ConfigArgs, LogFormat};
use crate::engine::orchestrator::{ProgressHook, live_counts};
use crate::engine::{Orchestrator, RunOptions};
use crate::persistence::pidfile;
use clap::Args;
use eyre::{Result, WrapErr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub files: ConfigArgs,
    /// Run exactly this many cycles, then checkpoint and exit (default: until stopped).
    #[arg(long, env = "OMEGA_CYCLES")]
    pub cycles: Option<u64>,
    /// Seed for a fresh state; with --fast the same seed gives the same checkpoint.
    #[arg(long, env = "OMEGA_SEED")]
    pub seed: Option<u64>,
    /// Virtual time: cycles run back to back without sleeping.
    #[arg(long, env = "OMEGA_FAST")]
    pub fast: bool,
    /// Stop once this many jobs have been settled (completed, failed or cancelled) in total.
    #[arg(long, env = "OMEGA_STOP_AFTER_JOBS")]
    pub stop_after_jobs: Option<u64>,
    /// Resume from the backup checkpoint (`orchestrator_state.json.bak`).
    #[arg(long, env = "OMEGA_FROM_BACKUP")]
    pub from_backup: bool,
    /// Seconds between status lines on the console (0: none).
    #[arg(long, env = "OMEGA_STATUS_EVERY", default_value_t = 5.0)]
    pub status_every: f64,
    /// Print the final summary as JSON on stdout.
    #[arg(long, env = "OMEGA_JSON")]
    pub json: bool,
    #[command(flatten)]
    pub chain: super::chain_opts::ChainArgs,
    #[command(flatten)]
    pub http: crate::http::HttpArgs,
}

pub fn execute(args: RunArgs, _format: LogFormat) -> Result<()> {
    if args.json {
        super::progress::hide();
    }
    let (mut config, paths) = args.files.load()?;
    args.chain.check()?;
    if let Some(addr) = args.http.http {
        crate::http::check_bind(addr, args.http.http_public)?;
    }
    std::fs::create_dir_all(&paths.dir)?;
    let _claim = pidfile::claim(&paths.lock).map_err(|e| eyre::eyre!(e))?;
    // The cycle runs on this thread (`block_on`), so the agents, the chain I/O and the HTTP
    // server get the other cores: one more worker than that only makes them take turns with
    // the cycle, which then waits longer for each agent's reply (BENCHMARKS.md).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.saturating_sub(1).max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Caught from the start: a SIGTERM that comes as soon as the status API answers still
        // ends the run with its checkpoint, not with the default action.
        let stop = watch_signals()?;
        // Bound before anything starts, so a busy port fails fast.
        let listener = match args.http.http {
            Some(addr) => Some(crate::http::bind(addr, args.http.http_public).await?),
            None => None,
        };
        // External agents' cards are checked before anything starts: a bad one stops here.
        super::external::resolve_cards(&mut config).await?;
        let chain = super::external::with_result_uri(&args.chain, listener.as_ref())?;
        let mut orchestrator = Orchestrator::open(&config, paths.clone(), run_options(&args))?;
        super::external::attach(&config, &paths, &mut orchestrator);
        let attached = chain.attach(&config, &paths, &mut orchestrator).await?;
        let (miner, transactions) = match attached {
            Some(a) => (a.miner, Some(a.transactions)),
            None => (None, None),
        };
        let mut hooks: Vec<ProgressHook> = Vec::new();
        if args.status_every > 0.0 {
            hooks.push(status_line(
                Duration::from_secs_f64(args.status_every),
                args.cycles,
            ));
        }
        if let Some(listener) = listener {
            let mut source = chain.source(&config, &paths);
            source.transactions = transactions;
            let a2a = (workforce_skills(&config), args.http.a2a_public_reads);
            hooks.push(serve_http(
                listener,
                source,
                &paths,
                &mut orchestrator,
                a2a,
            )?);
        }
        // Only a shown bar gets a hook: a run without a terminal keeps its hooks as they were.
        let bar = args.cycles.map(|n| super::progress::bar(n, "cycles"));
        let bar = bar.filter(|b| !b.is_hidden());
        if let Some(bar) = &bar {
            hooks.push(cycle_bar(bar.clone(), orchestrator.world().state.cycle));
        }
        if !hooks.is_empty() {
            orchestrator.on_progress(Box::new(move |world| {
                hooks.iter_mut().for_each(|h| h(world))
            }));
        }
        let summary = orchestrator.run(stop).await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if let Some(miner) = miner {
            miner
                .stop()
                .await
                .wrap_err("giving the devnet its automine back")?;
        }
        let summary = summary?;
        print_summary(&summary, args.json)?;
        if !summary.ledger_balanced {
            eyre::bail!(
                "the ledger invariant does not hold; the checkpoint was kept for inspection"
            );
        }
        Ok(())
    })
}

fn run_options(args: &RunArgs) -> RunOptions {
    RunOptions {
        cycles: args.cycles,
        fast: args.fast,
        seed: args.seed,
        from_backup: args.from_backup,
        config_path: args.files.config.clone(),
        stop_after_jobs: args.stop_after_jobs,
    }
}

fn print_summary(summary: &crate::engine::RunSummary, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
        return Ok(());
    }
    println!(
        "ran {} cycles (now at cycle {}): {} jobs posted, {} completed, {} failed, {} cancelled, {} live; ledger {}; paused: {}\ncheckpoint {} ({})",
        summary.cycles_run,
        summary.cycle,
        summary.posted,
        summary.completed,
        summary.failed,
        summary.cancelled,
        summary.active_jobs,
        if summary.ledger_balanced {
            "balanced"
        } else {
            "NOT BALANCED"
        },
        summary.paused,
        summary.checkpoint,
        summary.checkpoint_hash,
    );
    for line in &summary.sinks {
        println!("{line}");
    }
    Ok(())
}

/// Starts the status API on `listener`: an "http" event sink feeds the event stream and the
/// returned hook publishes the world after every cycle. The A2A agent (`a2a`: the workforce's
/// skills and whether task reads are public) posts jobs through an input source and learns
/// their ids from an event sink.
fn serve_http(
    listener: tokio::net::TcpListener,
    source: crate::http::ChainSource,
    paths: &crate::config::ReportPaths,
    orchestrator: &mut Orchestrator,
    (skills, public_reads): (Vec<String>, bool),
) -> Result<ProgressHook> {
    use crate::http::a2a::{A2aService, A2aSink, A2aSource, SharedBook};
    use crate::http::{HttpContext, HttpSink, View};
    let initial = View::new(orchestrator.world().state.clone(), None);
    let (feed, mut ctx) = HttpContext::new(initial, paths.clone(), source, "live");
    orchestrator.add_sink(Box::new(HttpSink::new(feed.events())));
    let book = SharedBook::default();
    orchestrator.add_source(Box::new(A2aSource(book.clone())));
    orchestrator.add_sink(Box::new(A2aSink(book.clone())));
    ctx.a2a = Some(A2aService {
        book,
        skills,
        public_reads,
    });
    crate::http::spawn(listener, ctx)?;
    Ok(feed.progress_hook())
}

/// Every skill some agent has, sorted, once each.
fn workforce_skills(config: &crate::config::Config) -> Vec<String> {
    let mut skills: Vec<String> = (config.world_setup().profiles().into_iter())
        .flat_map(|p| p.skills)
        .collect();
    skills.sort();
    skills.dedup();
    skills
}

/// SIGINT and SIGTERM stop the loop; the run then writes its final checkpoint. The handlers are
/// installed before this returns.
fn watch_signals() -> Result<Arc<AtomicBool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stop requested: finishing the cycle and writing the checkpoint");
        flag.store(true, Ordering::Relaxed);
    });
    Ok(stop)
}

/// Moves the bar to the cycles this run has done.
fn cycle_bar(bar: indicatif::ProgressBar, first: u64) -> ProgressHook {
    Box::new(move |world| bar.set_position(world.state.cycle.saturating_sub(first)))
}

fn status_line(every: Duration, total: Option<u64>) -> ProgressHook {
    let mut last = Instant::now();
    Box::new(move |world| {
        if last.elapsed() < every {
            return;
        }
        last = Instant::now();
        let s = &world.state;
        let live: Vec<String> = live_counts(world)
            .into_iter()
            .filter(|(st, n)| *n > 0 && !st.is_terminal())
            .map(|(st, n)| format!("{} {n}", st.name()))
            .collect();
        let of = total.map(|t| format!("/{t}")).unwrap_or_default();
        tracing::info!(
            "cycle {}{of} | {} | completed {} failed {} cancelled {} | energy price {:.4} compute price {:.4}{}",
            s.cycle,
            if live.is_empty() {
                "no live jobs".to_string()
            } else {
                live.join(", ")
            },
            s.counters.completed,
            s.counters.failed,
            s.counters.cancelled,
            s.resources.token_per_energy,
            s.resources.token_per_compute,
            if s.paused { " | PAUSED" } else { "" },
        );
    })
}
