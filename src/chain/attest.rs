//! Checkpoint attestation: the content hash of a checkpoint goes to `CheckpointRegistry` under
//! the checkpoint's sequence number. The intent is journaled before the transaction; a second,
//! different hash for an index is never sent (fail closed).

use super::bindings::CheckpointRegistry;
use super::manifest::Deployment;
use super::tx::{Gas, TxHub};
use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolCall;
use std::io::Write;
use std::path::Path;

#[derive(Debug, PartialEq, Eq)]
pub enum Attested {
    /// Sent now, in this transaction and block.
    Sent { tx: B256, block: u64 },
    /// The chain already holds this very hash for the index.
    AlreadyThere,
}

/// The hash the chain holds for `index` (zero when unattested).
pub async fn onchain_hash(
    hub: &TxHub,
    d: &Deployment,
    from: Address,
    index: u64,
) -> eyre::Result<B256> {
    let call = CheckpointRegistry::checkpointHashCall {
        index: U256::from(index),
    };
    let out = hub
        .call(
            "checkpointHash",
            from,
            d.checkpoints()?,
            call.abi_encode().into(),
        )
        .await?;
    Ok(CheckpointRegistry::checkpointHashCall::abi_decode_returns(
        &out,
    )?)
}

/// Attests `hash` under `index` from `attestor`, journaling the intent in `journal` first;
/// `cursor` is the chain block the checkpoint was reconciled with.
#[allow(clippy::too_many_arguments)]
pub async fn attest(
    hub: &TxHub,
    d: &Deployment,
    attestor: Address,
    index: u64,
    hash: B256,
    uri: &str,
    journal: &Path,
    cursor: u64,
) -> eyre::Result<Attested> {
    let existing = onchain_hash(hub, d, attestor, index).await?;
    if existing == hash {
        return Ok(Attested::AlreadyThere);
    }
    if existing != B256::ZERO {
        eyre::bail!(
            "checkpoint #{index} is attested on chain as {existing}, but this checkpoint hashes to {hash}: \
             the off-chain state diverged from what was attested (restored from an older checkpoint or edited?). \
             Nothing was sent; a checkpoint with a later index can be attested"
        );
    }
    if let Some(dir) = journal.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal)?;
    writeln!(
        f,
        "{}",
        serde_json::json!({"intent": "attest", "index": index, "hash": hash, "cursor_block": cursor})
    )?;
    f.sync_data()?;
    let call = CheckpointRegistry::attestCheckpointCall {
        index: U256::from(index),
        stateHash: hash,
        cursorBlock: U256::from(cursor),
        uri: uri.to_string(),
    };
    let receipt = hub
        .send(
            "CheckpointRegistry.attestCheckpoint",
            attestor,
            Some(d.checkpoints()?),
            call.abi_encode().into(),
            Gas::Estimate,
        )
        .await?;
    writeln!(
        f,
        "{}",
        serde_json::json!({"done": "attest", "index": index, "tx": receipt.transaction_hash})
    )?;
    f.sync_data()?;
    Ok(Attested::Sent {
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
    })
}
