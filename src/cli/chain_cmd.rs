//! `omega chain preflight` and `omega chain provision`: what a deployment is missing for this
//! workforce's keys, and the fixes those keys may make themselves.

use super::ConfigArgs;
use super::target::{Target, TargetArgs};
use crate::chain::keys::Keys;
use crate::chain::preflight::{Actor, Check, Wants, preflight};
use crate::chain::provision::{Step, provision};
use crate::chain::tx::{TxHub, connect};
use crate::config::Config;
use crate::domain::agent::Role;
use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Subcommand};
use eyre::Result;

#[derive(Subcommand, Debug)]
pub enum ChainCommand {
    /// For every key: ETH, tokens, allowance, stake per role, identity; the deployment's pause
    /// state, windows and eligible validators. Exit 1 when anything is missing.
    Preflight(PreflightArgs),
    /// Performs the fixes the given keys may perform (approve, stake; allowlist with the owner
    /// key) and refuses the rest with the reason; `--dry-run` shows the calls only.
    Provision(ProvisionArgs),
}

#[derive(Args, Debug)]
pub struct PreflightArgs {
    #[command(flatten)]
    pub files: ConfigArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// ETH each key should hold for gas.
    #[arg(long, env = "OMEGA_MIN_ETH", default_value_t = 0.01)]
    pub min_eth: f64,
    /// Tokens each key that posts jobs (employer, agents) should let the StakeManager take.
    #[arg(long, env = "OMEGA_MIN_ALLOWANCE", default_value_t = 100)]
    pub allowance: u64,
    /// One JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub check: PreflightArgs,
    /// Show the calls without sending them.
    #[arg(long, env = "OMEGA_DRY_RUN")]
    pub dry_run: bool,
}

pub fn execute(cmd: ChainCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cmd {
        ChainCommand::Preflight(a) => runtime.block_on(preflight_cmd(&a)),
        ChainCommand::Provision(a) => runtime.block_on(provision_cmd(&a)),
    }
}

/// The workforce's keys (employer, agents, validators): anvil's on this folder's own devnet,
/// else from the environment, each external agent's from its `key_env`.
struct Workforce {
    employer: PrivateKeySigner,
    agents: Vec<PrivateKeySigner>,
    validators: Vec<PrivateKeySigner>,
    /// Where the external agents' keys came from (their `key_env`), in their config order; none
    /// on the devnet.
    key_envs: Vec<Option<String>>,
}

fn workforce(config: &Config, target: &Target) -> Result<Workforce> {
    let (employer, agents, validators) = if target.local_devnet {
        let (agents, validators) = super::devnet::workforce(config);
        let k = Keys::devnet(agents, validators)?;
        (k.employer, k.agents, k.validators)
    } else {
        super::external::workforce_signers(config)?
    };
    let key_envs = (config.external_agents.iter())
        .map(|e| e.key_env.clone().filter(|_| !target.local_devnet))
        .collect();
    Ok(Workforce {
        employer,
        agents,
        validators,
        key_envs,
    })
}

/// Who each key is for the engine: the employer posts; agents work and post sub-jobs; validators
/// also take jobs, so they need what agents need too. An external agent works (and may post
/// sub-jobs) unless it is a validator only; its name carries the variable its key came from.
fn actors(config: &Config, keys: &Workforce) -> Vec<Actor> {
    let mut out = vec![Actor {
        name: "employer".into(),
        address: keys.employer.address(),
        posts: true,
        works: false,
        validates: false,
    }];
    let (mut agents, mut validators) = (keys.agents.iter(), keys.validators.iter());
    let mut externals = config.external_agents.iter().zip(&keys.key_envs);
    for profile in config.agent_profiles() {
        let validates = profile.role == Role::Validator;
        let key = if validates {
            validators.next()
        } else {
            agents.next()
        };
        let (mut name, mut works, mut posts) = (profile.name, true, !validates);
        let external = if profile.external {
            externals.next()
        } else {
            None
        };
        if let Some((agent, key_env)) = external {
            (works, posts) = (agent.role.works(), agent.role.works());
            if let Some(var) = key_env {
                name = format!("{name} ({var})");
            }
        }
        if let Some(key) = key {
            out.push(Actor {
                name,
                address: key.address(),
                posts,
                works,
                validates,
            });
        }
    }
    out
}

async fn checks(a: &PreflightArgs) -> Result<(Vec<Check>, Target, Workforce)> {
    let (config, paths) = a.files.load()?;
    let target = a.target.require(&paths.dir)?;
    let keys = workforce(&config, &target)?;
    let provider = connect(&target.rpc_url)?;
    let wants = Wants {
        eth: U256::from((a.min_eth.max(0.0) * 1e18) as u128),
        allowance: U256::from(a.allowance) * U256::from(10u64).pow(U256::from(18u64)),
    };
    let checks = preflight(
        &provider,
        &target.deployment,
        &actors(&config, &keys),
        wants,
    )
    .await?;
    Ok((checks, target, keys))
}

async fn preflight_cmd(a: &PreflightArgs) -> Result<()> {
    let (checks, _, _) = checks(a).await?;
    let missing = checks.iter().filter(|c| !c.ok).count();
    if a.json {
        println!(
            "{}",
            serde_json::json!({"ok": missing == 0, "missing": missing, "checks": checks})
        );
    } else {
        print_checks(&checks);
    }
    if missing > 0 {
        eyre::bail!(
            "{missing} item(s) missing: `omega chain provision` performs what these keys may"
        );
    }
    Ok(())
}

fn print_checks(checks: &[Check]) {
    println!("{:<4} {:<22} {:<30} {:<20} want", "", "who", "item", "have");
    for c in checks {
        let mark = if c.ok { "ok" } else { "MISS" };
        println!(
            "{mark:<4} {:<22} {:<30} {:<20} {}",
            c.who, c.item, c.have, c.want
        );
        if let (false, Some(fix)) = (c.ok, &c.fix) {
            println!(
                "{:<4} fix: {}",
                "",
                serde_json::to_string(fix).unwrap_or_default()
            );
        }
    }
}

async fn provision_cmd(a: &ProvisionArgs) -> Result<()> {
    let (checks, target, keys) = checks(&a.check).await?;
    let owner = target.owner_key().await.ok();
    let signers = [keys.employer]
        .into_iter()
        .chain(keys.agents)
        .chain(keys.validators)
        .chain(owner.clone())
        .collect::<Vec<_>>();
    let hub = TxHub::new(connect(&target.rpc_url)?, signers).await?;
    let owner = owner.map(|k| k.address());
    let steps = provision(&hub, &target.deployment, &checks, owner, a.dry_run).await;
    print_steps(&steps, a.check.json);
    let refused = steps.iter().filter(|s| s.outcome == "refused").count();
    if refused > 0 {
        eyre::bail!(
            "{refused} fix(es) refused (see above); the rest were {}",
            if a.dry_run { "shown" } else { "sent" }
        );
    }
    Ok(())
}

fn print_steps(steps: &[Step], json: bool) {
    if json {
        println!("{}", serde_json::json!({ "steps": steps }));
        return;
    }
    if steps.is_empty() {
        println!("nothing to provision: preflight finds nothing missing");
    }
    for s in steps {
        println!(
            "{:<10} {:<14} {:<32} {}",
            s.outcome, s.who, s.action, s.detail
        );
    }
}
