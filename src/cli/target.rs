//! Which existing chain a one-shot command (`owner`, `attest`, `verify`) talks to: the devnet
//! running from the reports folder, a chain by RPC URL, or none. Unlike `omega run`, these
//! commands never start a devnet.

use crate::chain::anvil::{self, DevnetPaths};
use crate::chain::keys::{KeyError, Keys};
use crate::chain::manifest::Deployment;
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, ValueEnum};
use eyre::Result;
use std::path::{Path, PathBuf};

/// The chain a one-shot command talks to.
#[derive(Clone, Debug)]
pub struct Target {
    pub rpc_url: String,
    pub deployment: Deployment,
    /// The devnet this reports folder started (its process file and manifest), not a chain
    /// reached by URL: the only place where anvil's public test keys may stand in for the owner's.
    pub local_devnet: bool,
}

impl Target {
    /// `OMEGA_OWNER_KEY`, or anvil's first test key when the target is this reports folder's own
    /// devnet *and* answers as anvil on chain 31337. Anywhere else a missing key is an error that
    /// names the variable: a public test key must never sign on a real chain.
    pub async fn owner_key(&self) -> Result<PrivateKeySigner> {
        if let Some(key) = Keys::owner_from_env()? {
            return Ok(key);
        }
        if self.local_devnet && is_anvil(&self.rpc_url).await? {
            return Ok(Keys::devnet(0, 0)?.owner);
        }
        Err(KeyError::NotLocalDevnet("OMEGA_OWNER_KEY").into())
    }
}

/// Chain id 31337 and an anvil client version.
async fn is_anvil(rpc_url: &str) -> Result<bool> {
    let provider = crate::chain::tx::connect(rpc_url)?;
    let chain_id = provider.get_chain_id().await?;
    let client = provider.get_client_version().await?;
    Ok(chain_id == anvil::CHAIN_ID && client.to_ascii_lowercase().starts_with("anvil"))
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum TargetChain {
    /// The devnet when one is running from this reports folder (or --rpc-url when given), otherwise none.
    Auto,
    Devnet,
    Rpc,
    Off,
}

#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Which chain the command talks to.
    #[arg(long, env = "OMEGA_TARGET_CHAIN", value_enum, default_value_t = TargetChain::Auto)]
    pub chain: TargetChain,
    /// JSON-RPC URL (implies --chain rpc); the owner key comes from OMEGA_OWNER_KEY.
    #[arg(long, env = "OMEGA_RPC_URL")]
    pub rpc_url: Option<String>,
    /// Deployment manifest for --rpc-url.
    #[arg(long, env = "OMEGA_DEPLOYMENTS")]
    pub deployments: Option<PathBuf>,
}

impl TargetArgs {
    /// The chain to use, or None when no chain is configured.
    pub fn resolve(&self, reports: &Path) -> Result<Option<Target>> {
        let mode = match (self.chain, &self.rpc_url) {
            (TargetChain::Auto, Some(_)) => TargetChain::Rpc,
            (mode, _) => mode,
        };
        match mode {
            TargetChain::Off => Ok(None),
            TargetChain::Rpc => {
                let (Some(url), Some(manifest)) = (&self.rpc_url, &self.deployments) else {
                    eyre::bail!("--chain rpc needs --rpc-url URL and --deployments FILE");
                };
                crate::chain::redact::register(url);
                Ok(Some(Target {
                    rpc_url: url.clone(),
                    deployment: Deployment::load(manifest)?,
                    local_devnet: false,
                }))
            }
            TargetChain::Devnet | TargetChain::Auto => {
                let devnet = DevnetPaths::new(reports);
                match (anvil::running(&devnet), Deployment::load(&devnet.manifest)) {
                    (Some(p), Ok(d)) => Ok(Some(Target {
                        rpc_url: p.rpc_url,
                        deployment: d,
                        local_devnet: true,
                    })),
                    _ if mode == TargetChain::Devnet => {
                        eyre::bail!(
                            "no devnet is running from {}: omega devnet up",
                            reports.display()
                        )
                    }
                    _ => Ok(None),
                }
            }
        }
    }

    /// Like `resolve`, for commands that cannot work without a chain.
    pub fn require(&self, reports: &Path) -> Result<Target> {
        self.resolve(reports)?.ok_or_else(|| {
            eyre::eyre!(
                "no chain: start the devnet (omega devnet up) or pass --rpc-url and --deployments"
            )
        })
    }
}
