//! `omega pause` / `omega resume`: a request the running orchestrator applies within one cycle,
//! or the next launch applies; it persists in the checkpoint until the opposite request.

use super::ConfigArgs;
use crate::persistence::{control, pidfile};
use clap::Args;
use eyre::Result;

#[derive(Args, Debug)]
pub struct ControlArgs {
    #[command(flatten)]
    pub files: ConfigArgs,
}

pub fn execute(args: ControlArgs, pause: bool) -> Result<()> {
    let (_config, paths) = args.files.load()?;
    request(&paths, pause, "cli")
}

/// Shared with `omega owner set-pause`.
pub fn request(paths: &crate::config::ReportPaths, pause: bool, source: &str) -> Result<()> {
    let c = control::request(&paths.control, pause, source)?;
    let verb = if pause { "pause" } else { "resume" };
    match pidfile::running(&paths.lock) {
        Some(pid) => println!(
            "{verb} requested (#{}); the running orchestrator (pid {pid}) applies it within one cycle",
            c.seq
        ),
        None => println!(
            "{verb} requested (#{}); no orchestrator is running, the next launch applies it",
            c.seq
        ),
    }
    Ok(())
}
