//! Preflight: what an existing v2 deployment is missing before Omega can run on it, read from the
//! chain with the v2 getters, and the fix for each item. For every key: ETH for gas, tokens,
//! the allowance to the StakeManager (the employer and the agents post jobs), the stake per role
//! against `minStake` (+ `jobStake` for agents), identity allowlisting; for the deployment: the
//! pause state, the windows, and the committee size against the eligible validator pool.

use super::bindings::{AGIALPHA, IdentityRegistry, JobRegistry, StakeManager, ValidationModule};
use super::manifest::Deployment;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use serde::Serialize;

/// The subdomain Omega's agents and validators apply and vote under.
pub const SUBDOMAIN: &str = "omega";

/// A key and what the engine uses it for.
#[derive(Clone, Debug)]
pub struct Actor {
    pub name: String,
    pub address: Address,
    /// Posts jobs (the employer, and agents that delegate): needs tokens and an allowance.
    pub posts: bool,
    /// Takes jobs: allowlisted as an agent, staked in the Agent role.
    pub works: bool,
    /// Sits on committees: allowlisted as a validator, staked in the Validator role, in the pool.
    pub validates: bool,
}

/// What an unmet item needs, and who can do it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fix {
    /// `token.approve(stakeManager, amount)` by the key itself.
    Approve { from: Address, amount: U256 },
    /// `stakeManager.depositStake(role, amount)` by the key itself (it holds the tokens).
    Stake {
        from: Address,
        role: u8,
        amount: U256,
    },
    /// `identityRegistry.addAdditionalAgent` / `addAdditionalValidator`, by its owner.
    Allowlist { who: Address, validator: bool },
    /// Something no key given here can do (send ETH or tokens, unpause, …): said in words.
    Manual { what: String },
}

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub who: String,
    pub item: String,
    pub ok: bool,
    pub have: String,
    pub want: String,
    pub fix: Option<Fix>,
}

impl Check {
    /// Whether this check is one a validator needs for a committee seat.
    fn is_validator_seat(&self) -> bool {
        self.item == VALIDATOR_STAKE || self.item == VALIDATOR_IDENTITY
    }
}

/// The items a validator needs for a committee seat.
const VALIDATOR_STAKE: &str = "validator stake";
const VALIDATOR_IDENTITY: &str = "validator identity";

/// Thresholds the checks use.
#[derive(Clone, Copy, Debug)]
pub struct Wants {
    /// ETH (wei) each key should hold for gas.
    pub eth: U256,
    /// Tokens (wei) each posting key should let the StakeManager take.
    pub allowance: U256,
}

/// The deployment's values the checks need.
struct Chain {
    min_stake: U256,
    job_stake: U256,
    committee: U256,
}

/// Runs every check; `ok` is false on the items that need a fix.
pub async fn preflight(
    provider: &DynProvider,
    d: &Deployment,
    actors: &[Actor],
    wants: Wants,
) -> eyre::Result<Vec<Check>> {
    let sm = StakeManager::new(d.stake_manager, provider);
    let chain = Chain {
        min_stake: sm.minStake().call().await?,
        job_stake: U256::from(
            JobRegistry::new(d.job_registry, provider)
                .jobStake()
                .call()
                .await?,
        ),
        committee: ValidationModule::new(d.validation_module, provider)
            .validatorsPerJob()
            .call()
            .await?,
    };
    let mut checks = deployment_checks(provider, d, &chain).await?;
    let mut eligible = 0u64;
    for actor in actors {
        let mine = actor_checks(provider, d, &chain, actor, wants).await?;
        if actor.validates && mine.iter().all(|c| c.ok || !c.is_validator_seat()) {
            eligible += 1;
        }
        checks.extend(mine);
    }
    checks.push(Check {
        who: "deployment".into(),
        item: "eligible validators".into(),
        ok: U256::from(eligible) >= chain.committee,
        have: eligible.to_string(),
        want: format!("≥ {} (validatorsPerJob)", chain.committee),
        fix: Some(Fix::Manual {
            what: "allowlist and stake more validators (the fixes above)".into(),
        }),
    });
    Ok(checks)
}

async fn deployment_checks(
    provider: &DynProvider,
    d: &Deployment,
    chain: &Chain,
) -> eyre::Result<Vec<Check>> {
    let jr = JobRegistry::new(d.job_registry, provider);
    let vm = ValidationModule::new(d.validation_module, provider);
    let paused = jr.paused().call().await?;
    let (commit, reveal) = (
        vm.commitWindow().call().await?,
        vm.revealWindow().call().await?,
    );
    let info = |item: &str, have: String| Check {
        who: "deployment".into(),
        item: item.into(),
        ok: true,
        have,
        want: "-".into(),
        fix: None,
    };
    Ok(vec![
        Check {
            who: "deployment".into(),
            item: "not paused".into(),
            ok: !paused,
            have: if paused { "paused" } else { "running" }.into(),
            want: "running".into(),
            fix: Some(Fix::Manual {
                what: "the governance unpauses it (omega resume with the owner key, or SystemPause.unpauseAll)".into(),
            }),
        },
        info("commit / reveal windows (s)", format!("{commit} / {reveal}")),
        info(
            "minStake / jobStake",
            format!(
                "{} / {}",
                units(chain.min_stake, "tokens"),
                units(chain.job_stake, "tokens")
            ),
        ),
    ])
}

/// The checks of one key.
async fn actor_checks(
    provider: &DynProvider,
    d: &Deployment,
    chain: &Chain,
    a: &Actor,
    wants: Wants,
) -> eyre::Result<Vec<Check>> {
    let token = AGIALPHA::new(d.token, provider);
    let balance = token.balanceOf(a.address).call().await?;
    let eth = provider.get_balance(a.address).await?;
    let mut out = vec![key_check(
        a,
        "ETH for gas",
        eth >= wants.eth,
        units(eth, "ETH"),
        format!("≥ {}", units(wants.eth, "ETH")),
        Fix::Manual {
            what: format!("send ETH to {}", a.address),
        },
    )];
    let mut spare = balance;
    out.extend(stake_checks(provider, d, chain, a, &mut spare).await?);
    out.extend(identity_checks(provider, d, a).await?);
    let allowance = token.allowance(a.address, d.stake_manager).call().await?;
    // Staking spends from the allowance too.
    let needed = if a.posts { wants.allowance } else { U256::ZERO } + (balance - spare);
    if needed > U256::ZERO {
        out.push(key_check(
            a,
            "allowance to the StakeManager",
            allowance >= needed,
            units(allowance, "tokens"),
            format!("≥ {}", units(needed, "tokens")),
            Fix::Approve {
                from: a.address,
                amount: needed,
            },
        ));
    }
    if a.posts {
        out.push(key_check(
            a,
            "tokens to post jobs",
            !spare.is_zero(),
            units(spare, "tokens"),
            "> 0".into(),
            Fix::Manual {
                what: format!("send tokens to {}", a.address),
            },
        ));
    }
    Ok(out)
}

/// One check of a key, with its fix.
fn key_check(a: &Actor, item: &str, ok: bool, have: String, want: String, fix: Fix) -> Check {
    Check {
        who: a.name.clone(),
        item: item.into(),
        ok,
        have,
        want,
        fix: Some(fix),
    }
}

/// The stake of each role the key plays; a shortfall is staked from `spare` tokens while they
/// last (what is staked is taken out of `spare`), and otherwise needs tokens sent.
async fn stake_checks(
    provider: &DynProvider,
    d: &Deployment,
    chain: &Chain,
    a: &Actor,
    spare: &mut U256,
) -> eyre::Result<Vec<Check>> {
    let mut out = Vec::new();
    for (role, wanted, active) in [
        (0u8, chain.min_stake + chain.job_stake, a.works),
        (1u8, chain.min_stake, a.validates),
    ] {
        if !active {
            continue;
        }
        let staked = StakeManager::new(d.stake_manager, provider)
            .stakeOf(a.address, role)
            .call()
            .await?;
        let short = wanted.saturating_sub(staked);
        let fix = if short <= *spare {
            *spare -= short;
            Fix::Stake {
                from: a.address,
                role,
                amount: short,
            }
        } else {
            Fix::Manual {
                what: format!("send {} to {} to stake", units(short, "tokens"), a.address),
            }
        };
        let item = if role == 0 {
            "agent stake"
        } else {
            VALIDATOR_STAKE
        };
        out.push(key_check(
            a,
            item,
            short.is_zero(),
            units(staked, "tokens"),
            format!("≥ {}", units(wanted, "tokens")),
            fix,
        ));
    }
    Ok(out)
}

async fn identity_checks(
    provider: &DynProvider,
    d: &Deployment,
    a: &Actor,
) -> eyre::Result<Vec<Check>> {
    let ir = IdentityRegistry::new(d.identity_registry, provider);
    let mut out = Vec::new();
    for (validator, active) in [(false, a.works), (true, a.validates)] {
        if !active {
            continue;
        }
        let ok = if validator {
            ir.verifyValidator(a.address, SUBDOMAIN.into(), vec![])
                .call()
                .await?
                .ok
        } else {
            ir.verifyAgent(a.address, SUBDOMAIN.into(), vec![])
                .call()
                .await?
                .ok
        };
        out.push(Check {
            who: a.name.clone(),
            item: if validator {
                VALIDATOR_IDENTITY
            } else {
                "agent identity"
            }
            .into(),
            ok,
            have: if ok { "allowlisted" } else { "unknown" }.into(),
            want: "allowlisted".into(),
            fix: Some(Fix::Allowlist {
                who: a.address,
                validator,
            }),
        });
    }
    Ok(out)
}

/// An 18-decimal amount for people: `1000 tokens`, `0.01 ETH`, `unlimited`.
fn units(v: U256, unit: &str) -> String {
    if v == U256::MAX {
        return "unlimited".into();
    }
    let text = alloy::primitives::utils::format_units(v, 18).unwrap_or_else(|_| v.to_string());
    let text = match text.split_once('.') {
        Some((whole, frac)) if frac.trim_end_matches('0').is_empty() => whole.to_string(),
        Some((whole, frac)) => format!("{whole}.{}", frac.trim_end_matches('0')),
        None => text,
    };
    format!("{text} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_tokens() {
        let wei = U256::from(10u64).pow(U256::from(16u64));
        assert_eq!(units(wei, "ETH"), "0.01 ETH");
        assert_eq!(units(wei * U256::from(100_000u64), "tokens"), "1000 tokens");
        assert_eq!(units(U256::MAX, "tokens"), "unlimited");
        assert_eq!(units(U256::ZERO, "tokens"), "0 tokens");
    }
}
