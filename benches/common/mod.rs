//! What the benches share: a devnet of their own in a temporary folder, on a free port.
#![allow(dead_code)] // each bench uses part of it

use omega::chain::anvil::DevnetPaths;
use omega::chain::deploy::DevnetParams;
use omega::chain::devnet::{Devnet, DevnetOptions, ensure_up};
use std::path::PathBuf;

pub struct BenchDevnet {
    /// Keeps the folder (reports, chain state) alive for the bench's lifetime.
    pub dir: tempfile::TempDir,
    /// The reports folder (`omega --reports`); the devnet's files are in `paths`.
    pub reports: PathBuf,
    pub paths: DevnetPaths,
    pub port: u16,
    pub devnet: Devnet,
}

/// Starts anvil (300 s windows), deploys and funds a workforce of `agents` agents and
/// `validators` validators.
pub async fn devnet(agents: usize, validators: usize) -> eyre::Result<BenchDevnet> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let reports = dir.path().join("reports");
    let paths = DevnetPaths::new(&reports);
    let params = DevnetParams {
        employer_tokens: 1_000_000_000,
        member_tokens: 50_000_000,
        agent_stake: 1_000,
        validator_stake: 1_000,
        commit_window_s: 300,
        reveal_window_s: 300,
        validators_per_job: 4,
        required_approvals: 3,
        validator_slashing_pct: 5,
        dispute_window_s: 300,
        ban_blocks: 0,
        min_revealers: 1,
    };
    let options = DevnetOptions {
        governance: Default::default(),
        anvil: None,
        port,
        params,
        agents,
        validators,
    };
    let devnet = ensure_up(&paths, &options).await?;
    Ok(BenchDevnet {
        dir,
        reports,
        paths,
        port,
        devnet,
    })
}
