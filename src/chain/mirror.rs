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

use super::bindings::{JobRegistry, SystemPause, ValidationModule};
use super::commit_hash::{commit_hash, domain_separator};
use super::journal::{Entry, Journal};
use super::manifest::Deployment;
use super::stages::StageTimes;
use super::tx::{Gas, TxHub};
use crate::domain::events::{DomainEvent, Step, StepGate};
use crate::domain::job::JobId;
use crate::domain::ledger::AccountId;
use crate::engine::seams::{BoxFuture, EventSink};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

const SUBDOMAIN: &str = "omega";
/// `selectValidators` gas is not estimated: its path depends on the block (see the v2 notes).
const SELECT_GAS: u64 = 2_000_000;
/// How long (engine time) a freshly selected committee holds the devnet clock for its round.
const ROUND_START_GRACE_MS: u64 = 3_000;

/// Who is who on chain: engine accounts ↔ addresses.
#[derive(Clone, Debug)]
pub struct Actors {
    /// Address of each engine account (index = AccountId); account 0 is the steward/employer.
    pub by_account: Vec<Address>,
    pub owner: Address,
}

impl Actors {
    fn address(&self, name_to_account: &HashMap<String, AccountId>, name: &str) -> Option<Address> {
        name_to_account
            .get(name)
            .and_then(|a| self.by_account.get(a.0 as usize))
            .copied()
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
}

/// What the engine's gate reads (shared with the mirror task).
#[derive(Default)]
struct View {
    first_job: u64,
    created: BTreeSet<JobId>,
    applied: BTreeSet<JobId>,
    committees: BTreeMap<JobId, Vec<AccountId>>,
    finished: BTreeSet<JobId>,
    /// The chain's validation outcome of each finished job (when known).
    outcomes: BTreeMap<JobId, bool>,
    /// Jobs the mirror gave up on (a permanent revert): the engine carries on without the chain.
    detached: BTreeSet<JobId>,
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
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            hub,
            d: deployment.clone(),
            actors,
            names,
            settings,
            journal,
            state,
            view: view.clone(),
            stats: stats.clone(),
            now_ms: 0,
            paused: false,
            paused_by_chain: None,
            selecting: 0,
            select_blocked: None,
        };
        let task = tokio::spawn(worker.run(rx));
        Ok(ChainMirror {
            inbox: tx,
            view,
            stats,
            task: Some(task),
            rpc_label,
        })
    }

    pub fn stats(&self) -> &MirrorStats {
        &self.stats
    }
}

impl StepGate for ChainMirror {
    fn allows(&self, job: JobId, step: Step) -> bool {
        let v = self.view.lock().expect("view");
        if job.0 < v.first_job || v.detached.contains(&job) {
            return true;
        }
        match step {
            Step::Assign => v.created.contains(&job),
            Step::Submit => v.applied.contains(&job),
            Step::Commit => v.committees.contains_key(&job),
            Step::Reveal => true,
            Step::Settle => v.finished.contains(&job),
        }
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
        Some(format!(
            "chain ({}): {} jobs created, {} finalized on chain{}{}",
            self.rpc_label,
            self.stats.created.load(Relaxed),
            self.stats.finalized.load(Relaxed),
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

/// One engine job as the mirror tracks it.
#[derive(Clone, Debug, Default)]
struct Rec {
    poster: Address,
    reward: U256,
    deadline_s: u64,
    spec_hash: B256,
    onchain: Option<U256>,
    agent: Option<Address>,
    assigned: bool,
    submit_seen: bool,
    cancel_seen: bool,
    applied: bool,
    submitted: bool,
    committee: Option<Vec<Address>>,
    selected_at: u64,
    /// Engine time when the committee was chosen (0 when replayed from the journal).
    selected_engine_ms: u64,
    offchain_committee: Vec<Address>,
    offchain_commit_deadline_ms: u64,
    offchain_reveal_deadline_ms: u64,
    /// validator → (approve, salt, committed on chain)
    votes: BTreeMap<Address, (bool, B256, bool)>,
    reveal_wanted: BTreeSet<Address>,
    revealed: BTreeSet<Address>,
    finished: bool,
    /// The chain's verdict once finished (`None` in journals written before it was recorded).
    outcome: Option<bool>,
    cancelled: bool,
    detached: bool,
    /// Posted on chain by someone else: never created or cancelled by us.
    adopted: bool,
    /// Actions of this job in flight (commits and reveals of different validators run together).
    busy: u32,
    /// Validation cannot close before this chain time; `force` once quorum is known to be missing.
    finish_wait: Option<(u64, bool)>,
    /// When the job's previous step ended (for the stage latency figures).
    last_step: Option<std::time::Instant>,
}

#[derive(Default)]
struct MirrorState {
    header: Option<(Address, u64)>,
    run_id: B256,
    recs: BTreeMap<JobId, Rec>,
    pending_creates: BTreeMap<JobId, (B256, Address)>,
}

impl MirrorState {
    /// Rebuilds what the journal knows; returns the run id of this deployment's journal.
    #[allow(clippy::too_many_lines)] // TODO(merge): split
    fn replay(&mut self, entries: &[Entry], registry: Address) -> Option<B256> {
        let mut run = None;
        for e in entries {
            match e {
                Entry::Header {
                    registry: r,
                    run_id,
                    first_job,
                } if *r == registry => {
                    self.header = Some((*r, *first_job));
                    self.run_id = *run_id;
                    run = Some(*run_id);
                }
                Entry::Header { .. } => {
                    // A journal of another deployment (a reset devnet): start over.
                    *self = MirrorState::default();
                    run = None;
                }
                Entry::CreateIntent {
                    job,
                    spec_hash,
                    poster,
                } => {
                    self.pending_creates
                        .insert(JobId(*job), (*spec_hash, *poster));
                    let r = self.recs.entry(JobId(*job)).or_default();
                    r.poster = *poster;
                    r.spec_hash = *spec_hash;
                }
                Entry::Created { job, onchain } => {
                    self.pending_creates.remove(&JobId(*job));
                    self.recs.entry(JobId(*job)).or_default().onchain = Some(*onchain);
                }
                Entry::Adopted {
                    job,
                    onchain,
                    sender,
                    spec_hash,
                } => {
                    let r = self.recs.entry(JobId(*job)).or_default();
                    r.onchain = Some(*onchain);
                    r.poster = *sender;
                    r.spec_hash = *spec_hash;
                    r.adopted = true;
                }
                Entry::Salt {
                    job,
                    validator,
                    approve,
                    salt,
                } => {
                    self.recs
                        .entry(JobId(*job))
                        .or_default()
                        .votes
                        .insert(*validator, (*approve, *salt, false));
                }
                Entry::Done { job, step } => {
                    let r = self.recs.entry(JobId(*job)).or_default();
                    let (name, arg) = step.split_once(':').unwrap_or((step.as_str(), ""));
                    match name {
                        "apply" => {
                            r.applied = true;
                            r.assigned = true;
                            r.agent = arg.parse().ok();
                        }
                        "select" => r.selected_at = arg.parse().unwrap_or(0),
                        "submit" => r.submitted = true,
                        "finish" => {
                            r.finished = true;
                            r.outcome = arg.parse().ok();
                        }
                        "cancel" => r.cancelled = true,
                        s => {
                            if let Some(v) = s
                                .strip_prefix("commit:")
                                .and_then(|a| a.parse::<Address>().ok())
                            {
                                if let Some(vote) = r.votes.get_mut(&v) {
                                    vote.2 = true;
                                }
                            } else if let Some(v) = s
                                .strip_prefix("reveal:")
                                .and_then(|a| a.parse::<Address>().ok())
                            {
                                r.revealed.insert(v);
                            }
                        }
                    }
                }
            }
        }
        run
    }

    fn publish(&self, v: &mut View) {
        for (id, r) in &self.recs {
            if r.onchain.is_some() {
                v.created.insert(*id);
            }
            if r.applied {
                v.applied.insert(*id);
            }
            if r.finished {
                v.finished.insert(*id);
                if let Some(ok) = r.outcome {
                    v.outcomes.insert(*id, ok);
                }
            }
        }
    }
}

/// What an action reports back to the worker.
enum Outcome {
    Created(U256),
    Applied,
    Submitted,
    Selected(Vec<Address>, u64),
    /// Selection must wait: for a later block (`too_early`), or for validators with free stake.
    NotYetSelected {
        too_early: bool,
    },
    Committed(Address),
    Revealed(Address),
    /// The chain's window for this validator's commit or reveal closed first (typically a round
    /// the engine re-ran after a restart): the vote stays off chain and validation settles
    /// without it; the engine then follows the chain's verdict.
    Missed(Address),
    NotYet,
    /// Finalized on chain, with the chain's verdict.
    Finished(bool),
    Cancelled,
    /// Try again once the chain clock reaches this time (`true`: force-finalize then).
    WaitUntil(u64, bool),
    /// The contracts are paused: retry once they are not.
    ChainPaused,
    Failed(String),
}

struct Worker {
    hub: TxHub,
    d: Deployment,
    actors: Actors,
    names: HashMap<String, AccountId>,
    settings: MirrorSettings,
    journal: Journal,
    state: MirrorState,
    view: Arc<Mutex<View>>,
    stats: Arc<MirrorStats>,
    now_ms: u64,
    paused: bool,
    /// Held because the chain refused a transaction as paused: when it was last checked.
    paused_by_chain: Option<std::time::Instant>,
    /// `selectValidators` calls in flight.
    selecting: usize,
    /// No validator had free stake for a committee: no job tries to select again until another
    /// job settles (freeing its committee's stake) or this time passes. Without it every waiting
    /// job retried in a loop, and each try cost the devnet a block.
    select_blocked: Option<std::time::Instant>,
}

/// Added to on-chain deadlines on the devnet (see `ingest`): 30 days.
const DEVNET_DEADLINE_MARGIN_S: u64 = 30 * 86_400;
/// How often the devnet clock is looked at while actions are in flight.
const PASS_TIME_EVERY: Duration = Duration::from_millis(50);
/// At most this many `selectValidators` in flight (they compete for the same validators).
const SELECTS_IN_FLIGHT: usize = 4;
/// How long selection waits after "not enough eligible validators" if no job settles first.
const SELECT_RETRY: Duration = Duration::from_secs(1);

impl Worker {
    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Input>) {
        if let Err(e) = self.recover().await {
            tracing::error!("chain mirror: recovery failed: {e:#}");
        }
        let mut inflight: JoinSet<Done> = JoinSet::new();
        let mut drains: Vec<oneshot::Sender<()>> = Vec::new();
        let mut last_pass = std::time::Instant::now();
        loop {
            tokio::select! {
                input = inbox.recv() => match input {
                    Some(Input::Events { now_ms, events }) => {
                        self.now_ms = now_ms;
                        for e in events {
                            if let Err(err) = self.ingest(e).await {
                                tracing::error!("chain mirror: {err:#}");
                            }
                        }
                    }
                    Some(Input::Drain(done)) => drains.push(done),
                    Some(Input::Tick(now_ms)) => self.now_ms = self.now_ms.max(now_ms),
                    None => return,
                },
                Some(joined) = inflight.join_next(), if !inflight.is_empty() => {
                    if let Ok(done) = joined {
                        if let Action::Select = done.action {
                            self.selecting -= 1;
                        }
                        self.stats.stages.lock().expect("stages").record(
                            done.action.kind(),
                            done.waited,
                            done.took,
                        );
                        self.apply(done.job, done.outcome);
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            self.recheck_chain_pause().await;
            if !self.paused {
                self.dispatch(&mut inflight);
                // Time moves even while other jobs' actions are in flight: `time_limit` keeps
                // every window someone still needs open.
                if inflight.is_empty() || last_pass.elapsed() >= PASS_TIME_EVERY {
                    last_pass = std::time::Instant::now();
                    if let Err(e) = self.pass_time().await {
                        tracing::warn!("chain mirror: moving time: {e:#}");
                    }
                }
            }
            if !drains.is_empty() && tracing::enabled!(tracing::Level::DEBUG) {
                for (id, r) in self
                    .state
                    .recs
                    .iter()
                    .filter(|(_, r)| !(r.detached || r.finished || r.cancelled))
                {
                    tracing::debug!(
                        "chain mirror: draining, job {id}: next {:?}, time {:?}, busy {}",
                        self.next_action(r),
                        self.time_needed(r),
                        r.busy
                    );
                }
            }
            if inflight.is_empty() && !drains.is_empty() && self.idle() {
                drains.drain(..).for_each(|d| {
                    let _ = d.send(());
                });
            }
        }
    }

    /// Nothing left that the mirror can send now (jobs waiting for the engine or for the chain
    /// clock carry on at the next start, from the journal).
    fn idle(&self) -> bool {
        self.state.recs.values().all(|r| {
            r.detached
                || r.finished
                || r.cancelled
                || match self.next_action(r) {
                    None => true,
                    // Waiting for validators that only other jobs' progress frees.
                    Some(Action::Select) => self.selection_waits(),
                    Some(_) => false,
                }
        })
    }

    fn addr(&self, name: &str) -> Option<Address> {
        self.actors.address(&self.names, name)
    }

    fn account_of(&self, a: Address) -> Option<AccountId> {
        self.actors
            .by_account
            .iter()
            .position(|x| *x == a)
            .map(|i| AccountId(i as u32))
    }

    /// Turns engine events into what each job needs on chain; pause/resume go out at once.
    /// An engine job that is already on chain (posted by another employer): journal the mapping;
    /// the next actions are the agent's.
    async fn adopt(&mut self, job: JobId, reference: &str) -> eyre::Result<()> {
        let onchain: U256 = reference["chain:".len()..]
            .parse()
            .map_err(|e| eyre::eyre!("bad adopted job reference {reference}: {e}"))?;
        let sender = self.actors.owner;
        let call = JobRegistry::jobsCall { jobId: onchain }.abi_encode();
        let out = self
            .hub
            .call("jobs", sender, self.d.job_registry, call.into())
            .await?;
        let spec_hash = JobRegistry::jobsCall::abi_decode_returns(&out)?.specHash;
        self.journal.record(&Entry::Adopted {
            job: job.0,
            onchain,
            sender,
            spec_hash,
        })?;
        let r = self.state.recs.entry(job).or_default();
        r.onchain = Some(onchain);
        r.poster = sender;
        r.spec_hash = spec_hash;
        r.adopted = true;
        self.view.lock().expect("view").created.insert(job);
        Ok(())
    }

    #[allow(clippy::too_many_lines)] // TODO(merge): split
    async fn ingest(&mut self, e: DomainEvent) -> eyre::Result<()> {
        let first = self.view.lock().expect("view").first_job;
        if e.job().is_some_and(|j| j.0 < first) {
            return Ok(());
        }
        match e {
            DomainEvent::JobPosted {
                job,
                external: Some(reference),
                ..
            } if reference.starts_with("chain:") => self.adopt(job, &reference).await?,
            DomainEvent::JobPosted {
                job,
                poster,
                reward,
                deadline_ms,
                ..
            } => {
                let poster = self
                    .addr(&poster)
                    .ok_or_else(|| eyre::eyre!("no key for poster {poster}"))?;
                let spec_hash = keccak256((self.state.run_id, U256::from(job.0)).abi_encode());
                // The engine's clock may be virtual (--fast): keep the time left, not the timestamp.
                let left_s = deadline_ms.saturating_sub(self.now_ms).div_ceil(1000);
                // The devnet clock jumps a commit window at a time to pass validation windows,
                // so it runs far ahead of the engine's: there the engine enforces the deadline
                // and the chain's gets a margin (else submits revert with DeadlinePassed).
                let margin_s = if self.settings.devnet {
                    DEVNET_DEADLINE_MARGIN_S
                } else {
                    0
                };
                let deadline_s =
                    self.chain_time_estimate().max(super::anvil::wall_s()) + left_s + margin_s;
                let r = self.state.recs.entry(job).or_default();
                r.poster = poster;
                r.reward = U256::from(reward.0);
                r.deadline_s = deadline_s;
                r.spec_hash = spec_hash;
                r.last_step = Some(std::time::Instant::now());
            }
            DomainEvent::JobAssigned { job, agent, .. } => {
                let a = self.addr(&agent);
                let r = self.state.recs.entry(job).or_default();
                r.agent = a;
                r.assigned = true;
            }
            DomainEvent::JobSubmitted { job, .. } => {
                self.state.recs.entry(job).or_default().submit_seen = true
            }
            DomainEvent::ValidationStarted {
                job,
                committee,
                commit_deadline_ms,
                reveal_deadline_ms,
                ..
            } => {
                let members: Vec<Address> = committee.iter().filter_map(|n| self.addr(n)).collect();
                let r = self.state.recs.entry(job).or_default();
                r.offchain_committee = members;
                r.offchain_commit_deadline_ms = commit_deadline_ms;
                r.offchain_reveal_deadline_ms = reveal_deadline_ms;
            }
            DomainEvent::ValidationCommitted {
                job,
                validator,
                sealed: Some(sealed),
                ..
            } => {
                let Some(v) = self.addr(&validator) else {
                    return Ok(());
                };
                let in_committee = self
                    .state
                    .recs
                    .get(&job)
                    .and_then(|r| r.committee.as_ref())
                    .is_some_and(|c| c.contains(&v));
                let known = self
                    .state
                    .recs
                    .get(&job)
                    .is_some_and(|r| r.votes.contains_key(&v));
                if in_committee && !known {
                    // The on-chain salt is fresh randomness, journaled before the commit is sent.
                    let salt = B256::random();
                    self.journal.record(&Entry::Salt {
                        job: job.0,
                        validator: v,
                        approve: sealed.approve,
                        salt,
                    })?;
                    self.state
                        .recs
                        .entry(job)
                        .or_default()
                        .votes
                        .insert(v, (sealed.approve, salt, false));
                }
            }
            DomainEvent::ValidatorVote {
                job,
                validator,
                valid: true,
                ..
            } => {
                if let Some(v) = self.addr(&validator) {
                    self.state
                        .recs
                        .entry(job)
                        .or_default()
                        .reveal_wanted
                        .insert(v);
                }
            }
            DomainEvent::JobCancelled { job, .. } => {
                self.state.recs.entry(job).or_default().cancel_seen = true
            }
            DomainEvent::JobFailed { job, .. } | DomainEvent::JobError { job, .. } => {
                // Failed before submission: the on-chain job stays Applied until it expires;
                // nothing the engine does later depends on it.
                if let Some(r) = self.state.recs.get_mut(&job)
                    && !r.submitted
                    && !r.submit_seen
                {
                    r.finished = true;
                }
            }
            // A pause that came from the chain is already there: follow it, send nothing.
            DomainEvent::Paused { source } if source == "chain" => self.paused = true,
            DomainEvent::Resumed { source } if source == "chain" => {
                self.paused = false;
                self.paused_by_chain = None;
            }
            DomainEvent::Paused { .. } => self.set_pause(true).await?,
            DomainEvent::Resumed { .. } => self.set_pause(false).await?,
            _ => {}
        }
        Ok(())
    }

    async fn set_pause(&mut self, pause: bool) -> eyre::Result<()> {
        let paused_now = self.chain_paused().await?;
        if paused_now != pause {
            let input = if pause {
                SystemPause::pauseAllCall {}.abi_encode()
            } else {
                SystemPause::unpauseAllCall {}.abi_encode()
            };
            let label = if pause {
                "SystemPause.pauseAll"
            } else {
                "SystemPause.unpauseAll"
            };
            self.hub
                .send(
                    label,
                    self.actors.owner,
                    Some(self.d.system_pause),
                    input.into(),
                    Gas::Estimate,
                )
                .await?;
        }
        self.paused = pause;
        self.paused_by_chain = None; // the engine decides from here on
        Ok(())
    }

    /// A hold that came from a refused transaction ends when the chain is unpaused, even if the
    /// pause was too short for the engine to see it.
    async fn recheck_chain_pause(&mut self) {
        let Some(at) = self.paused_by_chain else {
            return;
        };
        if at.elapsed() < Duration::from_secs(1) {
            return;
        }
        match self.chain_paused().await {
            Ok(false) => {
                self.paused = false;
                self.paused_by_chain = None;
            }
            _ => self.paused_by_chain = Some(std::time::Instant::now()),
        }
    }

    async fn chain_paused(&self) -> eyre::Result<bool> {
        paused_on_chain(&self.hub, &self.d, self.actors.owner).await
    }

    /// At start: adopt jobs whose `createJob` was sent but not journaled as done.
    async fn recover(&mut self) -> eyre::Result<()> {
        self.paused = self.chain_paused().await.unwrap_or(false);
        let pending: Vec<(JobId, (B256, Address))> = self
            .state
            .pending_creates
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        for (job, (spec_hash, poster)) in pending {
            if let Some(onchain) = self.find_created(spec_hash, poster).await? {
                self.journal.record(&Entry::Created {
                    job: job.0,
                    onchain,
                })?;
                self.state.recs.entry(job).or_default().onchain = Some(onchain);
                self.view.lock().expect("view").created.insert(job);
                tracing::info!(
                    "chain mirror: job {job} was created on chain as {onchain} before the restart"
                );
            }
            self.state.pending_creates.remove(&job);
        }
        Ok(())
    }

    async fn find_created(&self, spec_hash: B256, poster: Address) -> eyre::Result<Option<U256>> {
        let filter = Filter::new()
            .address(self.d.job_registry)
            .event_signature(JobRegistry::JobCreated::SIGNATURE_HASH)
            .topic2(poster.into_word())
            .from_block(self.d.deploy_block);
        for log in self.hub.provider().get_logs(&filter).await? {
            if let Ok(ev) = JobRegistry::JobCreated::decode_log_data(log.data())
                && ev.specHash == spec_hash
            {
                return Ok(Some(ev.jobId));
            }
        }
        Ok(None)
    }

    /// Starts the next action of every job that has one and is not busy.
    fn dispatch(&mut self, inflight: &mut JoinSet<Done>) {
        let ready: Vec<(JobId, Action)> = self
            .state
            .recs
            .iter()
            .filter(|(_, r)| r.busy == 0 && !r.detached)
            .flat_map(|(id, r)| self.next_actions(r).into_iter().map(|a| (*id, a)))
            .collect();
        for (job, action) in ready {
            if let Action::Select = action {
                if self.selection_waits() || self.selecting >= SELECTS_IN_FLIGHT {
                    continue;
                }
                self.selecting += 1;
            }
            if let Action::Create = action {
                let r = &self.state.recs[&job];
                if let Err(e) = self.journal.record(&Entry::CreateIntent {
                    job: job.0,
                    spec_hash: r.spec_hash,
                    poster: r.poster,
                }) {
                    tracing::error!("chain mirror: cannot journal job {job}: {e:#}");
                    continue;
                }
            }
            let r = self.state.recs.get_mut(&job).expect("listed");
            r.busy += 1;
            let windows = (
                self.settings.commit_window_s,
                self.settings.reveal_window_s,
                self.settings.force_finalize_grace_s,
            );
            let ctx = Ctx {
                hub: self.hub.clone(),
                d: self.d.clone(),
                owner: self.actors.owner,
                devnet: self.settings.devnet,
                windows,
                rec: r.clone(),
            };
            let started = std::time::Instant::now();
            let waited = r.last_step.map(|t| started - t).unwrap_or_default();
            inflight.spawn(async move {
                let outcome = ctx.perform(action).await;
                Done {
                    job,
                    action,
                    outcome,
                    waited,
                    took: started.elapsed(),
                }
            });
        }
    }

    fn selection_waits(&self) -> bool {
        self.select_blocked
            .is_some_and(|until| std::time::Instant::now() < until)
    }

    fn next_action(&self, r: &Rec) -> Option<Action> {
        self.next_actions(r).into_iter().next()
    }

    /// What a job can do now: one step, or all its validators' commits (or reveals) at once.
    fn next_actions(&self, r: &Rec) -> Vec<Action> {
        if r.finished || r.cancelled || r.poster == Address::ZERO {
            return vec![];
        }
        let Some(_) = r.onchain else {
            return vec![Action::Create];
        };
        if r.cancel_seen && !r.assigned {
            return vec![Action::Cancel];
        }
        if r.assigned && !r.applied {
            return r.agent.map(|_| Action::Apply).into_iter().collect();
        }
        if r.submit_seen && r.applied && !r.submitted {
            return vec![Action::Submit];
        }
        if !r.submitted {
            return vec![];
        }
        let Some(committee) = &r.committee else {
            return vec![Action::Select];
        };
        let commits: Vec<Action> = r
            .votes
            .iter()
            .filter(|(v, (_, _, sent))| !sent && committee.contains(v))
            .map(|(v, _)| Action::Commit(*v))
            .collect();
        if !commits.is_empty() {
            return commits;
        }
        let chain_now = self.chain_time_estimate();
        let commit_deadline = r.selected_at + self.settings.commit_window_s;
        if chain_now > commit_deadline {
            let reveals: Vec<Action> = r
                .reveal_wanted
                .iter()
                .filter(|v| !r.revealed.contains(*v) && r.votes.get(*v).is_some_and(|x| x.2))
                .map(|v| Action::Reveal(*v))
                .collect();
            if !reveals.is_empty() {
                return reveals;
            }
        }
        if self.ready_to_finish(r) {
            return match r.finish_wait {
                Some((at, _)) if chain_now < at => vec![],
                Some((_, force)) => vec![Action::Finish { force }],
                None => vec![Action::Finish { force: false }],
            };
        }
        vec![]
    }

    /// The engine's reveal phase is over (or everyone on chain revealed) and nothing is pending.
    fn ready_to_finish(&self, r: &Rec) -> bool {
        let committed: Vec<&Address> = r
            .votes
            .iter()
            .filter(|(_, x)| x.2)
            .map(|(v, _)| v)
            .collect();
        let pending_reveals = r
            .reveal_wanted
            .iter()
            .any(|v| !r.revealed.contains(v) && r.votes.get(v).is_some_and(|x| x.2));
        let everyone = r
            .committee
            .as_ref()
            .is_some_and(|c| c.iter().all(|v| r.revealed.contains(v)));
        let engine_done =
            r.offchain_reveal_deadline_ms > 0 && self.now_ms >= r.offchain_reveal_deadline_ms;
        !pending_reveals
            && (everyone
                || (engine_done
                    && committed
                        .iter()
                        .all(|v| r.revealed.contains(*v) || !r.reveal_wanted.contains(*v))))
    }

    /// The chain time a job waits for (devnet warps to it; elsewhere we wait).
    fn time_needed(&self, r: &Rec) -> Option<u64> {
        if r.finished || r.committee.is_none() || r.busy > 0 {
            return None;
        }
        let commit_deadline = r.selected_at + self.settings.commit_window_s;
        let now = self.chain_time_estimate();
        if let Some((at, _)) = r.finish_wait {
            return (now < at).then_some(at);
        }
        let wants_reveal = r
            .reveal_wanted
            .iter()
            .any(|v| !r.revealed.contains(v) && r.votes.get(v).is_some_and(|x| x.2));
        (wants_reveal && now <= commit_deadline).then_some(commit_deadline + 1)
    }

    /// Jobs still expecting commits must keep their commit window: time may not jump past it.
    fn time_limit(&self) -> u64 {
        let mut limit = u64::MAX;
        for r in self
            .state
            .recs
            .values()
            .filter(|r| !r.finished && !r.detached)
        {
            if let Some(c) = &r.committee {
                let commit_deadline = r.selected_at + self.settings.commit_window_s;
                // Only a live engine round holds the clock: a job whose round has not started (its
                // engine state is behind, e.g. after a restart) must not stall every other job.
                // A round the engine is about to start (its committee was just chosen) holds the
                // clock too, for a few engine seconds: else another job's warp can close its
                // commit window before the engine's first commit arrives.
                let round_due = r.offchain_commit_deadline_ms <= r.selected_engine_ms
                    && self.now_ms < r.selected_engine_ms + ROUND_START_GRACE_MS;
                let expecting = round_due
                    || self.now_ms < r.offchain_commit_deadline_ms
                    || r.votes.iter().any(|(v, x)| !x.2 && c.contains(v));
                if expecting {
                    limit = limit.min(commit_deadline);
                }
                let reveal_deadline = commit_deadline + self.settings.reveal_window_s;
                if r.reveal_wanted.iter().any(|v| !r.revealed.contains(v)) {
                    limit = limit.min(reveal_deadline);
                }
            }
        }
        limit
    }

    fn chain_time_estimate(&self) -> u64 {
        CHAIN_TIME.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Devnet: jump the chain clock to the earliest time a job waits for, when no other job's
    /// window would close by it.
    async fn pass_time(&mut self) -> eyre::Result<()> {
        let block = self
            .hub
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?;
        let now = block.map(|b| b.header.timestamp).unwrap_or(0);
        CHAIN_TIME.store(now, std::sync::atomic::Ordering::Relaxed);
        if !self.settings.devnet {
            return Ok(());
        }
        let Some(target) = self
            .state
            .recs
            .values()
            .filter_map(|r| self.time_needed(r))
            .min()
        else {
            return Ok(());
        };
        if target > now && target < self.time_limit() {
            self.hub.warp(target - now).await?;
            CHAIN_TIME.store(target, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    #[allow(clippy::too_many_lines)] // TODO(merge): split
    fn apply(&mut self, job: JobId, outcome: Outcome) {
        let account_of: Vec<Option<AccountId>> = match &outcome {
            Outcome::Selected(c, _) => c.iter().map(|a| self.account_of(*a)).collect(),
            _ => Vec::new(),
        };
        let Some(r) = self.state.recs.get_mut(&job) else {
            return;
        };
        r.busy = r.busy.saturating_sub(1);
        r.last_step = Some(std::time::Instant::now());
        let mut view = self.view.lock().expect("view");
        let done = |journal: &mut Journal, step: String| {
            if let Err(e) = journal.record(&Entry::Done { job: job.0, step }) {
                tracing::error!("chain mirror: cannot journal: {e:#}");
            }
        };
        use std::sync::atomic::Ordering::Relaxed;
        match outcome {
            Outcome::Created(id) => {
                if let Err(e) = self.journal.record(&Entry::Created {
                    job: job.0,
                    onchain: id,
                }) {
                    tracing::error!("chain mirror: cannot journal job {job}: {e:#}");
                }
                r.onchain = Some(id);
                view.created.insert(job);
                self.stats.created.fetch_add(1, Relaxed);
            }
            Outcome::Applied => {
                r.applied = true;
                view.applied.insert(job);
                done(
                    &mut self.journal,
                    format!("apply:{}", r.agent.unwrap_or_default()),
                );
            }
            Outcome::Submitted => {
                r.submitted = true;
                done(&mut self.journal, "submit".into());
            }
            Outcome::Selected(committee, at) => {
                if r.selected_at == 0 {
                    r.selected_at = at;
                    r.selected_engine_ms = self.now_ms;
                    done(&mut self.journal, format!("select:{at}"));
                }
                view.committees
                    .insert(job, account_of.into_iter().flatten().collect());
                r.committee = Some(committee);
            }
            Outcome::Committed(v) => {
                if let Some(x) = r.votes.get_mut(&v) {
                    x.2 = true;
                }
                done(&mut self.journal, format!("commit:{v}"));
            }
            Outcome::Revealed(v) => {
                r.revealed.insert(v);
                done(&mut self.journal, format!("reveal:{v}"));
            }
            Outcome::Missed(v) => {
                self.select_blocked = None;
                tracing::info!("chain mirror: job {job}: {v}'s vote missed its window on chain");
                r.votes.remove(&v);
                r.reveal_wanted.remove(&v);
            }
            Outcome::Finished(success) => {
                self.select_blocked = None;
                r.finished = true;
                r.outcome = Some(success);
                view.finished.insert(job);
                view.outcomes.insert(job, success);
                self.stats.finalized.fetch_add(1, Relaxed);
                done(&mut self.journal, format!("finish:{success}"));
            }
            Outcome::Cancelled => {
                r.cancelled = true;
                done(&mut self.journal, "cancel".into());
            }
            Outcome::WaitUntil(at, force) => r.finish_wait = Some((at, force)),
            Outcome::NotYetSelected { too_early: false } => {
                self.select_blocked = Some(std::time::Instant::now() + SELECT_RETRY);
            }
            Outcome::NotYetSelected { too_early: true } | Outcome::NotYet => {}
            Outcome::ChainPaused => {
                if !self.paused {
                    tracing::info!("chain mirror: the chain is paused; holding until it resumes");
                }
                self.paused = true;
                self.paused_by_chain = Some(std::time::Instant::now());
            }
            Outcome::Failed(reason) => {
                tracing::error!("chain mirror: job {job} detached from the chain: {reason}");
                r.detached = true;
                view.detached.insert(job);
                self.stats.detached.fetch_add(1, Relaxed);
            }
        }
    }
}

async fn paused_on_chain(hub: &TxHub, d: &Deployment, from: Address) -> eyre::Result<bool> {
    let call = JobRegistry::pausedCall {}.abi_encode();
    let out = hub
        .call("JobRegistry.paused", from, d.job_registry, call.into())
        .await?;
    Ok(JobRegistry::pausedCall::abi_decode_returns(&out)?)
}

/// The latest chain timestamp seen (refreshed by the worker).
static CHAIN_TIME: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A finished action, with its timings.
struct Done {
    job: JobId,
    action: Action,
    outcome: Outcome,
    waited: Duration,
    took: Duration,
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Create,
    Cancel,
    Apply,
    Submit,
    Select,
    Commit(Address),
    Reveal(Address),
    /// Close validation and settle; `force` after the grace period when quorum is missing.
    Finish {
        force: bool,
    },
}

impl Action {
    fn kind(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Cancel => "cancel",
            Action::Apply => "apply",
            Action::Submit => "submit",
            Action::Select => "select",
            Action::Commit(_) => "commit",
            Action::Reveal(_) => "reveal",
            Action::Finish { .. } => "finish",
        }
    }
}

/// What one action needs, detached from the worker so actions of many jobs run at once.
struct Ctx {
    hub: TxHub,
    d: Deployment,
    owner: Address,
    devnet: bool,
    /// (commit window, reveal window, force-finalize grace) in seconds.
    windows: (u64, u64, u64),
    rec: Rec,
}

impl Ctx {
    async fn perform(self, action: Action) -> Outcome {
        match self.try_perform(action).await {
            Ok(o) => o,
            // Paused on chain (by the owner, with any tool): wait for the unpause, give up nothing.
            // A transaction mined as the pause landed reverts without a reason: ask the chain.
            Err(e) if format!("{e:#}").contains("EnforcedPause") => Outcome::ChainPaused,
            // Another transaction of the same block got there first: try again.
            Err(e) if matches!(e.downcast_ref(), Some(super::tx::TxError::Raced { .. })) => {
                tracing::debug!("chain mirror: {action:?}: {e:#}");
                Outcome::NotYet
            }
            Err(e) => match paused_on_chain(&self.hub, &self.d, self.owner).await {
                Ok(true) => Outcome::ChainPaused,
                _ => Outcome::Failed(format!("{action:?}: {e:#}")),
            },
        }
    }

    #[allow(clippy::too_many_lines)] // TODO(merge): split
    async fn try_perform(&self, action: Action) -> eyre::Result<Outcome> {
        let r = &self.rec;
        let id = r.onchain.unwrap_or_default();
        let (jr, vm) = (self.d.job_registry, self.d.validation_module);
        let send = |label: &'static str, from: Address, to: Address, input: Vec<u8>, gas: Gas| {
            self.hub
                .send(label, from, Some(to), Bytes::from(input), gas)
        };
        match action {
            Action::Create => {
                let call = JobRegistry::createJobCall {
                    reward: r.reward,
                    deadline: r.deadline_s,
                    specHash: r.spec_hash,
                    uri: format!("omega://job/{}", r.spec_hash),
                };
                let receipt =
                    send("createJob", r.poster, jr, call.abi_encode(), Gas::Estimate).await?;
                let created = receipt
                    .inner
                    .logs()
                    .iter()
                    .find_map(|l| JobRegistry::JobCreated::decode_log_data(l.data()).ok())
                    .ok_or_else(|| eyre::eyre!("no JobCreated event"))?;
                Ok(Outcome::Created(created.jobId))
            }
            Action::Cancel => {
                if self.state(id).await? == 1 && !r.adopted {
                    send(
                        "cancelJob",
                        r.poster,
                        jr,
                        JobRegistry::cancelJobCall { jobId: id }.abi_encode(),
                        Gas::Estimate,
                    )
                    .await?;
                }
                Ok(Outcome::Cancelled)
            }
            Action::Apply => {
                let agent = r
                    .agent
                    .ok_or_else(|| eyre::eyre!("no key for the assigned agent"))?;
                if self.state(id).await? < 2 {
                    send(
                        "applyForJob",
                        agent,
                        jr,
                        JobRegistry::applyForJobCall {
                            jobId: id,
                            subdomain: SUBDOMAIN.into(),
                            proof: vec![],
                        }
                        .abi_encode(),
                        Gas::Estimate,
                    )
                    .await?;
                }
                Ok(Outcome::Applied)
            }
            Action::Submit => {
                let agent = r
                    .agent
                    .ok_or_else(|| eyre::eyre!("the agent of this job is unknown"))?;
                if self.state(id).await? < 3 {
                    let result = keccak256((r.spec_hash, "result").abi_encode());
                    let call = JobRegistry::submitCall {
                        jobId: id,
                        resultHash: result,
                        resultURI: format!("omega://result/{result}"),
                        subdomain: SUBDOMAIN.into(),
                        _4: vec![],
                    };
                    send("submit", agent, jr, call.abi_encode(), Gas::Estimate).await?;
                }
                Ok(Outcome::Submitted)
            }
            Action::Select => {
                let existing = self.committee(id).await?;
                if !existing.is_empty() {
                    // Selected before a restart: the journal holds when (the chain time now is later).
                    return Ok(Outcome::Selected(existing, self.chain_time().await?));
                }
                let call = ValidationModule::selectValidatorsCall {
                    jobId: id,
                    _1: U256::from(0x0e6a),
                };
                // A dry run first: the fixed gas limit would otherwise hide the revert reason.
                // Selection needs a block after the submit's; on the devnet one is mined for it,
                // only when the dry run says so.
                let mut mined = false;
                loop {
                    let dry = self
                        .hub
                        .call("selectValidators", r.poster, vm, call.abi_encode().into())
                        .await;
                    match dry {
                        Ok(_) => break,
                        Err(super::tx::TxError::Reverted { reason, .. })
                            if reason.contains("SelectionTooEarly") =>
                        {
                            if !self.devnet || mined {
                                return Ok(Outcome::NotYetSelected { too_early: true });
                            }
                            self.hub.mine(1).await?;
                            mined = true;
                        }
                        Err(super::tx::TxError::Reverted { reason, .. })
                            if reason.contains("NotEnoughEligible") =>
                        {
                            return Ok(Outcome::NotYetSelected { too_early: false });
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                match send(
                    "selectValidators",
                    r.poster,
                    vm,
                    call.abi_encode(),
                    Gas::Fixed(SELECT_GAS),
                )
                .await
                {
                    Ok(receipt) => {
                        let at = self
                            .block_time(receipt.block_number.unwrap_or_default())
                            .await?;
                        match receipt.inner.logs().iter().find_map(|l| {
                            ValidationModule::ValidatorsSelected::decode_log_data(l.data()).ok()
                        }) {
                            Some(ev) => Ok(Outcome::Selected(ev.validators, at)),
                            None => Ok(Outcome::NotYetSelected { too_early: true }),
                        }
                    }
                    Err(super::tx::TxError::Reverted { reason, .. })
                        if reason.contains("SelectionTooEarly") =>
                    {
                        Ok(Outcome::NotYetSelected { too_early: true })
                    }
                    // Another selection of the same block took the free validators.
                    Err(super::tx::TxError::Reverted { reason, .. })
                        if reason.contains("NotEnoughEligible") =>
                    {
                        Ok(Outcome::NotYetSelected { too_early: false })
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Action::Commit(v) => {
                let (approve, salt, _) = r.votes[&v];
                let nonce = self.job_nonce(id).await?;
                let domain = domain_separator(vm, self.hub.chain_id());
                let hash = commit_hash(
                    id,
                    nonce,
                    r.spec_hash,
                    approve,
                    B256::ZERO,
                    salt,
                    v,
                    self.hub.chain_id(),
                    domain,
                );
                let call = ValidationModule::commitValidationCall {
                    jobId: id,
                    commitHash: hash,
                    subdomain: SUBDOMAIN.into(),
                    _3: vec![],
                };
                match send("commitValidation", v, vm, call.abi_encode(), Gas::Estimate).await {
                    Ok(_) => Ok(Outcome::Committed(v)),
                    Err(super::tx::TxError::Reverted { reason, .. })
                        if reason.contains("AlreadyCommitted") =>
                    {
                        Ok(Outcome::Committed(v))
                    }
                    Err(super::tx::TxError::Reverted { reason, .. })
                        if reason.contains("CommitPhaseClosed")
                            || reason.contains("NotSelected") =>
                    {
                        Ok(Outcome::Missed(v))
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Action::Reveal(v) => {
                let (approve, salt, _) = r.votes[&v];
                let call = ValidationModule::revealValidationCall {
                    jobId: id,
                    approve,
                    burnTxHash: B256::ZERO,
                    salt,
                    subdomain: SUBDOMAIN.into(),
                    _5: vec![],
                };
                match send("revealValidation", v, vm, call.abi_encode(), Gas::Estimate).await {
                    Ok(_) => Ok(Outcome::Revealed(v)),
                    Err(super::tx::TxError::Reverted { reason, .. })
                        if reason.contains("AlreadyRevealed") =>
                    {
                        Ok(Outcome::Revealed(v))
                    }
                    Err(super::tx::TxError::Reverted { reason, .. })
                        if reason.contains("RevealPhaseNotOpen") =>
                    {
                        Ok(Outcome::NotYet)
                    }
                    Err(super::tx::TxError::Reverted { reason, .. })
                        if reason.contains("RevealPhaseClosed") =>
                    {
                        Ok(Outcome::Missed(v))
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Action::Finish { force } => self.finish(id, force).await,
        }
    }

    /// Closes validation and settles the job on chain; idempotent at every step. Never moves the
    /// clock itself: when a window must pass first it says until when, and the worker (which
    /// knows every job's windows) moves time.
    async fn finish(&self, id: U256, force: bool) -> eyre::Result<Outcome> {
        let (jr, vm, employer) = (
            self.d.job_registry,
            self.d.validation_module,
            self.rec.poster,
        );
        let (commit_w, reveal_w, grace) = self.windows;
        let reveal_deadline = self.rec.selected_at + commit_w + reveal_w;
        if self.state(id).await? == 3 {
            if force {
                self.force(id, employer).await?;
            } else {
                let finalize = ValidationModule::finalizeCall { jobId: id }.abi_encode();
                match self
                    .hub
                    .send(
                        "ValidationModule.finalize",
                        employer,
                        Some(vm),
                        finalize.into(),
                        Gas::Estimate,
                    )
                    .await
                {
                    Ok(_) => {}
                    Err(super::tx::TxError::Reverted { reason, .. })
                        if reason.contains("RevealPending") =>
                    {
                        return Ok(Outcome::WaitUntil(reveal_deadline + 1, false));
                    }
                    Err(super::tx::TxError::Reverted { reason, .. })
                        if reason.contains("QuorumNotReached") =>
                    {
                        return Ok(Outcome::WaitUntil(reveal_deadline + grace + 1, true));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if self.state(id).await? == 5 {
            // Validators rejected the work (or quorum failed): governance resolves for the employer.
            let call = JobRegistry::resolveDisputeCall {
                jobId: id,
                employerWins: true,
            }
            .abi_encode();
            self.hub
                .send(
                    "resolveDispute",
                    self.owner,
                    Some(jr),
                    call.into(),
                    Gas::Estimate,
                )
                .await?;
        }
        if self.state(id).await? == 4 {
            self.hub
                .send(
                    "JobRegistry.finalize",
                    employer,
                    Some(jr),
                    JobRegistry::finalizeCall { jobId: id }.abi_encode().into(),
                    Gas::Estimate,
                )
                .await?;
        }
        match self.meta(id).await? {
            (6, success) => Ok(Outcome::Finished(success)),
            _ => Ok(Outcome::NotYet),
        }
    }

    async fn force(&self, id: U256, from: Address) -> eyre::Result<()> {
        let call = ValidationModule::forceFinalizeCall { jobId: id }.abi_encode();
        self.hub
            .send(
                "ValidationModule.forceFinalize",
                from,
                Some(self.d.validation_module),
                call.into(),
                Gas::Estimate,
            )
            .await?;
        Ok(())
    }

    /// The v2 job state, from the 9-field `jobs()` tuple.
    async fn state(&self, id: U256) -> eyre::Result<u8> {
        Ok(self.meta(id).await?.0)
    }

    /// The job's v2 state and its success flag.
    /// The packed metadata is decoded here, per the v2 layout (bits 0–2 state, bit 3 success),
    /// rather than with a `decodeJobMetadata` call: one request less per state read.
    async fn meta(&self, id: U256) -> eyre::Result<(u8, bool)> {
        let out = self
            .hub
            .call(
                "jobs",
                self.owner,
                self.d.job_registry,
                JobRegistry::jobsCall { jobId: id }.abi_encode().into(),
            )
            .await?;
        let packed = JobRegistry::jobsCall::abi_decode_returns(&out)?.packedMetadata;
        let low = packed.as_limbs()[0];
        Ok(((low & 0b111) as u8, low & 0b1000 != 0))
    }

    async fn committee(&self, id: U256) -> eyre::Result<Vec<Address>> {
        let out = self
            .hub
            .call(
                "validators",
                self.owner,
                self.d.validation_module,
                ValidationModule::validatorsCall { jobId: id }
                    .abi_encode()
                    .into(),
            )
            .await?;
        Ok(ValidationModule::validatorsCall::abi_decode_returns(&out)?)
    }

    async fn job_nonce(&self, id: U256) -> eyre::Result<U256> {
        let out = self
            .hub
            .call(
                "jobNonce",
                self.owner,
                self.d.validation_module,
                ValidationModule::jobNonceCall { jobId: id }
                    .abi_encode()
                    .into(),
            )
            .await?;
        Ok(ValidationModule::jobNonceCall::abi_decode_returns(&out)?)
    }

    async fn chain_time(&self) -> eyre::Result<u64> {
        let n = self.hub.provider().get_block_number().await?;
        self.block_time(n).await
    }

    async fn block_time(&self, n: u64) -> eyre::Result<u64> {
        let block = self.hub.provider().get_block_by_number(n.into()).await?;
        Ok(block.map(|b| b.header.timestamp).unwrap_or(0))
    }
}
