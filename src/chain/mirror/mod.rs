//! The on-chain mirror: an event sink that replays every job lifecycle of the engine on AGI Jobs v2
//! contracts, each step sent by the key of the actor who takes it, and holds the engine at each
//! step (through its gate) until the chain has confirmed the previous one.
//!
//! It relies only on the v2 surface (`../shared/spec/agijobs-v2-interface.md`), so it works the
//! same against our contracts on the devnet and against a real v2 deployment.
//!
//! Per job: `createJob` (poster) → `applyForJob` (agent) → `submit` (agent) → `selectValidators`
//! in a later block; the chain's committee becomes the engine's committee → each validator's
//! `commitValidation` with the exact v2 commit hash (salt journaled first) → `revealValidation`
//! after the commit window → validation `finalize` (or `forceFinalize`) → `resolveDispute` when
//! the validators rejected → the employer's `finalize`. Only then may the engine settle the job.
//! Every action reads chain state first, so a restart never sends one twice.
//!
//! Here: the sink, its gate and settings. `state`: the job records, journal replay and the gate's
//! view. `schedule`: what each job does next and how outcomes change it (decisions only).
//! `worker`: the task that runs them; `ingest`: engine events into records; `recovery`: restart
//! and adopted jobs; `redrive`: steps a reorg took from the chain, sent again; `actions`: the
//! chain steps; `chain_io`: the reads and sends they make.

mod actions;
mod chain_io;
#[cfg(test)]
mod fake_chain;
mod ingest;
mod keeper;
mod recovery;
mod redrive;
mod schedule;
mod settle;
mod state;
mod worker;

use crate::chain::journal::{Entry, Journal, SharedJournal};
use crate::chain::manifest::Deployment;
use crate::chain::stages::StageTimes;
use crate::chain::tx::TxHub;
use crate::domain::events::{DomainEvent, Step, StepGate};
use crate::domain::job::JobId;
use crate::domain::ledger::AccountId;
use crate::engine::seams::{BoxFuture, EventSink};
use alloy::primitives::{Address, B256};
use chain_io::HubChain;
use schedule::{Schedule, Windows};
use state::{MirrorState, View};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use worker::Worker;

/// Who is who on chain: engine accounts ↔ addresses.
#[derive(Clone, Debug)]
pub struct Actors {
    /// Address of each engine account (index = AccountId); account 0 is the steward/employer.
    pub by_account: Vec<Address>,
    pub owner: Address,
    /// Our validators' addresses (the devnet keeps their stake above the minimum).
    pub validators: Vec<Address>,
    /// SystemPause, when the JobRegistry belongs to it (reference mode): the owner's registry
    /// calls (`resolveDispute`) then go through `SystemPause.executeGovernanceCall`, which the
    /// owner may make as SystemPause's governance.
    pub registry_via: Option<Address>,
    /// The same for the DisputeModule.
    pub dispute_via: Option<Address>,
}

impl Actors {
    fn address(&self, name_to_account: &HashMap<String, AccountId>, name: &str) -> Option<Address> {
        name_to_account
            .get(name)
            .and_then(|a| self.by_account.get(a.0 as usize))
            .copied()
    }

    /// The engine account whose key is `a`.
    fn account_of(&self, a: Address) -> Option<AccountId> {
        self.by_account
            .iter()
            .position(|x| *x == a)
            .map(|i| AccountId(i as u32))
    }
}

#[derive(Clone, Debug)]
pub struct MirrorSettings {
    pub journal: PathBuf,
    /// On the devnet, windows are passed with `evm_increaseTime` + `anvil_mine`; elsewhere we wait.
    pub devnet: bool,
    pub commit_window_s: u64,
    pub reveal_window_s: u64,
    pub force_finalize_grace_s: u64,
    /// The engine's next job id when the mirror first attached: older jobs are not mirrored.
    pub first_job: u64,
    /// Blocks a finished job's finish must be buried under before the mirror stops watching it.
    pub confirmations: u64,
    /// Reorgs the indexer has seen (the chain follower counts them): each one makes the mirror
    /// compare every journaled job with the chain.
    pub reorgs: Arc<std::sync::atomic::AtomicU64>,
    /// Where the status API serves results (`http://host:port`): an external agent's result
    /// goes on chain with the URI `{base}/results/{hash}` (without an API: `omega://result/…`).
    pub result_uri_base: Option<String>,
    /// How long a final job's record is kept once its finish is deep enough (see `redrive.rs`).
    pub forget_after: Duration,
}

#[derive(Default)]
pub struct MirrorStats {
    pub created: std::sync::atomic::AtomicU64,
    pub finalized: std::sync::atomic::AtomicU64,
    pub detached: std::sync::atomic::AtomicU64,
    pub stages: std::sync::Mutex<StageTimes>,
}

enum Input {
    Events {
        now_ms: u64,
        events: Vec<DomainEvent>,
    },
    Drain(oneshot::Sender<()>),
    Tick(u64),
}

/// The sink the orchestrator holds.
pub struct ChainMirror {
    inbox: mpsc::UnboundedSender<Input>,
    view: Arc<Mutex<View>>,
    stats: Arc<MirrorStats>,
    task: Option<tokio::task::JoinHandle<()>>,
    rpc_label: String,
    /// The signing hub's counters (transactions sent, mined reverts), for the run's summary.
    transactions: crate::chain::tx::TxFigures,
}

impl ChainMirror {
    /// Starts the mirror task. `names` maps engine account names to account ids.
    pub fn start(
        hub: TxHub,
        deployment: Deployment,
        actors: Actors,
        names: HashMap<String, AccountId>,
        settings: MirrorSettings,
        rpc_label: String,
    ) -> eyre::Result<ChainMirror> {
        let (mut journal, entries) = Journal::open(&settings.journal)?;
        let mut state = MirrorState::default();
        let run_id = state.replay(&entries, deployment.job_registry);
        let first_job = match state.header {
            Some((_, first)) => first,
            None => {
                let run_id = run_id.unwrap_or_else(B256::random);
                journal.record(&Entry::Header {
                    registry: deployment.job_registry,
                    run_id,
                    first_job: settings.first_job,
                })?;
                state.run_id = run_id;
                settings.first_job
            }
        };
        let view = Arc::new(Mutex::new(View {
            first_job,
            ..Default::default()
        }));
        state.publish(&mut view.lock().expect("view"));
        let stats = Arc::new(MirrorStats::default());
        let transactions = hub.figures();
        let (tx, rx) = mpsc::unbounded_channel();
        let windows = Windows {
            commit_s: settings.commit_window_s,
            reveal_s: settings.reveal_window_s,
            force_finalize_grace_s: settings.force_finalize_grace_s,
        };
        let seen_reorgs = settings.reorgs.load(std::sync::atomic::Ordering::Relaxed);
        let worker = Worker {
            chain: HubChain {
                hub,
                d: deployment,
                owner: actors.owner,
            },
            actors,
            names,
            settings,
            journal: SharedJournal::new(journal),
            state,
            sched: Schedule::new(windows),
            view: view.clone(),
            stats: stats.clone(),
            keeper: Default::default(),
            seen_reorgs,
            to_check: Vec::new(),
            mined_checked: None,
            verified: None,
            unverified: Vec::new(),
            reorgs_noticed: 0,
            forget_checked: None,
        };
        let task = tokio::spawn(worker.run(rx));
        Ok(ChainMirror {
            inbox: tx,
            view,
            stats,
            task: Some(task),
            rpc_label,
            transactions,
        })
    }

    pub fn stats(&self) -> &MirrorStats {
        &self.stats
    }
}

impl StepGate for ChainMirror {
    fn allows(&self, job: JobId, step: Step) -> bool {
        self.view.lock().expect("view").allows(job, step)
    }

    fn committee(&self, job: JobId) -> Option<Vec<AccountId>> {
        self.view
            .lock()
            .expect("view")
            .committees
            .get(&job)
            .cloned()
    }

    fn outcome(&self, job: JobId) -> Option<bool> {
        self.view.lock().expect("view").outcomes.get(&job).copied()
    }
}

impl EventSink for ChainMirror {
    fn name(&self) -> &str {
        "chain mirror"
    }

    fn deliver(&mut self, _cycle: u64, now_ms: u64, events: &[DomainEvent]) -> eyre::Result<()> {
        self.inbox
            .send(Input::Events {
                now_ms,
                events: events.to_vec(),
            })
            .map_err(|_| eyre::eyre!("the chain mirror stopped (see the error above)"))
    }

    fn gate(&self) -> Option<&dyn StepGate> {
        Some(self)
    }

    fn write_ahead(&self) -> bool {
        true
    }

    fn tick(&mut self, now_ms: u64) {
        let _ = self.inbox.send(Input::Tick(now_ms));
    }

    fn drain(&mut self, timeout: Duration) -> BoxFuture<'_, eyre::Result<()>> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            if self.inbox.send(Input::Drain(tx)).is_ok()
                && tokio::time::timeout(timeout, rx).await.is_err()
            {
                tracing::warn!(
                    "chain mirror: work still in flight after {} s; it resumes at the next start",
                    timeout.as_secs()
                );
            }
            Ok(())
        })
    }

    fn summary(&self) -> Option<String> {
        use std::sync::atomic::Ordering::Relaxed;
        let t = &self.transactions;
        Some(format!(
            "chain ({}): {} jobs created, {} finalized on chain; {} transactions sent, {} mined \
             and reverted{}{}",
            self.rpc_label,
            self.stats.created.load(Relaxed),
            self.stats.finalized.load(Relaxed),
            t.sent.load(Relaxed),
            t.stats.mined_reverts.load(Relaxed),
            match self.stats.detached.load(Relaxed) {
                0 => String::new(),
                n => format!(", {n} detached after chain errors"),
            },
            match self.stats.stages.lock().expect("stages").report() {
                Some(r) => format!(
                    "\nchain steps (mean wait after the previous step, mean time to act): {r}"
                ),
                None => String::new(),
            }
        ))
    }
}

impl Drop for ChainMirror {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
