//! `omega serve`: the status API and dashboard over an existing reports folder, without running
//! the orchestrator. The checkpoint is re-read when its hash changes and new lines of the JSON
//! log are streamed as events, so it follows a run going on in another process.

use super::ConfigArgs;
use crate::chain::anvil::{DevnetPaths, running};
use crate::http::{ChainSource, Feed, HttpArgs, HttpContext, StreamEvent};
use crate::persistence::telemetry;
use clap::Args;
use eyre::Result;
use std::io::{BufRead, Seek};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

const DEFAULT_ADDR: &str = "127.0.0.1:8080";

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub files: ConfigArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    /// Seconds between re-reads of the checkpoint and the log.
    #[arg(long, env = "OMEGA_REFRESH", default_value_t = 1.0)]
    pub refresh: f64,
    /// JSON-RPC URL for the attestation status (default: the devnet of this reports folder).
    #[arg(long, env = "OMEGA_RPC_URL")]
    pub rpc_url: Option<String>,
    /// Deployment manifest (default: the devnet's, `<reports>/devnet/deployments.json`).
    #[arg(long, env = "OMEGA_DEPLOYMENTS")]
    pub deployments: Option<PathBuf>,
}

pub fn execute(args: ServeArgs) -> Result<()> {
    let (config, paths) = args.files.load()?;
    if !(args.refresh > 0.0 && args.refresh.is_finite()) {
        eyre::bail!("--refresh must be a positive number of seconds");
    }
    let Some(initial) = crate::http::view_from_checkpoint(&paths)? else {
        eyre::bail!(
            "no checkpoint at {}: run the orchestrator once first (omega run)",
            paths.state.display()
        );
    };
    let addr: SocketAddr = args.http.http.unwrap_or(DEFAULT_ADDR.parse()?);
    let devnet = DevnetPaths::new(&paths.dir);
    // Public addresses for the pending-transaction figures: the devnet's, or the keys in the
    // environment for another chain (none when they are not set).
    let (agents, validators) = super::devnet::workforce(&config);
    if let Some(url) = &args.rpc_url {
        crate::chain::redact::register(url);
    }
    let keys = match args.rpc_url {
        Some(_) => crate::chain::keys::Keys::from_env(agents, validators),
        None => crate::chain::keys::Keys::devnet(agents, validators),
    };
    let chain = ChainSource {
        transactions: None,
        signers: keys
            .map(|k| super::chain_opts::signers(&config, &k))
            .unwrap_or_default(),
        mode: if args.rpc_url.is_some() {
            "rpc"
        } else {
            "devnet"
        },
        manifest: args.deployments.clone().or(Some(devnet.manifest.clone())),
        rpc_url: args
            .rpc_url
            .clone()
            .or_else(|| running(&devnet).map(|p| p.rpc_url)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Caught before the API answers, so a SIGTERM right after the first answer ends cleanly.
        let stop = Stop::install()?;
        let listener = crate::http::bind(addr, args.http.http_public).await?;
        let (mut feed, ctx) = HttpContext::new(initial, paths.clone(), chain, "serve");
        feed.seed_history(history(&paths.telemetry));
        crate::http::spawn(listener, ctx)?;
        follow(feed, paths, Duration::from_secs_f64(args.refresh), stop).await
    })
}

/// Re-reads the checkpoint when it changed and streams new log lines, until Ctrl-C or SIGTERM.
async fn follow(
    mut feed: Feed,
    paths: crate::config::ReportPaths,
    every: Duration,
    mut stop: Stop,
) -> Result<()> {
    let mut log = LogTail::open(&paths.log);
    let mut last_hash = crate::http::checkpoint_hash_on_disk(&paths);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.int.recv() => return Ok(()),
            _ = stop.term.recv() => return Ok(()),
        }
        let hash = crate::http::checkpoint_hash_on_disk(&paths);
        if hash.is_some() && hash != last_hash {
            match crate::http::view_from_checkpoint(&paths) {
                Ok(Some(view)) => {
                    last_hash = hash;
                    feed.publish(view);
                }
                Ok(None) => {}
                // Caught mid-rename or damaged: keep the last good view and try again.
                Err(e) => tracing::warn!("checkpoint not re-read: {e:#}"),
            }
        }
        log.forward(&feed.events());
    }
}

/// The telemetry file's price history, as chart points.
fn history(path: &std::path::Path) -> Vec<crate::http::HistoryPoint> {
    #[derive(serde::Deserialize)]
    struct File {
        history: Vec<telemetry::Sample>,
    }
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<File>(&b).ok())
        .map(|f| f.history)
        .unwrap_or_default()
        .into_iter()
        .map(|s| crate::http::HistoryPoint {
            cycle: s.cycle,
            time_ms: s.time_ms,
            token_per_energy: s.token_per_energy,
            token_per_compute: s.token_per_compute,
            utilisation: s.utilisation,
        })
        .collect()
}

/// Follows the JSON-lines log from its current end; each complete new line becomes an event.
struct LogTail {
    path: PathBuf,
    offset: u64,
}

impl LogTail {
    fn open(path: &std::path::Path) -> LogTail {
        let offset = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        LogTail {
            path: path.to_path_buf(),
            offset,
        }
    }

    fn forward(&mut self, events: &tokio::sync::broadcast::Sender<StreamEvent>) {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            self.offset = 0; // the log was replaced
        }
        if file.seek(std::io::SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut reader = std::io::BufReader::new(file);
        let mut line = String::new();
        // Only whole lines: a line still being written is read on the next round.
        while reader.read_line(&mut line).unwrap_or(0) > 0 && line.ends_with('\n') {
            self.offset += line.len() as u64;
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                let name = v["message"].as_str().unwrap_or("log").to_string();
                let doc = serde_json::json!({"event": name, "time": v["timestamp"], "data": v["context"]});
                let _ = events.send(StreamEvent {
                    name: name.into(),
                    json: doc.to_string().into(),
                });
            }
            line.clear();
        }
    }
}

/// SIGTERM and SIGINT, caught from the moment `install` returns.
struct Stop {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Stop {
    fn install() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}
