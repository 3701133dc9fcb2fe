//! `omega attest` and `omega verify`: anchor a checkpoint's content hash on chain, and check a
//! checkpoint file against what the chain holds.

use super::ConfigArgs;
use super::target::TargetArgs;
use crate::chain::attest::{Attested, attest, onchain_hash};
use crate::chain::tx::{TxHub, connect};
use crate::persistence::checkpoint;
use alloy::primitives::B256;
use alloy::providers::Provider;
use clap::Args;
use eyre::Result;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct AttestArgs {
    #[command(flatten)]
    pub files: ConfigArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub files: ConfigArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// The checkpoint to verify (default: the current one).
    #[arg(long, env = "OMEGA_CHECKPOINT")]
    pub checkpoint: Option<PathBuf>,
}

pub fn attest_cmd(a: AttestArgs) -> Result<()> {
    let (_, paths) = a.files.load()?;
    let Some(loaded) = checkpoint::load(&paths.state)? else {
        eyre::bail!(
            "no checkpoint at {}: run the orchestrator once first",
            paths.state.display()
        );
    };
    let index = loaded.state.checkpoint_seq;
    let target = a.target.require(&paths.dir)?;
    target.deployment.checkpoints()?; // one line, before any key or connection is needed
    let (rpc, d) = (target.rpc_url.clone(), target.deployment.clone());
    let journal = paths.dir.join("chain").join("attestations.jsonl");
    let uri = format!("file://{}", paths.state.display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        let key = target.owner_key().await?; // the deployer makes the owner an attestor
        let hub = TxHub::new(connect(&rpc)?, [key.clone()]).await?;
        // The indexer's cursor when there is one: the chain state this checkpoint was reconciled with.
        let indexed =
            crate::chain::indexer::Indexer::read(&paths.dir.join("chain").join("indexer.json"));
        let cursor = match indexed {
            Some((s, _)) if s.registry == d.job_registry => s.block,
            _ => hub.provider().get_block_number().await?,
        };
        attest(
            &hub,
            &d,
            key.address(),
            index,
            loaded.hash,
            &uri,
            &journal,
            cursor,
        )
        .await
    })?;
    match outcome {
        Attested::Sent { tx, block } => println!(
            "attested checkpoint #{index} ({}) in tx {tx}, block {block}",
            loaded.hash
        ),
        Attested::AlreadyThere => {
            println!("checkpoint #{index} ({}) was already attested", loaded.hash)
        }
    }
    Ok(())
}

pub fn verify_cmd(a: VerifyArgs) -> Result<()> {
    let (_, paths) = a.files.load()?;
    let file = a.checkpoint.clone().unwrap_or_else(|| paths.state.clone());
    let loaded = checkpoint::load(&file)?
        .ok_or_else(|| eyre::eyre!("no checkpoint at {}", file.display()))?;
    let index = loaded.state.checkpoint_seq;
    let target = a.target.require(&paths.dir)?;
    target.deployment.checkpoints()?; // one line, before any key or connection is needed
    let (rpc, d) = (target.rpc_url, target.deployment);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let onchain = runtime.block_on(async {
        let hub = TxHub::new(connect(&rpc)?, []).await?;
        onchain_hash(&hub, &d, d.owner, index).await
    })?;
    if onchain == B256::ZERO {
        eyre::bail!(
            "checkpoint #{index} of {} is not attested on chain (omega attest)",
            file.display()
        );
    }
    if onchain != loaded.hash {
        eyre::bail!(
            "checkpoint #{index} of {} hashes to {} but the chain attests {onchain}",
            file.display(),
            loaded.hash
        );
    }
    println!(
        "checkpoint #{index} of {} matches the chain ({onchain})",
        file.display()
    );
    Ok(())
}
