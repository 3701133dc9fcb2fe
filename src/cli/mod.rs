//! The `omega` command line: one file per subcommand, shared option groups, every flag with an
//! environment twin, `.env` loaded first.

mod attest;
mod chain_cmd;
mod chain_opts;
mod control;
pub mod devnet;
mod external;
mod owner;
mod progress;
mod reconcile;
mod run;
mod serve;
mod status;
mod target;

use crate::config::{Config, ReportPaths};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "omega",
    version,
    about = "Omega: orchestrate an AGI workforce and govern it, off chain and on chain"
)]
pub struct Cli {
    /// Console output: readable lines, or one JSON object per line.
    #[arg(long, global = true, env = "OMEGA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Console verbosity (a tracing filter such as `info` or `omega=debug`).
    #[arg(long, global = true, env = "OMEGA_LOG_LEVEL", default_value = "info", value_parser = log_filter)]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the orchestrator (resumes from the checkpoint when there is one).
    Run(run::RunArgs),
    /// Show jobs, balances, prices and the pause flag from the checkpoint; changes nothing.
    Status(status::StatusArgs),
    /// Pause the running orchestrator within one cycle (persists across restarts).
    Pause(control::ControlArgs),
    /// Resume a paused orchestrator.
    Resume(control::ControlArgs),
    /// Owner console: change governance parameters.
    #[command(subcommand)]
    Owner(owner::OwnerCommand),
    /// The local anvil devnet with Omega's contracts.
    #[command(subcommand)]
    Devnet(devnet::DevnetCommand),
    /// An existing deployment: what this workforce's keys are missing, and the fixes.
    #[command(subcommand)]
    Chain(chain_cmd::ChainCommand),
    /// Attest the current checkpoint's content hash on chain (CheckpointRegistry).
    Attest(attest::AttestArgs),
    /// Check a checkpoint's content hash against the chain; non-zero exit on mismatch or when unattested.
    Verify(attest::VerifyArgs),
    /// Compare the latest checkpoint with the chain's events; non-zero exit when anything drifts.
    Reconcile(reconcile::ReconcileArgs),
    /// Serve the status API and dashboard over an existing reports folder (read-only view;
    /// --http defaults to 127.0.0.1:8080).
    Serve(serve::ServeArgs),
}

/// Where the config and the runtime files are.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// The configuration file.
    #[arg(
        long,
        env = "OMEGA_CONFIG",
        default_value = "config/default_config.json"
    )]
    pub config: PathBuf,
    /// Folder for the checkpoint, log, archive and telemetry (default: where the config's
    /// `state_path` points, normally `reports/`).
    #[arg(long, env = "OMEGA_REPORTS")]
    pub reports: Option<PathBuf>,
}

impl ConfigArgs {
    pub fn load(&self) -> eyre::Result<(Config, ReportPaths)> {
        let config = Config::load(&self.config)?;
        let paths = config.paths(self.reports.as_deref());
        Ok((config, paths))
    }
}

pub fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_tracing(cli.log_format, &cli.log_level);
    if cli.log_format == LogFormat::Json {
        progress::hide(); // a bar's redraws would break the one-object-per-line output
    }
    let result = match cli.command {
        Command::Run(args) => run::execute(args, cli.log_format),
        Command::Status(args) => status::execute(args),
        Command::Pause(args) => control::execute(args, true),
        Command::Resume(args) => control::execute(args, false),
        Command::Owner(cmd) => owner::execute(cmd),
        Command::Devnet(cmd) => devnet::execute(cmd),
        Command::Chain(cmd) => chain_cmd::execute(cmd),
        Command::Attest(a) => attest::attest_cmd(a),
        Command::Verify(a) => attest::verify_cmd(a),
        Command::Reconcile(a) => reconcile::execute(a),
        Command::Serve(a) => serve::execute(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = one_line(&e);
            eprintln!("error: {}", crate::chain::redact::scrub(&line));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: many of our errors already end with
/// their cause's text (`cannot read config …: No such file or directory`).
fn one_line(e: &eyre::Report) -> String {
    let mut line = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if line.is_empty() {
            line = cause;
        } else if !line.ends_with(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// A bad filter is refused at parse time, not silently replaced by `info`.
fn log_filter(level: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(level)
        .map(|_| level.to_string())
        .map_err(|e| format!("not a log filter ({e}); try info, debug or omega=debug"))
}

fn init_tracing(format: LogFormat, level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| progress::LogWriter)
        .with_target(false);
    match format {
        LogFormat::Pretty => builder.compact().init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;
    use eyre::WrapErr;

    #[test]
    fn an_error_line_names_each_cause_once() {
        let read = crate::config::Config::load(std::path::Path::new("/nonexistent/omega.json"))
            .map_err(eyre::Report::from)
            .unwrap_err();
        let line = one_line(&read);
        assert_eq!(
            line.matches("No such file or directory").count(),
            1,
            "{line}"
        );
        let wrapped = Err::<(), _>(std::io::Error::other("disk full"))
            .wrap_err("cannot write the log")
            .unwrap_err();
        assert_eq!(one_line(&wrapped), "cannot write the log: disk full");
    }
}
