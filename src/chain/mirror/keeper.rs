//! The devnet's validator keeper: while selection waits for validators, it tops up the validator
//! stake of our validators that slashing took under the minimum, and mines a few blocks so that
//! bans (counted in blocks) run out on a chain that mines only when asked. Elsewhere the stake
//! is the operator's money: the mirror only says why it waits (and `omega chain provision` fixes
//! it).

use super::chain_io::HubChain;
use crate::chain::bindings::StakeManager;
use crate::chain::tx::Gas;
use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use std::time::{Duration, Instant};

/// The validator role in the StakeManager.
const ROLE_VALIDATOR: u8 = 1;
/// A topped-up validator holds this many minimums (the devnet stakes 1,000 tokens at 1 each).
const TOP_UP_MINIMUMS: u64 = 1_000;
/// Blocks mined per round while selection waits (a devnet ban lasts 100).
const BLOCKS_PER_ROUND: u64 = 10;
/// At most one round this often.
const EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(super) struct Keeper {
    last: Option<Instant>,
}

impl Keeper {
    /// One round, unless one ran less than a second ago.
    pub async fn keep(&mut self, chain: &HubChain, validators: &[Address]) -> eyre::Result<()> {
        if self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return Ok(());
        }
        self.last = Some(Instant::now());
        let sm = chain.d.stake_manager;
        let minimum = chain
            .read_typed(
                "roleMinimum",
                sm,
                StakeManager::roleMinimumCall {
                    role: ROLE_VALIDATOR,
                },
            )
            .await?;
        for &v in validators {
            let call = StakeManager::stakeOfCall {
                user: v,
                role: ROLE_VALIDATOR,
            };
            let stake = chain.read_typed("stakeOf", sm, call).await?;
            if stake >= minimum {
                continue;
            }
            let amount = minimum * U256::from(TOP_UP_MINIMUMS) - stake;
            tracing::info!(
                "chain mirror: validator {v} has {stake} of the {minimum} minimum stake left after \
                 slashing: the devnet tops it up by {amount}"
            );
            let deposit = StakeManager::depositStakeCall {
                role: ROLE_VALIDATOR,
                amount,
            };
            chain
                .hub
                .send(
                    "depositStake (top-up)",
                    v,
                    Some(sm),
                    deposit.abi_encode().into(),
                    Gas::Estimate,
                )
                .await?;
        }
        chain.hub.mine(BLOCKS_PER_ROUND).await
    }
}
