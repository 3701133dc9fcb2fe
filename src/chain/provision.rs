//! Provision: performs the preflight's fixes that the given keys may perform — each key approves
//! the StakeManager and stakes for itself, and the IdentityRegistry's owner allowlists — and
//! refuses the rest with the reason. Approvals go first, since a stake spends from one.

use super::bindings::{AGIALPHA, IdentityRegistry, StakeManager};
use super::manifest::Deployment;
use super::preflight::{Check, Fix};
use super::tx::{Gas, TxHub};
use alloy::primitives::{Address, Bytes};
use alloy::sol_types::SolCall;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub who: String,
    pub action: String,
    /// `sent`, `would send` (dry run), or `refused`.
    pub outcome: String,
    /// The transaction hash, the calldata of a dry run, or the reason for a refusal.
    pub detail: String,
}

/// The call a fix makes: sender, target, label and calldata (None: nobody here can do it).
fn call_of(
    fix: &Fix,
    d: &Deployment,
    owner: Option<Address>,
) -> Result<(Address, Address, String, Vec<u8>), String> {
    match fix {
        Fix::Approve { from, amount } => Ok((
            *from,
            d.token,
            "approve the StakeManager".into(),
            AGIALPHA::approveCall {
                spender: d.stake_manager,
                value: *amount,
            }
            .abi_encode(),
        )),
        Fix::Stake { from, role, amount } => Ok((
            *from,
            d.stake_manager,
            format!("depositStake(role {role})"),
            StakeManager::depositStakeCall {
                role: *role,
                amount: *amount,
            }
            .abi_encode(),
        )),
        Fix::Allowlist { who, validator } => {
            let owner = owner.ok_or("needs the IdentityRegistry owner's key (OMEGA_OWNER_KEY)")?;
            let (label, data) = if *validator {
                let call = IdentityRegistry::addAdditionalValidatorCall { validator: *who };
                ("addAdditionalValidator", call.abi_encode())
            } else {
                let call = IdentityRegistry::addAdditionalAgentCall { agent: *who };
                ("addAdditionalAgent", call.abi_encode())
            };
            Ok((owner, d.identity_registry, label.into(), data))
        }
        Fix::Manual { what } => Err(what.clone()),
    }
}

/// Performs (or, with `dry_run`, shows) the fixes of every failing check.
pub async fn provision(
    hub: &TxHub,
    d: &Deployment,
    checks: &[Check],
    owner: Option<Address>,
    dry_run: bool,
) -> Vec<Step> {
    let rank = |c: &&Check| match c.fix {
        Some(Fix::Approve { .. }) => 0,
        Some(Fix::Stake { .. }) => 1,
        Some(Fix::Allowlist { .. }) => 2,
        _ => 3,
    };
    let mut todo: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    todo.sort_by_key(rank);
    let mut steps = Vec::new();
    for check in todo {
        let Some(fix) = &check.fix else { continue };
        let step = |action: String, outcome: &str, detail: String| Step {
            who: check.who.clone(),
            action,
            outcome: outcome.into(),
            detail,
        };
        match call_of(fix, d, owner) {
            Err(reason) => steps.push(step(check.item.clone(), "refused", reason)),
            Ok((_, to, label, data)) if dry_run => steps.push(step(
                label,
                "would send",
                format!("to {to} data {}", Bytes::from(data)),
            )),
            Ok((from, to, label, data)) => {
                let sent = hub.send(&label, from, Some(to), data.into(), Gas::Estimate);
                match sent.await {
                    Ok(r) => steps.push(step(label, "sent", r.transaction_hash.to_string())),
                    Err(e) => steps.push(step(label, "refused", e.to_string())),
                }
            }
        }
    }
    steps
}
