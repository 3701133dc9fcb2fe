//! The local devnet: finding anvil, starting it detached with its chain state persisted under
//! `reports/devnet/`, and stopping only the process we started.

use crate::persistence::atomic::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const DEFAULT_PORT: u16 = 8545;

/// Wall-clock seconds (a floor for chain time before the first block is read).
pub fn wall_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
pub const CHAIN_ID: u64 = 31337;

/// Block states anvil keeps (older ones are dropped, not written to disk). Fewer states, somewhat
/// less memory: after 8,000 blocks of contract creations anvil held 1,163–1,195 MB with 256 and
/// 806–973 MB with 64 (`scripts/bench-anvil-memory.py`; most of the growth is per block and
/// stays). Nothing reads old states: `anvil_reorg` goes at most 10 blocks back, and the
/// indexer's reorg window (64) compares block hashes, which anvil keeps.
pub const PRUNED_STATES: u32 = 64;

/// The devnet's hardfork: the `evm_version` the contracts are compiled for.
pub const HARDFORK: &str = "cancun";

/// Files of the devnet, all in `<reports>/devnet/`.
#[derive(Clone, Debug)]
pub struct DevnetPaths {
    pub dir: PathBuf,
    /// Which `omega run` mines the devnet on demand (see `chain::miner`).
    pub miner: PathBuf,
    pub process: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
    pub manifest: PathBuf,
    pub env: PathBuf,
}

impl DevnetPaths {
    pub fn new(reports: &Path) -> DevnetPaths {
        let dir = reports.join("devnet");
        DevnetPaths {
            process: dir.join("anvil.json"),
            miner: dir.join("miner.json"),
            state: dir.join("chain-state.json"),
            log: dir.join("anvil.log"),
            manifest: dir.join("deployments.json"),
            env: dir.join("gateway.env"),
            dir,
        }
    }
}

/// What `up` recorded about the process it started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnvilProcess {
    pub pid: u32,
    pub port: u16,
    pub rpc_url: String,
    pub binary: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum AnvilError {
    #[error(
        "anvil not found. Install it with `scripts/setup.sh` (npm @foundry-rs/anvil into node_modules/), \
         or point --anvil / OMEGA_ANVIL at an anvil binary"
    )]
    NotFound,
    #[error("anvil at {0} is not executable")]
    NotExecutable(PathBuf),
    #[error("cannot start anvil: {0}")]
    Spawn(std::io::Error),
    #[error("anvil did not answer on {url} within {secs} s; see {log}")]
    NoAnswer { url: String, secs: u64, log: String },
    #[error("port {0} is already in use by another program; choose another with --port")]
    PortBusy(u16),
    #[error("devnet files: {0}")]
    Io(#[from] std::io::Error),
}

/// `--anvil`/`OMEGA_ANVIL`, then the project's node_modules, then `PATH`.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, AnvilError> {
    if let Some(p) = explicit {
        return if is_executable(p) {
            Ok(p.to_path_buf())
        } else {
            Err(AnvilError::NotExecutable(p.to_path_buf()))
        };
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for base in [
        std::env::current_dir().unwrap_or_default(),
        root.to_path_buf(),
    ] {
        let dir = base.join("node_modules/@foundry-rs");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let candidate = e.path().join("bin/anvil");
                if e.file_name().to_string_lossy().starts_with("anvil-")
                    && is_executable(&candidate)
                {
                    return Ok(candidate);
                }
            }
        }
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("anvil"))
                .find(|p| is_executable(p))
        })
        .ok_or(AnvilError::NotFound)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The recorded devnet process, if it is still alive and still anvil.
pub fn running(paths: &DevnetPaths) -> Option<AnvilProcess> {
    let bytes = std::fs::read(&paths.process).ok()?;
    let p: AnvilProcess = serde_json::from_slice(&bytes).ok()?;
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", p.pid)).ok()?;
    String::from_utf8_lossy(&cmdline)
        .contains("anvil")
        .then_some(p)
}

/// Starts anvil detached (it outlives this process), loading and periodically saving its chain
/// state, and waits until it answers.
pub async fn start(
    binary: &Path,
    paths: &DevnetPaths,
    port: u16,
    accounts: u32,
) -> Result<AnvilProcess, AnvilError> {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(&paths.dir)?;
    if port != 0 && std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        return Err(AnvilError::PortBusy(port));
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)?;
    let log_start = log.metadata()?.len();
    let mut child = Command::new(binary)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--chain-id",
            &CHAIN_ID.to_string(),
        ])
        .args([
            "--accounts",
            &accounts.max(10).to_string(),
            "--balance",
            "1000000",
        ])
        .arg("--state")
        .arg(&paths.state)
        .args(["--state-interval", "2"])
        // By default anvil writes every block's state to ~/.foundry/anvil/tmp and never removes it
        // when killed: gigabytes per few thousand blocks, a full disk within a day. Keep the
        // states of the latest blocks in memory only (enough for the indexer's reorg window and
        // `anvil_reorg`; blocks, receipts and logs are all kept).
        .args(["--prune-history", &PRUNED_STATES.to_string()])
        // Room for hundreds of transactions per block (see `chain::miner`).
        .args(["--gas-limit", "300000000"])
        // The EVM our contracts are compiled for (`contracts/foundry.toml`). Not anvil's default
        // Prague: its block-hash history contract (EIP-2935) gains a storage slot per block and
        // anvil 1.7 hashes the whole state trie anew for each block, so a block's cost grew with
        // the chain (measured: 0.8 ms at block 500, 8.6 ms at 5,000, flat at 0.5 ms on Cancun).
        .args(["--hardfork", HARDFORK])
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .process_group(0) // not in our process group: Ctrl-C on omega leaves the devnet running
        .spawn()
        .map_err(AnvilError::Spawn)?;
    let port = match port {
        0 => bound_port(&mut child, &paths.log, log_start)?,
        _ => port,
    };
    let process = AnvilProcess {
        pid: child.id(),
        port,
        rpc_url: format!("http://127.0.0.1:{port}"),
        binary: binary.to_path_buf(),
    };
    write_atomic(
        &paths.process,
        &serde_json::to_vec_pretty(&process).expect("serializes"),
    )?;
    if !answers_within(&process.rpc_url, Duration::from_secs(20)).await {
        return Err(AnvilError::NoAnswer {
            url: process.rpc_url.clone(),
            secs: 20,
            log: paths.log.display().to_string(),
        });
    }
    Ok(process)
}

/// Polls `eth_chainId` until it answers; false when it did not within `timeout` (a request that
/// hangs counts against it too).
pub async fn answers_within(url: &str, timeout: Duration) -> bool {
    use alloy::providers::Provider;
    let Ok(provider) = super::tx::connect(url) else {
        return false;
    };
    let poll = async {
        while provider.get_chain_id().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(timeout, poll).await.is_ok()
}

/// Stops the devnet we started (SIGTERM, so anvil writes its state), and forgets it.
pub fn stop(paths: &DevnetPaths) -> Result<Option<AnvilProcess>, AnvilError> {
    let Some(p) = running(paths) else {
        let _ = std::fs::remove_file(&paths.process);
        return Ok(None);
    };
    unsafe { libc::kill(p.pid as libc::pid_t, libc::SIGTERM) };
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{}", p.pid)).exists()
        && start.elapsed() < Duration::from_secs(10)
    {
        // Reap it if it is our child (devnet started by this very process).
        unsafe { libc::waitpid(p.pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG) };
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::remove_file(&paths.process)?;
    Ok(Some(p))
}

/// Port 0: anvil binds a free port itself and prints `Listening on 127.0.0.1:PORT`; the port is
/// read from what it appended to its log since `log_start`. No port is chosen here and released
/// for anvil to take, so parallel devnets (the tests') cannot race for one.
fn bound_port(
    child: &mut std::process::Child,
    log: &Path,
    log_start: u64,
) -> Result<u16, AnvilError> {
    use std::io::{Read, Seek};
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let mut text = String::new();
        let mut file = std::fs::File::open(log)?;
        file.seek(std::io::SeekFrom::Start(log_start))?;
        file.read_to_string(&mut text)?;
        let port = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Listening on "))
            .find_map(|addr| addr.rsplit_once(':')?.1.trim().parse().ok());
        if let Some(port) = port {
            return Ok(port);
        }
        if child.try_wait()?.is_some() {
            break; // it exited without listening: the log says why
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(AnvilError::NoAnswer {
        url: "http://127.0.0.1:0".into(),
        secs: 20,
        log: log.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node that takes the connection but never answers is given up on at the limit, not
    /// waited for: the request itself counts against the timeout.
    #[tokio::test]
    async fn a_silent_node_is_given_up_on_at_the_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let started = Instant::now();
        assert!(!answers_within(&url, Duration::from_millis(300)).await);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(5),
            "{took:?}"
        );
    }
}
