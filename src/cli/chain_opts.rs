//! `omega run`'s chain options: the local devnet (default), any EVM chain by RPC URL, or none.

use super::devnet::{AnvilArgs, up};
use crate::chain::anvil::DevnetPaths;
use crate::chain::attestor::{AttestorSettings, AutoAttestor};
use crate::chain::follower::{Adoption, ChainFollower};
use crate::chain::indexer::{Indexer, IndexerSettings, RpcSource};
use crate::chain::keys::Keys;
use crate::chain::manifest::Deployment;
use crate::chain::miner::Miner;
use crate::chain::mirror::{Actors, ChainMirror, MirrorSettings};
use crate::chain::reconcile::{EngineSide, reconcile};
use crate::chain::redact::redact_url;
use crate::chain::tx::{TxHub, connect};
use crate::config::{Config, ReportPaths};
use crate::domain::agent::Role;
use crate::domain::ledger::AccountId;
use crate::domain::world::World;
use crate::engine::Orchestrator;
use crate::engine::seams::EventSink;
use clap::{Args, ValueEnum};
use eyre::{Result, WrapErr};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

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
    /// The highest fee per gas (gwei) a replacement of a priced-out transaction may offer; past
    /// it the transaction waits for the market, and `/metrics` counts the cap being hit.
    #[arg(long, env = "OMEGA_MAX_FEE_GWEI", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_fee_gwei: u64,
    /// The public base URL results are served under (`{base}/results/{hash}` goes on chain with
    /// an external agent's result); default: the `--http` address of this run.
    #[arg(long, env = "OMEGA_RESULT_URI_BASE")]
    pub result_uri_base: Option<String>,
    /// Seconds the mirror keeps a settled job's record once its finalize is deep enough (and 16
    /// blocks more), in case a reorg takes it; then only the journal keeps it.
    #[arg(long, env = "OMEGA_FORGET_AFTER_S", default_value_t = 30)]
    pub forget_after_s: u64,
    #[command(flatten)]
    pub anvil: AnvilArgs,
    #[command(flatten)]
    pub indexer: IndexerArgs,
}

/// How the event indexer reads the chain (shared by `run` and `reconcile`).
#[derive(Args, Debug, Clone)]
pub struct IndexerArgs {
    /// Blocks per `eth_getLogs` request; halves on a provider's range or size error, grows back.
    #[arg(long, env = "OMEGA_LOG_CHUNK", default_value_t = 2_000)]
    pub log_chunk: u64,
    /// Blocks a block must be buried under before it is indexed (default: 0 on the devnet, 2 elsewhere).
    #[arg(long, env = "OMEGA_CONFIRMATIONS")]
    pub confirmations: Option<u64>,
    /// Milliseconds between two indexer steps while running.
    #[arg(long, env = "OMEGA_CHAIN_POLL_MS", default_value_t = 500)]
    pub chain_poll_ms: u64,
}

impl IndexerArgs {
    pub fn settings(&self, reports: &std::path::Path, devnet: bool) -> IndexerSettings {
        let mut s = IndexerSettings::new(
            reports,
            self.confirmations.unwrap_or(if devnet { 0 } else { 2 }),
        );
        s.chunk = self.log_chunk.max(1);
        s
    }
}

/// What `attach` leaves running beside the mirror.
pub struct Attached {
    /// On the devnet, the block builder mining for the run: stop it when the run ends (it gives
    /// the devnet its automine back).
    pub miner: Option<Arc<Miner>>,
    /// The signing hub's counters, for the status API.
    pub transactions: crate::chain::tx::TxFigures,
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
        if let Some(url) = &self.rpc_url {
            crate::chain::redact::register(url);
        }
        Ok(())
    }

    /// Where the status API finds the manifest, the RPC URL and the signers' addresses (call
    /// after `attach`, which starts the devnet).
    pub fn source(&self, config: &Config, paths: &ReportPaths) -> crate::http::ChainSource {
        use crate::http::ChainSource;
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
                    super::external::workforce_keys(config, true),
                )
            }
            ChainMode::Rpc => (
                "rpc",
                self.deployments.clone(),
                self.rpc_url.clone(),
                super::external::workforce_keys(config, false),
            ),
        };
        ChainSource {
            mode,
            manifest,
            rpc_url,
            signers: keys.map(|k| signers(config, &k)).unwrap_or_default(),
            transactions: None,
        }
    }

    /// Attaches the chain mirror to the orchestrator. On the devnet, returns the block builder
    /// that mines for the run; stop it when the run ends (it gives the devnet its automine back).
    pub async fn attach(
        &self,
        config: &Config,
        paths: &ReportPaths,
        orchestrator: &mut Orchestrator,
    ) -> Result<Option<Attached>> {
        let Some(Connection {
            rpc_url,
            deployment,
            keys,
            devnet,
            hub,
            miner,
        }) = self.connect(config, paths).await?
        else {
            return Ok(None);
        };
        let world = orchestrator.world();
        let mut actors = actors(world, &keys);
        // Reference mode: governance reaches the registry through SystemPause.
        let registry_governor =
            crate::chain::topology::governor_of(&hub, deployment.job_registry).await;
        if registry_governor == Some(deployment.system_pause) {
            actors.registry_via = Some(deployment.system_pause);
            tracing::info!(
                "the JobRegistry belongs to SystemPause {}: governance calls go through executeGovernanceCall",
                deployment.system_pause
            );
        }
        if let Some(dm) = deployment.dispute_module
            && crate::chain::topology::governor_of(&hub, dm).await == Some(deployment.system_pause)
        {
            actors.dispute_via = Some(deployment.system_pause);
        }
        let names = account_names(world);
        let settings = self
            .mirror_settings(&hub, &deployment, &keys, paths, devnet, world)
            .await;
        tracing::info!(
            "mirroring job lifecycles to {} (JobRegistry {})",
            redact_url(&rpc_url),
            deployment.job_registry
        );
        let ours = keys.all().map(|k| k.address()).collect();
        let cursor = Arc::new(AtomicU64::new(0));
        let follower = self
            .follow(
                &rpc_url,
                &deployment,
                paths,
                devnet,
                ours,
                (cursor.clone(), settings.reorgs.clone()),
            )
            .await?;
        orchestrator.add_source(Box::new(follower));
        attach_attestor(
            config,
            paths,
            &hub,
            &deployment,
            &keys,
            cursor,
            orchestrator,
        );
        let transactions = hub.figures();
        let mut mirror = ChainMirror::start(hub, deployment, actors, names, settings, rpc_url)?;
        // What the mirror was told before a crash may be lost with it: tell it again.
        let world = orchestrator.world();
        let (cycle, now) = (world.state.cycle, world.state.now_ms);
        mirror.deliver(cycle, now, &world.catch_up_events())?;
        orchestrator.add_sink(Box::new(mirror));
        Ok(Some(Attached {
            miner,
            transactions,
        }))
    }

    /// Starts the devnet or loads the deployment, connects the signing hub (with the devnet's
    /// block builder) and checks the node is on the deployment's chain; None when the chain is
    /// off.
    async fn connect(&self, config: &Config, paths: &ReportPaths) -> Result<Option<Connection>> {
        let (rpc_url, deployment, keys, devnet) = match self.mode() {
            ChainMode::Off => return Ok(None),
            ChainMode::Devnet => {
                let d = up(config, &DevnetPaths::new(&paths.dir), &self.anvil).await?;
                (
                    d.process.rpc_url.clone(),
                    d.deployment,
                    super::external::workforce_keys(config, true)?,
                    true,
                )
            }
            ChainMode::Rpc => {
                let url = self.rpc_url.clone().expect("checked");
                let manifest = self.deployments.as_ref().expect("checked");
                (
                    url,
                    Deployment::load(manifest)?,
                    super::external::workforce_keys(config, false)?,
                    false,
                )
            }
        };
        let mut hub = TxHub::new(connect(&rpc_url)?, keys.all().cloned())
            .await
            .wrap_err_with(|| format!("cannot reach {}", redact_url(&rpc_url)))?
            .with_max_fee(u128::from(self.max_fee_gwei) * 1_000_000_000);
        let miner = if devnet {
            let lease = DevnetPaths::new(&paths.dir).miner;
            let miner = Miner::start(hub.provider().clone(), &lease).await?;
            hub = hub.with_miner(miner.clone());
            hub.drop_leftovers().await;
            Some(miner)
        } else {
            None
        };
        if hub.chain_id() != deployment.chain_id {
            eyre::bail!(
                "{} is chain {} but the deployment manifest is for chain {}",
                redact_url(&rpc_url),
                hub.chain_id(),
                deployment.chain_id
            );
        }
        Ok(Some(Connection {
            rpc_url,
            deployment,
            keys,
            devnet,
            hub,
            miner,
        }))
    }

    /// The mirror's journal, windows and first job.
    async fn mirror_settings(
        &self,
        hub: &TxHub,
        deployment: &Deployment,
        keys: &Keys,
        paths: &ReportPaths,
        devnet: bool,
        world: &World,
    ) -> MirrorSettings {
        // The chain's own windows when it exposes them (ours do), else the configured ones.
        let onchain =
            crate::chain::governance::read_params(hub, deployment, keys.owner.address()).await;
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
        MirrorSettings {
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
            confirmations: self.indexer.settings(&paths.dir, devnet).confirmations,
            reorgs: Arc::new(AtomicU64::new(0)),
            result_uri_base: self.result_uri_base.clone(),
            forget_after: std::time::Duration::from_secs(self.forget_after_s),
        }
    }

    /// Catches the indexer up, reconciles the checkpoint with the chain (start-up
    /// reconciliation), then follows the chain for the engine.
    async fn follow(
        &self,
        rpc_url: &str,
        deployment: &Deployment,
        paths: &ReportPaths,
        devnet: bool,
        ours: std::collections::BTreeSet<alloy::primitives::Address>,
        (cursor, reorgs): (Arc<AtomicU64>, Arc<AtomicU64>),
    ) -> Result<ChainFollower> {
        let settings = self.indexer.settings(&paths.dir, devnet);
        let mut indexer = Indexer::open(deployment, settings)?;
        let source = RpcSource::connect(rpc_url)?;
        let started = std::time::Instant::now();
        let mut bar = super::progress::BackfillBar::default();
        let n = indexer
            .sync_with(&source, &mut |b| bar.update(b))
            .await
            .wrap_err("indexing the chain")?;
        drop(bar);
        let engine = EngineSide::load(&paths.state, &paths.archive, &paths.dir.join("chain"))?;
        let view = indexer.full_view()?;
        let mut report = reconcile(&engine, &view);
        // Jobs that stood still on chain past their windows (while the run was down, say): the
        // mirror takes them up again, and the log says which.
        let candidates = crate::chain::reconcile::stall_candidates(&engine, &view);
        match crate::chain::stall_clock::read(&source.0, deployment, &candidates).await {
            Ok(clock) => crate::chain::reconcile::stalled(&mut report, &engine, &view, &clock),
            Err(e) => {
                tracing::warn!("start-up reconciliation: cannot read the chain's clock: {e:#}")
            }
        }
        tracing::info!(
            "start-up reconciliation: {n} new events indexed to block {} in {:.2?}; {} of {} jobs in sync, {} drift",
            indexer.state.block,
            started.elapsed(),
            report.in_sync,
            report.jobs_checked,
            report.drift.len()
        );
        for d in report.drift.iter().take(10) {
            tracing::info!(
                "  {} ({:?}): off chain {}, on chain {}",
                d.subject,
                d.side,
                d.offchain,
                d.onchain
            );
        }
        let mut employers = engine.employers.clone();
        employers.extend(ours);
        let known = engine.mapping.values().copied().collect();
        Ok(ChainFollower::start(
            indexer,
            source,
            Adoption::new(employers, known),
            std::time::Duration::from_millis(self.indexer.chain_poll_ms.max(10)),
            cursor,
            reorgs,
        ))
    }
}

/// A connected chain: where, which deployment, whose keys, and the devnet's block builder.
struct Connection {
    rpc_url: String,
    deployment: Deployment,
    keys: Keys,
    devnet: bool,
    hub: TxHub,
    miner: Option<Arc<Miner>>,
}

/// The address of each ledger account: the employer, then each agent (agents and validators
/// take their keys in config order).
fn actors(world: &World, keys: &Keys) -> Actors {
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
    Actors {
        by_account,
        owner: keys.owner.address(),
        validators: keys.validators.iter().map(|k| k.address()).collect(),
        registry_via: None,
        dispute_via: None,
    }
}

/// Each ledger account's id, by name.
fn account_names(world: &World) -> HashMap<String, AccountId> {
    world
        .state
        .ledger
        .accounts()
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.clone(), AccountId(i as u32)))
        .collect()
}

/// Adds the checkpoint attestor when the configuration asks for one and the deployment has a
/// checkpoint registry.
fn attach_attestor(
    config: &Config,
    paths: &ReportPaths,
    hub: &TxHub,
    deployment: &Deployment,
    keys: &Keys,
    cursor: Arc<AtomicU64>,
    orchestrator: &mut Orchestrator,
) {
    if config.attest_every_checkpoints > 0 && deployment.checkpoint_registry.is_none() {
        tracing::info!(
            "the deployment has no checkpointRegistry (not part of AGI Jobs v2): attestation is off"
        );
    } else if config.attest_every_checkpoints > 0 {
        let settings = AttestorSettings {
            every: config.attest_every_checkpoints,
            attestor: keys.owner.address(), // the deployer makes the owner an attestor
            journal: paths.dir.join("chain").join("attestations.jsonl"),
            checkpoint: paths.state.clone(),
            cursor,
        };
        let attestor = AutoAttestor::start(hub.clone(), deployment.clone(), settings);
        orchestrator.add_sink(Box::new(attestor));
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
    for profile in config.agent_profiles() {
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
