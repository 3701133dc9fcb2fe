//! `devnet up` as a library call: start (or reuse) the local anvil, deploy and wire the contracts
//! when the chain does not have them yet, and write the manifest and the gateway env file.

use super::anvil::{self, DevnetPaths};
use super::deploy::{self, DevnetParams};
use super::keys::Keys;
use super::manifest::Deployment;
use super::tx::{TxHub, connect};
use crate::persistence::atomic::write_atomic;
use eyre::{Result, WrapErr};
use std::path::Path;

/// A devnet ready for use.
pub struct Devnet {
    pub process: anvil::AnvilProcess,
    pub deployment: Deployment,
    /// True when this call started anvil, deployed, or both.
    pub started: bool,
    pub deployed: bool,
}

pub struct DevnetOptions<'a> {
    pub anvil: Option<&'a Path>,
    pub port: u16,
    pub params: DevnetParams,
    pub agents: usize,
    pub validators: usize,
    /// Who governs the modules, applied to a new deployment and to a reused one alike; None
    /// leaves a reused deployment as it is (a new one starts in `Governance::Owner`).
    pub governance: Option<deploy::Governance>,
}

pub async fn ensure_up(paths: &DevnetPaths, o: &DevnetOptions<'_>) -> Result<Devnet> {
    let (process, started) = match anvil::running(paths) {
        Some(p) => (p, false),
        None => {
            let binary = anvil::locate(o.anvil)?;
            let accounts = Keys::devnet_accounts(o.agents, o.validators);
            (anvil::start(&binary, paths, o.port, accounts).await?, true)
        }
    };
    let keys = Keys::devnet(o.agents, o.validators)?;
    let provider = connect(&process.rpc_url)?;
    if super::miner::restore_if_orphaned(&provider, &paths.miner).await? {
        tracing::info!("devnet: automine restored (the run that was mining it is gone)");
    }
    let hub = TxHub::new(provider, keys.all().cloned()).await?;
    let existing = Deployment::load(&paths.manifest).ok();
    let reusable = match &existing {
        Some(d) => deploy::verify(&hub, d).await.unwrap_or(false),
        None => false,
    };
    let (deployment, deployed) = if reusable {
        (existing.expect("checked"), false)
    } else {
        let d = deploy::deploy(&hub, &keys, &o.params)
            .await
            .wrap_err("deploying the contracts to the devnet")?;
        d.save(&paths.manifest)?;
        write_atomic(&paths.env, d.gateway_env(&process.rpc_url).as_bytes())?;
        (d, true)
    };
    if let Some(governance) = o.governance {
        deploy::set_governance(&hub, &deployment, governance)
            .await
            .wrap_err("setting the devnet's governance topology")?;
    }
    Ok(Devnet {
        process,
        deployment,
        started,
        deployed,
    })
}
