//! Which existing chain a one-shot command (`owner`, `attest`, `verify`) talks to: the devnet
//! running from the reports folder, a chain by RPC URL, or none. Unlike `omega run`, these
//! commands never start a devnet.

use crate::chain::anvil::{self, DevnetPaths};
use crate::chain::manifest::Deployment;
use clap::{Args, ValueEnum};
use eyre::Result;
use std::path::{Path, PathBuf};

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
    /// The RPC URL and deployment to use, or None when no chain is configured.
    pub fn resolve(&self, reports: &Path) -> Result<Option<(String, Deployment)>> {
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
                Ok(Some((url.clone(), Deployment::load(manifest)?)))
            }
            TargetChain::Devnet | TargetChain::Auto => {
                let devnet = DevnetPaths::new(reports);
                match (anvil::running(&devnet), Deployment::load(&devnet.manifest)) {
                    (Some(p), Ok(d)) => Ok(Some((p.rpc_url, d))),
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
    pub fn require(&self, reports: &Path) -> Result<(String, Deployment)> {
        self.resolve(reports)?.ok_or_else(|| {
            eyre::eyre!(
                "no chain: start the devnet (omega devnet up) or pass --rpc-url and --deployments"
            )
        })
    }
}
