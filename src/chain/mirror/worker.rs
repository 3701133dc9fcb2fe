//! The mirror task: takes the engine's events into the job records, starts each job's next
//! action, applies what comes back, and (on the devnet) moves the chain clock.

use super::actions::Ctx;
use super::chain_io::{ChainReads, HubChain, SignedCreate};
use super::schedule::{Action, Outcome, REORG_REACH_BLOCKS, Schedule};
use super::state::{MirrorState, View};
use super::{Actors, Input, MirrorSettings, MirrorStats};
use crate::chain::journal::{Entry, SharedJournal};
use crate::domain::job::JobId;
use crate::domain::ledger::AccountId;
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::Address;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// Added to on-chain deadlines on the devnet (see `posted`): 30 days.
const DEVNET_DEADLINE_MARGIN_S: u64 = 30 * 86_400;
/// How often the devnet clock is looked at while actions are in flight.
const PASS_TIME_EVERY: Duration = Duration::from_millis(50);
/// How often (debug) the open jobs are said in the log.
const SAY_OPEN_JOBS_EVERY: Duration = Duration::from_secs(10);

pub(super) struct Worker {
    pub chain: HubChain,
    pub actors: Actors,
    pub names: HashMap<String, AccountId>,
    pub settings: MirrorSettings,
    pub journal: SharedJournal,
    pub state: MirrorState,
    pub sched: Schedule,
    pub view: Arc<Mutex<View>>,
    pub stats: Arc<MirrorStats>,
    pub keeper: super::keeper::Keeper,
    /// The indexer's reorg count when the mirror last compared its jobs with the chain.
    pub seen_reorgs: u64,
    /// Jobs still to compare with the chain (see `redrive.rs`).
    pub to_check: Vec<JobId>,
    /// When the mirror last checked that the blocks its transactions were mined in are still on
    /// chain; the highest one found there, and the ones not looked at yet.
    pub mined_checked: Option<Instant>,
    pub verified: Option<(u64, alloy::primitives::B256)>,
    pub unverified: Vec<(u64, alloy::primitives::B256)>,
    /// Reorgs the mirror has noticed in this run.
    pub reorgs_noticed: u64,
    /// When the jobs waiting to be forgotten were last looked at.
    pub forget_checked: Option<Instant>,
}

/// A finished action, with its timings.
struct Done {
    job: JobId,
    action: Action,
    outcome: Outcome,
    waited: Duration,
    took: Duration,
    /// The reorgs the mirror had noticed when the action started.
    reorgs: u64,
    /// The `createJob` transactions it signed (and journaled).
    signed: Vec<SignedCreate>,
}

/// The on-chain deadline of a job posted now: the engine's clock may be virtual (--fast), so the
/// time left carries over, not the timestamp. The devnet clock jumps a commit window at a time to
/// pass validation windows, so it runs far ahead of the engine's: there the engine enforces the
/// deadline and the chain's gets a margin (else submits revert with DeadlinePassed).
pub(super) fn chain_deadline_s(
    now_ms: u64,
    deadline_ms: u64,
    chain_now_s: u64,
    devnet: bool,
) -> u64 {
    let left_s = deadline_ms.saturating_sub(now_ms).div_ceil(1000);
    let margin_s = if devnet { DEVNET_DEADLINE_MARGIN_S } else { 0 };
    chain_now_s + left_s + margin_s
}

impl Worker {
    pub async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Input>) {
        // Deadlines are chain time: know it before the first job is taken in (a chain's clock
        // may run far from the wall clock, which is only the fallback when this read fails).
        match self.chain.block_time(BlockNumberOrTag::Latest).await {
            Ok(t) => self.sched.chain_now = t,
            Err(e) => tracing::warn!("chain mirror: cannot read the chain's time yet: {e:#}"),
        }
        // A `createJob` sent before a crash must be found before anything else is sent: skipping
        // the search would create the job a second time. So it is retried until it succeeds.
        let mut wait = Duration::from_secs(1);
        while let Err(e) = self.recover().await {
            tracing::warn!("chain mirror: recovery failed, retrying in {wait:?}: {e:#}");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
        // Whatever a reorg took while the mirror was not running comes back first.
        self.to_check = self.journaled_jobs();
        let mut inflight: JoinSet<Done> = JoinSet::new();
        let mut drains: Vec<oneshot::Sender<()>> = Vec::new();
        let (mut last_pass, mut last_said) = (Instant::now(), Instant::now());
        loop {
            tokio::select! {
                input = inbox.recv() => match input {
                    Some(input) => self.take(input, &mut drains).await,
                    None => return,
                },
                Some(joined) = inflight.join_next(), if !inflight.is_empty() => {
                    if let Ok(done) = joined {
                        self.finished(done);
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            self.sched.draining = !drains.is_empty();
            self.recheck_chain_pause().await;
            if !self.sched.paused {
                let pass = inflight.is_empty() || last_pass.elapsed() >= PASS_TIME_EVERY;
                if pass {
                    self.follow_chain(inflight.is_empty()).await;
                }
                self.dispatch(&mut inflight);
                // Time moves even while other jobs' actions are in flight: `time_limit` keeps
                // every window someone still needs open.
                if pass {
                    last_pass = Instant::now();
                    if let Err(e) = self.pass_time(inflight.is_empty()).await {
                        tracing::warn!("chain mirror: moving time: {e:#}");
                    }
                }
            }
            if !drains.is_empty() || last_said.elapsed() >= SAY_OPEN_JOBS_EVERY {
                last_said = Instant::now();
                self.log_open_jobs(drains.len());
            }
            if inflight.is_empty() && !drains.is_empty() && self.drained() {
                drains.drain(..).for_each(|d| {
                    let _ = d.send(());
                });
            }
        }
    }

    async fn take(&mut self, input: Input, drains: &mut Vec<oneshot::Sender<()>>) {
        match input {
            Input::Events { now_ms, events } => {
                self.sched.now_ms = now_ms;
                for e in events {
                    if let Err(err) = self.ingest(e).await {
                        tracing::error!("chain mirror: {err:#}");
                    }
                }
            }
            Input::Drain(done) => drains.push(done),
            Input::Tick(now_ms) => self.sched.now_ms = self.sched.now_ms.max(now_ms),
        }
    }

    /// Debug: what each open job waits for (while draining, and every `SAY_OPEN_JOBS_EVERY`).
    fn log_open_jobs(&self, drains: usize) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let open = |r: &&super::state::Rec| !(r.detached || r.finished || r.cancelled);
        let (now, limit) = (
            self.sched.chain_now,
            self.sched.time_limit(&self.state.recs),
        );
        tracing::debug!(
            "chain mirror: chain time {now}, may move up to {limit}; {drains} drain(s)"
        );
        for (id, r) in self.state.recs.iter().filter(|(_, r)| open(r)) {
            let votes: Vec<String> = r
                .votes
                .iter()
                .map(|(v, x)| format!("{v}:{}", x.2))
                .collect();
            tracing::debug!(
                "chain mirror: job {id}: next {:?}, time {:?}, busy {}, selected at {}, \
                 committee {:?}, votes {votes:?}, reveals wanted {:?} done {:?}, engine round \
                 ends {}",
                self.sched.next_action(r),
                self.sched.time_needed(r),
                r.busy,
                r.selected_at,
                r.committee,
                r.reveal_wanted,
                r.revealed,
                r.offchain_reveal_deadline_ms
            );
        }
    }

    /// Nothing left to send, and (on the devnet, where the mirror moves the clock) no job waits
    /// for a time the clock could still be moved to.
    fn drained(&self) -> bool {
        let recs = &self.state.recs;
        let time_moves =
            self.sched.warp_target(recs).is_some() || self.sched.blocks_to_deepen(recs) > 0;
        self.sched.idle(recs) && !(self.settings.devnet && time_moves)
    }

    pub(super) fn addr(&self, name: &str) -> Option<Address> {
        self.actors.address(&self.names, name)
    }

    /// Starts the next action of every job that has one, is not busy and is not waiting to be
    /// compared with the chain.
    fn dispatch(&mut self, inflight: &mut JoinSet<Done>) {
        for (job, action) in self.sched.due(&self.state.recs) {
            // A job still to compare with the chain after a reorg waits for that comparison: its
            // record may hold steps the chain lost (a selection sent after a lost submit was
            // refused as NotStarted, and the job detached).
            if self.to_check.contains(&job) || !self.sched.admit(action) {
                continue;
            }
            if let Action::Create = action {
                let r = &self.state.recs[&job];
                if let Err(e) = self.journal.record(&Entry::CreateIntent {
                    job: job.0,
                    spec_hash: r.spec_hash,
                    poster: r.poster,
                    reward: r.reward,
                    deadline_s: r.deadline_s,
                }) {
                    tracing::error!("chain mirror: cannot journal job {job}: {e:#}");
                    continue;
                }
            }
            // A `createJob` is never signed twice: each signature is journaled first, and the
            // ones signed before are settled before another is.
            let signed = Arc::new(Mutex::new(Vec::new()));
            let on_signed = matches!(action, Action::Create).then(|| {
                super::recovery::journal_signed(self.journal.clone(), job, signed.clone())
            });
            let signed_before = match action {
                Action::Create => self.state.create_txs.get(&job).cloned(),
                _ => None,
            };
            let r = self.state.recs.get_mut(&job).expect("listed");
            r.busy += 1;
            if let Action::Select = action {
                r.selecting_since = Some(self.sched.chain_now);
            }
            let ctx = Ctx {
                chain: self.chain.clone(),
                job_registry: self.chain.d.job_registry,
                validation_module: self.chain.d.validation_module,
                owner: self.actors.owner,
                dispute_module: self.chain.d.dispute_module,
                registry_via: self.actors.registry_via,
                dispute_via: self.actors.dispute_via,
                devnet: self.settings.devnet,
                windows: self.sched.windows,
                chain_now: self.sched.chain_now,
                rec: r.clone(),
                on_signed,
                signed_before: signed_before.unwrap_or_default(),
            };
            let started = Instant::now();
            let waited = r.last_step.map(|t| started - t).unwrap_or_default();
            let reorgs = self.reorgs_noticed;
            inflight.spawn(async move {
                let outcome = ctx.perform(action).await;
                let signed = std::mem::take(&mut *signed.lock().expect("signed"));
                Done {
                    job,
                    action,
                    outcome,
                    waited,
                    took: started.elapsed(),
                    reorgs,
                    signed,
                }
            });
        }
    }

    fn finished(&mut self, done: Done) {
        self.sched.ended(done.action);
        if !done.signed.is_empty() {
            let txs = self.state.create_txs.entry(done.job).or_default();
            txs.extend(done.signed);
        }
        self.stats.stages.lock().expect("stages").record(
            done.action.kind(),
            done.waited,
            done.took,
        );
        // A refused step is compared with the chain before the job is detached: a reorg (noticed
        // or not yet) may have taken a step it needs, which the comparison sends again. Only a
        // refusal that comes again with nothing lost detaches the job.
        let across = done.reorgs != self.reorgs_noticed;
        if let Outcome::Failed(why) = &done.outcome {
            let r = self.state.recs.get_mut(&done.job);
            if let Some(r) = r.filter(|r| across || !r.refusal_checked) {
                r.refusal_checked = true;
                tracing::info!(
                    "chain mirror: job {}: {:?} refused ({why}); comparing it with the chain",
                    done.job,
                    done.action
                );
                self.apply(done.job, Outcome::NotYet);
                self.to_check.push(done.job);
                return;
            }
        }
        self.apply(done.job, done.outcome);
        if across && !self.to_check.contains(&done.job) {
            // Its receipt may come from a block the reorg took (the comparison after the reorg
            // skipped it while it was in flight): compared with the chain before its next step.
            self.to_check.push(done.job);
        }
    }

    /// Applies an outcome; its journal entry is written while the gate's view is still locked,
    /// so the engine never acts on a step the journal could lose.
    fn apply(&mut self, job: JobId, outcome: Outcome) {
        let committee: Vec<AccountId> = match &outcome {
            Outcome::Selected(c, _) => c
                .iter()
                .filter_map(|a| self.actors.account_of(*a))
                .collect(),
            _ => Vec::new(),
        };
        let Some(r) = self.state.recs.get_mut(&job) else {
            return;
        };
        let mut view = self.view.lock().expect("view");
        let entry = self
            .sched
            .apply(job, r, outcome, committee, &mut view, &self.stats);
        if entry.is_some() {
            r.refusal_checked = false;
        }
        if let Some(Entry::Created { .. }) = entry {
            self.state.create_txs.remove(&job);
        }
        if let Some(entry) = entry
            && let Err(e) = self.journal.record(&entry)
        {
            tracing::error!("chain mirror: cannot journal job {job}: {e:#}");
        }
    }

    /// After a reorg (the indexer saw it, or a block of our receipts is gone) the signers' nonces
    /// are made gap-free again, then every journaled job is compared with the chain and what it
    /// lost is sent again; then finished jobs are watched until deep enough.
    async fn follow_chain(&mut self, idle: bool) {
        let reorgs = self
            .settings
            .reorgs
            .load(std::sync::atomic::Ordering::Relaxed);
        let indexer_saw = reorgs != self.seen_reorgs;
        if indexer_saw || self.lost_a_mined_block().await {
            self.seen_reorgs = reorgs;
            self.reorgs_noticed += 1;
            tracing::warn!("chain mirror: a reorg took blocks; comparing every job with the chain");
            // The signers' nonces are made gap-free again and what still waited is mined before
            // the comparison (else a reorg under waiting transactions stopped the run).
            self.chain.hub.after_reorg().await;
            // A job detached since may have failed against the chain the reorg replaced.
            let mut view = self.view.lock().expect("view");
            for (id, r) in self.state.recs.iter_mut().filter(|(_, r)| r.detached) {
                r.detached = false;
                view.detached.remove(id);
                self.stats
                    .detached
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
            drop(view);
            self.to_check = self.journaled_jobs();
        }
        if !self.to_check.is_empty() {
            let jobs = std::mem::take(&mut self.to_check);
            self.to_check = self.redrive(jobs).await;
        }
        if let Err(e) = self.watch_finality(idle).await {
            tracing::warn!("chain mirror: watching finished jobs: {e:#}");
        }
    }

    /// Devnet: jump the chain clock to the earliest time a job waits for, when no other job's
    /// window would close by it. When only votes not yet deep enough hold it and nothing is in
    /// flight (whose transactions would bring blocks), mine the blocks that make them deep.
    async fn pass_time(&mut self, idle: bool) -> eyre::Result<()> {
        let (head, now) = self.chain.latest().await?;
        (self.sched.head, self.sched.chain_now) = (head, now);
        for r in self.state.recs.values_mut() {
            if r.votes_deep_at == Some(0) {
                r.votes_deep_at = Some(head + REORG_REACH_BLOCKS);
            }
        }
        if !self.settings.devnet {
            return Ok(());
        }
        if let Some(target) = self.sched.warp_target(&self.state.recs) {
            tracing::debug!("chain mirror: chain clock {now} moved to {target}");
            self.chain.hub.warp(target - now).await?;
            self.sched.chain_now = target;
        } else if idle {
            let blocks = self.sched.blocks_to_deepen(&self.state.recs);
            if blocks > 0 {
                tracing::debug!("chain mirror: {blocks} block(s) mined so that votes are deep");
                self.chain.hub.mine(blocks).await?;
            }
        }
        if self.sched.selection_waits() {
            self.keeper
                .keep(&self.chain, &self.actors.validators)
                .await?;
        }
        Ok(())
    }
}
