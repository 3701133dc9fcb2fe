//! `omega devnet up | down | status | reset`: the local anvil devnet with our contracts.

use super::ConfigArgs;
use crate::chain::anvil::{self, DevnetPaths};
use crate::chain::devnet::{DevnetOptions, ensure_up};
use crate::chain::manifest::Deployment;
use crate::config::Config;
use clap::{Args, Subcommand};
use eyre::Result;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum DevnetCommand {
    /// Start anvil (detached) and deploy the contracts; a no-op that prints the status when running.
    Up(DevnetArgs),
    /// Stop the anvil this folder started (its chain state is kept).
    Down(DevnetArgs),
    /// Show the devnet: process, chain, contracts.
    Status(DevnetArgs),
    /// Stop, then delete the chain state, manifest and mirror journal.
    Reset(DevnetArgs),
}

/// Options shared by the devnet commands and `omega run`.
#[derive(Args, Debug, Clone)]
pub struct AnvilArgs {
    /// The anvil binary (default: node_modules/@foundry-rs, then PATH).
    #[arg(long, env = "OMEGA_ANVIL")]
    pub anvil: Option<PathBuf>,
    /// Port of the local devnet; 0 lets anvil take a free port (recorded in
    /// <reports>/devnet/anvil.json, which later commands read).
    #[arg(long, env = "OMEGA_DEVNET_PORT", default_value_t = anvil::DEFAULT_PORT)]
    pub port: u16,
    /// Who governs JobRegistry, StakeManager and ValidationModule: `owner` (the owner key calls
    /// their setters; a new devnet's default) or `system-pause` (reference mode: they belong to
    /// SystemPause, and setters go through SystemPause.executeGovernanceCall, as on real v2
    /// deployments). Unset, a running devnet keeps the topology it has.
    #[arg(long, env = "OMEGA_DEVNET_GOVERNANCE")]
    pub governance: Option<crate::chain::deploy::Governance>,
    /// How the contracts are set up when the devnet is deployed (a fresh reports folder, or
    /// after `omega devnet reset`): the friendly defaults, or the reference v2 deployment's rules.
    #[arg(long, env = "OMEGA_DEVNET_PROFILE", value_enum, default_value_t = Profile::Friendly)]
    pub profile: Profile,
}

/// The devnet's deploy-time settings. The bridge depends on neither: its tests run both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// No bans; a wrong vote or a missed reveal costs the engine's `penalty_ratio` of the stake;
    /// one reveal makes a quorum (the committee's approvals still decide).
    #[default]
    Friendly,
    /// The reference v2 rules: validators who miss a reveal are banned (100 blocks here, 7,200
    /// there), a wrong vote costs 50 % of the validator stake, a committee of 3 needs all 3
    /// reveals (67 %, at least 3), and a dispute waits its window (300 s here, a day there).
    Reference,
}

#[derive(Args, Debug)]
pub struct DevnetArgs {
    #[command(flatten)]
    pub files: ConfigArgs,
    #[command(flatten)]
    pub anvil: AnvilArgs,
    /// Print JSON for machines.
    #[arg(long, env = "OMEGA_JSON")]
    pub json: bool,
}

pub fn execute(cmd: DevnetCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cmd {
            DevnetCommand::Up(a) => {
                if a.json {
                    super::progress::hide();
                }
                let (config, paths) = a.files.load()?;
                let devnet = DevnetPaths::new(&paths.dir);
                let d = up(&config, &devnet, &a.anvil).await?;
                if !d.started && !d.deployed {
                    println!("devnet already running");
                }
                status(&devnet, a.json).await
            }
            DevnetCommand::Down(a) => {
                let (_, paths) = a.files.load()?;
                match anvil::stop(&DevnetPaths::new(&paths.dir))? {
                    Some(p) => println!(
                        "stopped anvil (pid {}); its chain state is kept for the next `up`",
                        p.pid
                    ),
                    None => println!("no devnet is running from {}", paths.dir.display()),
                }
                Ok(())
            }
            DevnetCommand::Status(a) => {
                let (_, paths) = a.files.load()?;
                status(&DevnetPaths::new(&paths.dir), a.json).await
            }
            DevnetCommand::Reset(a) => {
                let (_, paths) = a.files.load()?;
                let devnet = DevnetPaths::new(&paths.dir);
                anvil::stop(&devnet)?;
                for f in [
                    &devnet.state,
                    &devnet.manifest,
                    &devnet.env,
                    &paths.dir.join("chain").join("mirror.jsonl"),
                ] {
                    let _ = std::fs::remove_file(f);
                }
                println!("devnet reset: chain state, manifest and mirror journal removed");
                Ok(())
            }
        }
    })
}

/// Starts the devnet for this config's workforce (shared with `omega run`).
pub async fn up(
    config: &Config,
    devnet: &DevnetPaths,
    a: &AnvilArgs,
) -> Result<crate::chain::devnet::Devnet> {
    let (agents, validators) = workforce(config);
    let options = DevnetOptions {
        anvil: a.anvil.as_deref(),
        port: a.port,
        params: params(config, a.profile),
        agents,
        validators,
        // The reference deployment's modules belong to SystemPause.
        governance: a.governance.or(match a.profile {
            Profile::Reference => Some(crate::chain::deploy::Governance::SystemPause),
            Profile::Friendly => None,
        }),
    };
    // Starting anvil and deploying take seconds: a spinner shows it is at work.
    let spinner = super::progress::spinner("starting the devnet and deploying the contracts");
    let d = ensure_up(devnet, &options).await;
    spinner.finish_and_clear();
    let d = d?;
    if d.started {
        println!(
            "started anvil (pid {}) on {}",
            d.process.pid, d.process.rpc_url
        );
    }
    if d.deployed {
        println!(
            "deployed the contracts; manifest {}, gateway env {}",
            devnet.manifest.display(),
            devnet.env.display()
        );
    }
    Ok(d)
}

/// (non-validator agents, validators) in the config.
pub fn workforce(config: &Config) -> (usize, usize) {
    use crate::domain::agent::Role;
    // External agents count as their role in the engine says (worker or validator).
    let count = |v: bool| {
        (config.agent_profiles().iter())
            .filter(|a| (a.role == Role::Validator) == v)
            .count()
    };
    (count(false), count(true))
}

/// Who mines: anvil's automine, or a run building blocks on demand. Restores automine first when
/// the run that turned it off is gone.
async fn block_building(devnet: &DevnetPaths, rpc_url: &str) -> Result<String> {
    use alloy::providers::ext::AnvilApi;
    let provider = crate::chain::tx::connect(rpc_url)?;
    if crate::chain::miner::restore_if_orphaned(&provider, &devnet.miner).await? {
        println!("automine restored (the run that was building blocks is gone)");
    }
    let automine: bool = provider.anvil_get_auto_mine().await?;
    Ok(if automine {
        "one per transaction (automine)".into()
    } else {
        "built on demand by `omega run` (see reports/devnet/miner.json)".into()
    })
}

fn params(config: &Config, profile: Profile) -> crate::chain::deploy::DevnetParams {
    let friendly = crate::chain::deploy::DevnetParams {
        employer_tokens: config.resource_manager.token_supply as u128,
        member_tokens: 50_000_000,
        agent_stake: 1_000,
        validator_stake: 1_000,
        commit_window_s: 300,
        reveal_window_s: 300,
        validators_per_job: config.validators.committee_size as u64,
        required_approvals: config.validators.quorum as u64,
        validator_slashing_pct: (config.validators.penalty_ratio * 100.0)
            .round()
            .clamp(0.0, 100.0) as u64,
        dispute_window_s: 300,
        ban_blocks: 0,
        min_revealers: 1,
    };
    match profile {
        Profile::Friendly => friendly,
        Profile::Reference => crate::chain::deploy::DevnetParams {
            validators_per_job: 3,
            required_approvals: 2,
            validator_slashing_pct: 50,
            ban_blocks: REFERENCE_BAN_BLOCKS,
            min_revealers: 3,
            ..friendly
        },
    }
}

/// The reference bans for 7,200 blocks; the devnet mines on demand, so a ban here is shorter
/// (the mirror mines past it while selection waits) to keep a run moving.
const REFERENCE_BAN_BLOCKS: u64 = 100;

async fn status(devnet: &DevnetPaths, json: bool) -> Result<()> {
    let process = anvil::running(devnet);
    let deployment = Deployment::load(&devnet.manifest).ok();
    let blocks = match &process {
        Some(p) => Some(block_building(devnet, &p.rpc_url).await?),
        None => None,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "process": process, "blocks": blocks, "deployment": deployment
            }))?
        );
        return Ok(());
    }
    match &process {
        Some(p) => println!(
            "devnet: running (pid {}) at {}; blocks: {}",
            p.pid,
            p.rpc_url,
            blocks.unwrap_or_default()
        ),
        None => println!("devnet: not running"),
    }
    match deployment {
        Some(d) => {
            println!(
                "chain id {}  deployed at block {}",
                d.chain_id, d.deploy_block
            );
            for (name, a) in [
                ("token", d.token),
                ("stakeManager", d.stake_manager),
                ("jobRegistry", d.job_registry),
                ("validationModule", d.validation_module),
                ("identityRegistry", d.identity_registry),
                ("systemPause", d.system_pause),
            ]
            .into_iter()
            .chain(d.checkpoint_registry.map(|a| ("checkpointRegistry", a)))
            {
                println!("  {name:<20} {a}");
            }
            println!(
                "manifest {}\ngateway env {}",
                devnet.manifest.display(),
                devnet.env.display()
            );
        }
        None => println!("no deployment yet (omega devnet up)"),
    }
    Ok(())
}
