//! Reads what `reconcile`'s stalled check needs from the chain: its time now, the time of the
//! block each open job last moved in, and the validation windows.

use super::bindings::ValidationModule;
use super::manifest::Deployment;
use super::reconcile::StallClock;
use alloy::eips::BlockNumberOrTag;
use alloy::providers::{DynProvider, Provider};
use std::collections::BTreeMap;

/// `forceFinalize` opens this long after the reveal window on our contracts; a deployment
/// without the getter (the reference) is given the same.
const FORCE_FINALIZE_GRACE_S: u64 = 3_600;

/// `candidates`: on-chain job → block of its last step.
pub async fn read(
    provider: &DynProvider,
    d: &Deployment,
    candidates: &BTreeMap<u64, u64>,
) -> eyre::Result<StallClock> {
    let vm = ValidationModule::new(d.validation_module, provider);
    let commit = vm.commitWindow().call().await?;
    let reveal = vm.revealWindow().call().await?;
    let to_s = |v: alloy::primitives::U256| u64::try_from(v).unwrap_or(u64::MAX / 8);
    let mut times: BTreeMap<u64, u64> = BTreeMap::new();
    let mut moved_at = BTreeMap::new();
    for (&job, &block) in candidates {
        let t = match times.get(&block) {
            Some(t) => *t,
            None => {
                let t = block_time(provider, BlockNumberOrTag::Number(block)).await?;
                times.insert(block, t);
                t
            }
        };
        moved_at.insert(job, t);
    }
    Ok(StallClock {
        now: now(provider).await?,
        moved_at,
        limit_s: StallClock::limit(to_s(commit), to_s(reveal), FORCE_FINALIZE_GRACE_S),
    })
}

/// The chain's time now. A devnet mines only when asked, so its latest block can be old: the
/// pending block carries the time the next block would get (a node that has no pending block
/// gives the latest).
async fn now(provider: &DynProvider) -> eyre::Result<u64> {
    let latest = block_time(provider, BlockNumberOrTag::Latest).await?;
    let pending = block_time(provider, BlockNumberOrTag::Pending)
        .await
        .unwrap_or(0);
    Ok(latest.max(pending))
}

async fn block_time(provider: &DynProvider, at: BlockNumberOrTag) -> eyre::Result<u64> {
    let block = provider
        .get_block_by_number(at)
        .await?
        .ok_or_else(|| eyre::eyre!("the node has no block {at}"))?;
    Ok(block.header.timestamp)
}
