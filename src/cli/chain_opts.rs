//! `omega run`'s chain options: the local devnet (default), any EVM chain by RPC URL, or none.

use super::devnet::{AnvilArgs, up, workforce};
use crate::chain::anvil::DevnetPaths;
use crate::chain::keys::Keys;
use crate::chain::manifest::Deployment;
use crate::chain::mirror::{Actors, ChainMirror, MirrorSettings};
use crate::chain::tx::{TxHub, connect};
use crate::config::{Config, ReportPaths};
use crate::domain::agent::Role;
use crate::domain::ledger::AccountId;
use crate::engine::Orchestrator;
use clap::{Args, ValueEnum};
use eyre::{Result, WrapErr};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ChainMode {
    /// Start (or reuse) the local anvil devnet with our contracts.
    Devnet,
    /// Any EVM chain: needs --rpc-url and --deployments; keys from the environment.
    Rpc,
    /// Pure simulation, no chain.
    Off,
}

#[derive(Args, Debug, Clone)]
pub struct ChainArgs {
    /// Where the job lifecycles are mirrored (default: the local devnet; `--rpc-url` implies rpc).
    #[arg(long, env = "OMEGA_CHAIN", value_enum)]
    pub chain: Option<ChainMode>,
    /// JSON-RPC URL of an EVM chain with AGI Jobs v2 contracts.
    #[arg(long, env = "OMEGA_RPC_URL")]
    pub rpc_url: Option<String>,
    /// Deployment manifest (flat camelCase addresses, chainId, deployBlock) for --rpc-url.
    #[arg(long, env = "OMEGA_DEPLOYMENTS")]
    pub deployments: Option<PathBuf>,
    /// Commit and reveal windows of the target chain's ValidationModule, in seconds (rpc mode).
    #[arg(
        long,
        env = "OMEGA_CHAIN_WINDOWS",
        default_value = "1800,1800",
        value_delimiter = ',',
        num_args = 2
    )]
    pub windows: Vec<u64>,
    #[command(flatten)]
    pub anvil: AnvilArgs,
}

impl ChainArgs {
    pub fn mode(&self) -> ChainMode {
        self.chain.unwrap_or(if self.rpc_url.is_some() {
            ChainMode::Rpc
        } else {
            ChainMode::Devnet
        })
    }

    /// Validates the flags before anything starts.
    pub fn check(&self) -> Result<()> {
        if self.mode() == ChainMode::Rpc && (self.rpc_url.is_none() || self.deployments.is_none()) {
            eyre::bail!("--chain rpc needs --rpc-url URL and --deployments FILE");
        }
        Ok(())
    }

    /// Where the status API finds the manifest, the RPC URL and the signers' addresses (call
    /// after `attach`, which starts the devnet).
    pub fn source(&self, config: &Config, paths: &ReportPaths) -> crate::http::ChainSource {
        use crate::http::ChainSource;
        let (agents, validators) = workforce(config);
        let (mode, manifest, rpc_url, keys) = match self.mode() {
            ChainMode::Off => {
                return ChainSource {
                    mode: "off",
                    ..Default::default()
                };
            }
            ChainMode::Devnet => {
                let devnet = DevnetPaths::new(&paths.dir);
                let url = crate::chain::anvil::running(&devnet).map(|p| p.rpc_url);
                (
                    "devnet",
                    Some(devnet.manifest),
                    url,
                    Keys::devnet(agents, validators),
                )
            }
            ChainMode::Rpc => (
                "rpc",
                self.deployments.clone(),
                self.rpc_url.clone(),
                Keys::from_env(agents, validators),
            ),
        };
        ChainSource {
            mode,
            manifest,
            rpc_url,
            signers: keys.map(|k| signers(config, &k)).unwrap_or_default(),
        }
    }

    /// Attaches the chain mirror to the orchestrator; returns a label for the summary.
    pub async fn attach(
        &self,
        config: &Config,
        paths: &ReportPaths,
        orchestrator: &mut Orchestrator,
    ) -> Result<()> {
        let (agents, validators) = workforce(config);
        let (rpc_url, deployment, keys, devnet) = match self.mode() {
            ChainMode::Off => return Ok(()),
            ChainMode::Devnet => {
                let d = up(config, &DevnetPaths::new(&paths.dir), &self.anvil).await?;
                (
                    d.process.rpc_url.clone(),
                    d.deployment,
                    Keys::devnet(agents, validators)?,
                    true,
                )
            }
            ChainMode::Rpc => {
                let url = self.rpc_url.clone().expect("checked");
                let manifest = self.deployments.as_ref().expect("checked");
                (
                    url,
                    Deployment::load(manifest)?,
                    Keys::from_env(agents, validators)?,
                    false,
                )
            }
        };
        let hub = TxHub::new(connect(&rpc_url)?, keys.all().cloned())
            .await
            .wrap_err_with(|| format!("cannot reach {rpc_url}"))?;
        if hub.chain_id() != deployment.chain_id {
            eyre::bail!(
                "{rpc_url} is chain {} but the deployment manifest is for chain {}",
                hub.chain_id(),
                deployment.chain_id
            );
        }
        let world = orchestrator.world();
        let mut by_account = vec![keys.employer.address()];
        let (mut next_agent, mut next_validator) = (keys.agents.iter(), keys.validators.iter());
        for agent in &world.agents {
            let key = if agent.role == Role::Validator {
                next_validator.next()
            } else {
                next_agent.next()
            };
            by_account.push(key.expect("keys cover the workforce").address());
        }
        let names: HashMap<String, AccountId> = world
            .state
            .ledger
            .accounts()
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.clone(), AccountId(i as u32)))
            .collect();
        // The chain's own windows when it exposes them (ours do), else the configured ones.
        let onchain =
            crate::chain::governance::read_params(&hub, &deployment, keys.owner.address()).await;
        let window = |name: &str, fallback: u64| {
            onchain
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.as_ref()?.parse().ok())
                .unwrap_or(fallback)
        };
        let (commit_window_s, reveal_window_s) = (
            window("commitWindow", self.windows[0]),
            window("revealWindow", self.windows[1]),
        );
        let settings = MirrorSettings {
            journal: paths.dir.join("chain").join("mirror.jsonl"),
            devnet,
            commit_window_s,
            reveal_window_s,
            force_finalize_grace_s: 3600,
            // A fresh world's demo jobs are mirrored too; jobs of a state that ran without a
            // chain before are not.
            first_job: if world.state.cycle == 0 {
                1
            } else {
                world.state.jobs.next_id().0
            },
        };
        let actors = Actors {
            by_account,
            owner: keys.owner.address(),
        };
        tracing::info!(
            "mirroring job lifecycles to {rpc_url} (JobRegistry {})",
            deployment.job_registry
        );
        let mirror = ChainMirror::start(hub, deployment, actors, names, settings, rpc_url)?;
        orchestrator.add_sink(Box::new(mirror));
        Ok(())
    }
}

/// Who signs what, by public address: the owner, the employer, then each agent by name (agents
/// and validators take their keys in config order, as the mirror assigns them).
pub(super) fn signers(config: &Config, keys: &Keys) -> Vec<(String, alloy::primitives::Address)> {
    let (mut agents, mut validators) = (keys.agents.iter(), keys.validators.iter());
    let mut out = vec![
        ("owner".to_string(), keys.owner.address()),
        ("employer".to_string(), keys.employer.address()),
    ];
    for profile in crate::domain::world::profiles(config) {
        let key = if profile.role == Role::Validator {
            validators.next()
        } else {
            agents.next()
        };
        if let Some(key) = key {
            out.push((profile.name, key.address()));
        }
    }
    out
}
