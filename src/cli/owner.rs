//! `omega owner …`: the owner console. Each command validates its input first; then, when a chain
//! is configured, simulates and sends the governance transaction with the owner key; then rewrites
//! the config atomically (other keys untouched). A running orchestrator picks config changes up
//! within one cycle, and the next launch applies them even over an existing checkpoint.
//! `--dry-run` simulates and prints, `--calldata` prints what a multisig would execute; neither
//! changes anything. Where SystemPause owns the modules (v2's topology, `chain/topology.rs`), the
//! calls are wrapped in `SystemPause.executeGovernanceCall` and sent by SystemPause's governance.

use super::ConfigArgs;
use super::target::{Target, TargetArgs};
use crate::chain::governance::{Lever, read_params};
use crate::chain::topology::{Routed, Topology};
use crate::chain::tx::{Gas, TxHub, connect};
use crate::config::edit::{check_values, set_values};
use crate::persistence::checkpoint;
use alloy::primitives::{Address, U256};
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr};
use serde_json::{Value, json};
use std::path::Path;

#[derive(Subcommand, Debug)]
pub enum OwnerCommand {
    /// Stake ratio agents lock per job (0 ≤ RATIO ≤ 1). Off chain only.
    SetStake(One),
    /// Planetary energy ceiling in GW (> 0). Off chain only.
    SetEnergy(One),
    /// Pause (true) or resume (false) the engine and, on chain, every module through SystemPause.
    SetPause(One),
    /// The chain's commit and reveal windows in seconds. On chain only.
    SetWindows(Two),
    /// Approving reveals a job needs: the engine's quorum and the chain's required approvals.
    SetQuorum(One),
    /// Stake-weighted approval threshold in percent (1–100). On chain only.
    SetApproval(One),
    /// Share of a faulty validator's stake slashed, percent (0–100), off chain and on chain.
    SetSlashPct(One),
    /// Fee on top of each reward, percent (0–100), burned: the engine's burn ratio and the chain's fee.
    SetFeePct(One),
    /// Minimum stake in tokens: the engine's validator minimum and the chain's per-role minimum.
    SetMinStake(One),
    /// Stake an agent locks per job on chain, in tokens (> 0). On chain only.
    SetJobStake(One),
    /// Slash BPS basis points of ADDRESS's stake in ROLE (agent|validator|platform) to the owner. On chain only.
    GovernanceSlash(SlashArgs),
    /// Hand every module's ownership to ADDRESS. On chain only.
    TransferGovernance(One),
    /// Configuration next to the on-chain values, drift flagged.
    Params(Common),
}

#[derive(Args, Debug)]
pub struct Common {
    #[command(flatten)]
    pub files: ConfigArgs,
    /// Which chain the governance transaction goes to.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Simulate with eth_call, print the decoded effect and the calldata, change nothing.
    #[arg(long, env = "OMEGA_DRY_RUN")]
    pub dry_run: bool,
    /// Print the target and calldata for a multisig or timelock to execute; change nothing.
    #[arg(long, env = "OMEGA_CALLDATA")]
    pub calldata: bool,
}

#[derive(Args, Debug)]
pub struct One {
    /// The new value.
    #[arg(allow_hyphen_values = true)]
    pub value: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct Two {
    #[arg(allow_hyphen_values = true)]
    pub commit_seconds: String,
    #[arg(allow_hyphen_values = true)]
    pub reveal_seconds: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct SlashArgs {
    pub address: String,
    pub role: String,
    #[arg(allow_hyphen_values = true)]
    pub bps: String,
    #[command(flatten)]
    pub common: Common,
}

/// What a command changes: config keys, an on-chain lever, the engine's pause flag.
#[derive(Default)]
struct Plan {
    what: String,
    edits: Vec<(&'static str, Value)>,
    lever: Option<Lever>,
    pause: Option<bool>,
}

pub fn execute(cmd: OwnerCommand) -> Result<()> {
    let (plan, common) = match cmd {
        OwnerCommand::Params(c) => return params(c),
        OwnerCommand::SetStake(a) => (stake_plan(&a.value)?, a.common),
        OwnerCommand::SetEnergy(a) => (energy_plan(&a.value)?, a.common),
        OwnerCommand::SetPause(a) => (pause_plan(&a.value)?, a.common),
        OwnerCommand::SetWindows(a) => (
            windows_plan(&a.commit_seconds, &a.reveal_seconds)?,
            a.common,
        ),
        OwnerCommand::SetQuorum(a) => (quorum_plan(&a.value)?, a.common),
        OwnerCommand::SetApproval(a) => (approval_plan(&a.value)?, a.common),
        OwnerCommand::SetSlashPct(a) => (slash_pct_plan(&a.value)?, a.common),
        OwnerCommand::SetFeePct(a) => (fee_pct_plan(&a.value)?, a.common),
        OwnerCommand::SetMinStake(a) => (min_stake_plan(&a.value)?, a.common),
        OwnerCommand::SetJobStake(a) => (job_stake_plan(&a.value)?, a.common),
        OwnerCommand::GovernanceSlash(a) => (governance_slash_plan(&a)?, a.common),
        OwnerCommand::TransferGovernance(a) => (transfer_plan(&a.value)?, a.common),
    };
    apply(plan, common)
}

fn stake_plan(value: &str) -> Result<Plan> {
    let r = ratio(value, "stake ratio")?;
    Ok(Plan {
        what: format!("stake ratio {r}"),
        edits: vec![("/validators/stake_ratio", r.into())],
        ..Default::default()
    })
}

fn energy_plan(value: &str) -> Result<Plan> {
    let gw = number(value, "energy ceiling")?;
    if gw <= 0.0 {
        eyre::bail!("energy ceiling must be > 0 GW (got {gw})");
    }
    Ok(Plan {
        what: format!("energy ceiling {gw} GW"),
        edits: vec![("/resource_manager/energy_capacity", whole_or_float(gw))],
        ..Default::default()
    })
}

fn pause_plan(value: &str) -> Result<Plan> {
    let pause = match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => true,
        "false" | "0" | "no" | "off" => false,
        other => eyre::bail!("set-pause takes true or false (got {other:?})"),
    };
    Ok(Plan {
        what: format!("pause {pause}"),
        lever: Some(Lever::Pause(pause)),
        pause: Some(pause),
        ..Default::default()
    })
}

/// On chain only: the engine's own phases run at cycle scale (validators.*_phase_seconds).
fn windows_plan(commit_seconds: &str, reveal_seconds: &str) -> Result<Plan> {
    let (c, r) = (
        count(commit_seconds, "commit seconds")?,
        count(reveal_seconds, "reveal seconds")?,
    );
    Ok(Plan {
        what: format!("windows {c} s + {r} s"),
        lever: Some(Lever::Windows {
            commit_s: c,
            reveal_s: r,
        }),
        ..Default::default()
    })
}

fn quorum_plan(value: &str) -> Result<Plan> {
    let n = count(value, "quorum")?;
    Ok(Plan {
        what: format!("quorum {n}"),
        edits: vec![("/validators/quorum", n.into())],
        lever: Some(Lever::Quorum(n)),
        ..Default::default()
    })
}

fn approval_plan(value: &str) -> Result<Plan> {
    let pct = percent(value, "approval threshold")?;
    if pct == 0 {
        eyre::bail!("approval threshold must be between 1 and 100 (got 0)");
    }
    Ok(Plan {
        what: format!("approval threshold {pct}%"),
        lever: Some(Lever::Approval(pct)),
        ..Default::default()
    })
}

fn slash_pct_plan(value: &str) -> Result<Plan> {
    let pct = percent(value, "slash percent")?;
    Ok(Plan {
        what: format!("validator slash {pct}%"),
        edits: vec![("/validators/penalty_ratio", (pct as f64 / 100.0).into())],
        lever: Some(Lever::ValidatorSlashPct(pct)),
        ..Default::default()
    })
}

fn fee_pct_plan(value: &str) -> Result<Plan> {
    let pct = percent(value, "fee percent")?;
    Ok(Plan {
        what: format!("fee {pct}%"),
        edits: vec![("/validators/burn_ratio", (pct as f64 / 100.0).into())],
        lever: Some(Lever::FeePct(pct)),
        ..Default::default()
    })
}

fn min_stake_plan(value: &str) -> Result<Plan> {
    let tokens = number(value, "minimum stake")?;
    if tokens < 0.0 {
        eyre::bail!("minimum stake must be ≥ 0 tokens (got {tokens})");
    }
    Ok(Plan {
        what: format!("minimum stake {tokens} tokens"),
        edits: vec![("/validators/min_stake", whole_or_float(tokens))],
        lever: Some(Lever::MinStake(token_units(tokens))),
        ..Default::default()
    })
}

fn job_stake_plan(value: &str) -> Result<Plan> {
    let tokens = number(value, "job stake")?;
    if tokens <= 0.0 || tokens >= 7.9e10 {
        eyre::bail!("job stake must be > 0 and fit uint96 (< 7.9e10 tokens) (got {tokens})");
    }
    Ok(Plan {
        what: format!("job stake {tokens} tokens"),
        lever: Some(Lever::JobStake(token_units(tokens))),
        ..Default::default()
    })
}

fn governance_slash_plan(a: &SlashArgs) -> Result<Plan> {
    let user = address(&a.address)?;
    let role = match a.role.to_ascii_lowercase().as_str() {
        "agent" | "0" => 0,
        "validator" | "1" => 1,
        "platform" | "2" => 2,
        other => eyre::bail!("role must be agent, validator or platform (got {other:?})"),
    };
    let bps = count(&a.bps, "basis points")?;
    if bps > 10_000 {
        eyre::bail!("basis points must be between 1 and 10000 (got {bps})");
    }
    Ok(Plan {
        what: format!("slash {bps} bps of {user}'s stake"),
        lever: Some(Lever::GovernanceSlash { user, role, bps }),
        ..Default::default()
    })
}

fn transfer_plan(value: &str) -> Result<Plan> {
    let to = address(value)?;
    Ok(Plan {
        what: format!("governance to {to}"),
        lever: Some(Lever::TransferGovernance(to)),
        ..Default::default()
    })
}

fn apply(plan: Plan, c: Common) -> Result<()> {
    let (_config, paths) = c.files.load()?;
    check_values(&c.files.config, &plan.edits)?;
    if plan.pause.is_some() && !c.calldata && !c.dry_run {
        if !paths.state.exists() {
            eyre::bail!(
                "no checkpoint at {}: run the orchestrator once first",
                paths.state.display()
            );
        }
        checkpoint::verify_file(&paths.state)?;
    }
    let target = c.target.resolve(&paths.dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(lever) = &plan.lever {
        match &target {
            None if plan.edits.is_empty() && plan.pause.is_none() => {
                eyre::bail!(
                    "{} is an on-chain lever and no chain is configured: start the devnet (omega devnet up) or pass --rpc-url and --deployments",
                    plan.what
                )
            }
            None => {}
            Some(target) => {
                // --calldata and --dry-run end here; a sent change goes on to the config.
                let printed_only = runtime.block_on(on_chain(target, lever, &c, &paths.log))?;
                if printed_only {
                    return Ok(());
                }
            }
        }
    } else if c.calldata || c.dry_run {
        println!(
            "{} is off chain only: no transaction (the config would change)",
            plan.what
        );
        return Ok(());
    }
    let old = set_values(&c.files.config, &plan.edits)?;
    for ((pointer, value), old) in plan.edits.iter().zip(old) {
        println!(
            "{pointer}: {old} → {value} in {}; a running orchestrator applies it within one cycle",
            c.files.config.display()
        );
    }
    if let Some(pause) = plan.pause {
        super::control::request(&paths, pause, "owner")?;
    }
    Ok(())
}

/// Makes the lever's calls as the deployment's governance topology needs them (wrapped in
/// `SystemPause.executeGovernanceCall` where SystemPause owns the module), or prints them for
/// `--calldata`. True when the command ends here (`--calldata`, `--dry-run`).
async fn on_chain(target: &Target, lever: &Lever, c: &Common, log: &Path) -> Result<bool> {
    let (rpc, d) = (&target.rpc_url, &target.deployment);
    let key = target.owner_key().await?;
    let hub = TxHub::new(connect(rpc)?, [key.clone()])
        .await
        .wrap_err_with(|| format!("cannot reach {}", crate::chain::redact::redact_url(rpc)))?;
    let topology = Topology::detect(&hub, d).await;
    let routed = topology.route(lever.calls(d, key.address()));
    println!("{}", topology.describe());
    if c.calldata {
        for r in &routed {
            print_call(r);
        }
        return Ok(true);
    }
    refuse_wrong_sender(&routed, key.address())?;
    send(&hub, key.address(), &routed, c.dry_run, log).await?;
    Ok(c.dry_run)
}

/// The call a multisig or timelock executes: sender, target, calldata (and the wrapped setter).
fn print_call(r: &Routed) {
    let from = r
        .sender
        .map_or("the governor".to_string(), |a| a.to_string());
    match &r.inner {
        None => println!(
            "{}\n  from: {from}\n  to:   {}\n  data: {}",
            r.call.label, r.call.target, r.call.calldata
        ),
        Some(inner) => println!(
            "{} through SystemPause.executeGovernanceCall\n  from: {from} (SystemPause's governance)\n  to:   {}\n  data: {}\n  wraps: {} on {}, data {}",
            r.call.label, r.call.target, r.call.calldata, inner.label, inner.target, inner.calldata
        ),
    }
}

/// Where SystemPause owns a module, only SystemPause's governance can make the wrapped call: any
/// other key is refused here, before anything is simulated or sent.
fn refuse_wrong_sender(routed: &[Routed], key: Address) -> Result<()> {
    for r in routed {
        if let (Some(inner), Some(sender)) = (&r.inner, r.sender)
            && sender != key
        {
            eyre::bail!(
                "{} belongs to SystemPause {}: only SystemPause's governance {sender} can change it (through executeGovernanceCall), and the key given is {key}; set OMEGA_OWNER_KEY to the governance's key, or print the call for it with --calldata",
                inner.label,
                r.call.target
            );
        }
    }
    Ok(())
}

/// Simulates every call; unless dry-running, sends them and logs each as an `owner_action`.
async fn send(
    hub: &TxHub,
    from: Address,
    routed: &[Routed],
    dry_run: bool,
    log: &Path,
) -> Result<()> {
    for r in routed {
        let call = &r.call;
        hub.call(call.label, from, call.target, call.calldata.clone())
            .await
            .map_err(explain)?;
        if dry_run {
            let via = r.inner.as_ref().map_or(String::new(), |i| {
                format!(
                    " (SystemPause.executeGovernanceCall wrapping {} on {})",
                    i.label, i.target
                )
            });
            println!(
                "dry run: {} on {}{via} would succeed (sender {from})\n  calldata: {}",
                call.label, call.target, call.calldata
            );
        }
    }
    if dry_run {
        return Ok(());
    }
    for r in routed {
        let call = &r.call;
        let receipt = hub
            .send(
                call.label,
                from,
                Some(call.target),
                call.calldata.clone(),
                Gas::Estimate,
            )
            .await
            .map_err(explain)?;
        let block = receipt.block_number.unwrap_or_default();
        println!(
            "{}: tx {} in block {block}",
            call.label, receipt.transaction_hash
        );
        let inner = r.inner.as_ref().map(|i| i.target);
        owner_action(
            log,
            json!({"call": call.label, "target": call.target, "module": inner, "tx": receipt.transaction_hash, "block": block, "sender": from}),
        )?;
    }
    Ok(())
}

/// A refused governance call names the role it needs.
fn explain(e: crate::chain::tx::TxError) -> eyre::Report {
    let text = e.to_string();
    if text.contains("OwnableUnauthorizedAccount")
        || text.contains("NotGovernance")
        || text.contains("Unauthorized")
    {
        eyre::eyre!(
            "{text}: this needs the owner (governance) role of the contract; set OMEGA_OWNER_KEY to the owner's key"
        )
    } else {
        eyre::eyre!(text)
    }
}

fn owner_action(log: &Path, context: Value) -> Result<()> {
    use std::io::Write;
    let line = json!({"timestamp": crate::persistence::eventlog::EventLog::now(), "level": "INFO", "message": "owner_action", "context": context});
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    f.write_all(format!("{line}\n").as_bytes())?;
    Ok(())
}

fn params(c: Common) -> Result<()> {
    let (config, paths) = c.files.load()?;
    let v = &config.validators;
    let offchain = [
        ("stake_ratio", v.stake_ratio.to_string()),
        (
            "energy_capacity",
            config.resource_manager.energy_capacity.to_string(),
        ),
        ("commit_phase_seconds", v.commit_phase_seconds.to_string()),
        ("reveal_phase_seconds", v.reveal_phase_seconds.to_string()),
        ("quorum", v.quorum.to_string()),
        ("penalty_ratio", v.penalty_ratio.to_string()),
        ("burn_ratio", v.burn_ratio.to_string()),
        ("min_stake", v.min_stake.to_string()),
    ];
    println!("configuration ({}):", c.files.config.display());
    for (k, val) in &offchain {
        println!("  {k:<24} {val}");
    }
    let Some(target) = c.target.resolve(&paths.dir)? else {
        println!("no chain configured (start the devnet or pass --rpc-url/--deployments)");
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (onchain, topology) = runtime.block_on(async {
        let hub = TxHub::new(connect(&target.rpc_url)?, []).await?;
        let d = &target.deployment;
        let topology = Topology::detect(&hub, d).await;
        Ok::<_, eyre::Report>((read_params(&hub, d, d.owner).await, topology))
    })?;
    let get = |name: &str| {
        onchain
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.clone())
    };
    let pairs = [
        ("quorum", "requiredValidatorApprovals", v.quorum as f64),
        (
            "penalty_ratio ×100",
            "validatorSlashingPct",
            v.penalty_ratio * 100.0,
        ),
        ("burn_ratio ×100", "feePct", v.burn_ratio * 100.0),
        ("min_stake (wei)", "minStake", v.min_stake * 1e18),
    ];
    println!(
        "on chain ({}):",
        crate::chain::redact::redact_url(&target.rpc_url)
    );
    println!("  {}", topology.describe());
    for (name, value) in &onchain {
        println!("  {name:<28} {}", value.as_deref().unwrap_or("n/a"));
    }
    println!("drift:");
    let mut drift = 0;
    for (off, on, want) in pairs {
        let Some(have) = get(on).and_then(|s| s.parse::<f64>().ok()) else {
            continue;
        };
        if (have - want).abs() > want.abs() * 1e-9 {
            drift += 1;
            println!("  DRIFT {off} = {want} but {on} = {have}");
        }
    }
    if drift == 0 {
        println!("  none");
    }
    Ok(())
}

fn number(text: &str, what: &str) -> Result<f64> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => eyre::bail!("{what} must be a number (got {text:?})"),
    }
}

fn ratio(text: &str, what: &str) -> Result<f64> {
    let r = number(text, what)?;
    if !(0.0..=1.0).contains(&r) {
        eyre::bail!("{what} must be between 0 and 1 (got {r})");
    }
    Ok(r)
}

fn count(text: &str, what: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => eyre::bail!("{what} must be a whole number ≥ 1 (got {text:?})"),
    }
}

fn percent(text: &str, what: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(n) if n <= 100 => Ok(n),
        _ => eyre::bail!("{what} must be a whole number between 0 and 100 (got {text:?})"),
    }
}

fn address(text: &str) -> Result<Address> {
    match text.trim().parse::<Address>() {
        Ok(a) if a != Address::ZERO => Ok(a),
        _ => eyre::bail!("{text:?} is not a non-zero address (0x followed by 40 hex digits)"),
    }
}

fn token_units(tokens: f64) -> U256 {
    U256::from(crate::domain::amount::Amount::from_tokens(tokens).0)
}

fn whole_or_float(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}
