//! The orchestrator: loads or creates the world, runs cycles, checkpoints, and stops cleanly.

use super::agents::AgentPool;
use super::bus::Bus;
use super::clock::{Clock, VIRTUAL_EPOCH_MS, wall_ms};
use super::seams::{EventSink, Gates, InputSource};
use super::sources::{ConfigWatcher, ControlWatcher};
use crate::config::{Config, ReportPaths};
use crate::domain::events::{DomainEvent, ExternalInput};
use crate::domain::job::{Job, JobStatus};
use crate::domain::world::{ArchiveMark, Refusal, World, WorldState};
use crate::persistence::eventlog::EventLog;
use crate::persistence::telemetry::{Sample, Telemetry};
use crate::persistence::{archive, checkpoint};
use eyre::{Result, WrapErr};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stop after this many cycles; run until stopped otherwise.
    pub cycles: Option<u64>,
    /// Virtual time, no sleeping.
    pub fast: bool,
    /// Seed for a fresh state (ignored when resuming).
    pub seed: Option<u64>,
    /// Resume from `orchestrator_state.json.bak`.
    pub from_backup: bool,
    /// Where the config lives, so owner edits reach the running process.
    pub config_path: PathBuf,
    /// Stop once this many jobs have been settled in total (completed, failed or cancelled).
    pub stop_after_jobs: Option<u64>,
}

/// What a run did, for the final report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunSummary {
    pub cycles_run: u64,
    pub cycle: u64,
    pub resumed: bool,
    pub posted: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub active_jobs: usize,
    pub paused: bool,
    pub ledger_balanced: bool,
    pub checkpoint: String,
    pub checkpoint_hash: String,
    /// One line per sink that has something to say (the chain mirror's totals).
    pub sinks: Vec<String>,
}

pub struct Orchestrator {
    world: World,
    paths: ReportPaths,
    options: RunOptions,
    clock: Clock,
    agents: AgentPool,
    log: EventLog,
    telemetry: Telemetry,
    sinks: Vec<Box<dyn EventSink>>,
    sources: Vec<Box<dyn InputSource>>,
    control: ControlWatcher,
    config_watch: ConfigWatcher,
    period: Duration,
    checkpoint_every_ms: u64,
    last_checkpoint_ms: u64,
    resumed: bool,
    last_hash: String,
    progress: Option<ProgressHook>,
    /// Events held for write-ahead sinks until the state that produced them is saved.
    held: Vec<HeldEvents>,
    /// A checkpoint being written in the background (at most one at a time).
    writing: Option<std::thread::JoinHandle<Result<Saved>>>,
}

/// Called after every cycle with the world (progress bars, status lines, the live view).
pub type ProgressHook = Box<dyn FnMut(&World) + Send>;

/// What writing a checkpoint produced.
struct Saved {
    seq: u64,
    cycle: u64,
    active_jobs: usize,
    archived: usize,
    archive: ArchiveMark,
    hash: alloy_primitives::B256,
    bytes: usize,
    write_ms: f64,
}

/// Appends `terminal` to the archive and fsyncs it, then writes `state` with the archive's new
/// length: the checkpoint that no longer holds those jobs never lands before they are archived.
/// The jobs stay in the boxes the job book keeps them in: unboxing tens of thousands of them
/// would copy each once more for nothing. `waited`: the cycles wait for this one (see `append`).
#[allow(clippy::vec_box)]
fn write_checkpoint(
    archive_path: &Path,
    state_path: &Path,
    state: &mut WorldState,
    terminal: Vec<Box<Job>>,
    waited: bool,
) -> Result<Saved> {
    let started = Instant::now();
    let cannot_append = || format!("cannot append to {}", archive_path.display());
    let appended = archive::append(archive_path, state.archive, &terminal, waited)
        .wrap_err_with(cannot_append)?;
    state.archive = appended.mark;
    // The archive's fsync is disk time: meanwhile the state is encoded and written beside its
    // place, on this thread. It takes its place only once the archive is durable.
    let (synced, staged) = std::thread::scope(|s| {
        let syncing = s.spawn(|| appended.sync());
        let staged = checkpoint::encode(state).stage(state_path);
        (syncing.join(), staged)
    });
    synced
        .map_err(|_| eyre::eyre!("the archive's fsync panicked"))?
        .wrap_err_with(cannot_append)?;
    let (hash, bytes) = staged?.place()?;
    Ok(Saved {
        seq: state.checkpoint_seq,
        cycle: state.cycle,
        active_jobs: state.jobs.len(),
        archived: terminal.len(),
        archive: state.archive,
        hash,
        bytes,
        write_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

/// One cycle's events waiting for the checkpoint: (cycle, engine time, events).
type HeldEvents = (u64, u64, Vec<DomainEvent>);

/// The world of a checkpoint, the job archive cut back to it, interrupted work recovered.
fn resume(
    config: &Config,
    paths: &ReportPaths,
    log: &mut EventLog,
    loaded: checkpoint::Loaded,
) -> Result<World> {
    let cut = archive::truncate_to(&paths.archive, loaded.state.archive).wrap_err_with(|| {
        format!(
            "job archive {} does not match the checkpoint",
            paths.archive.display()
        )
    })?;
    let (mut world, refused) = World::restore(&config.world_setup(), loaded.state)?;
    refused.iter().for_each(warn_refused);
    let (redispatched, revalidated) = world.recover_interrupted();
    log.line("INFO", "state_restored", json!({
        "path": paths.state, "hash": loaded.hash.to_string(), "cycle": world.state.cycle,
        "active_jobs": world.state.jobs.len(), "redispatched": redispatched, "revalidated": revalidated,
        "archive_bytes_discarded": cut, "paused": world.paused(),
    }))?;
    tracing::info!(
        cycle = world.state.cycle,
        redispatched,
        revalidated,
        "resumed from {}",
        paths.state.display()
    );
    Ok(world)
}

impl Orchestrator {
    /// Loads the checkpoint (refusing a corrupt one) or creates a fresh world.
    pub fn open(config: &Config, paths: ReportPaths, options: RunOptions) -> Result<Orchestrator> {
        std::fs::create_dir_all(&paths.dir)
            .wrap_err_with(|| format!("cannot create {}", paths.dir.display()))?;
        if options.from_backup {
            restore_backup(&paths)?;
        }
        let period_ms = crate::domain::governance::seconds_to_ms(config.cycle_seconds);
        let mut log = EventLog::open(&paths.log)
            .wrap_err_with(|| format!("cannot open log {}", paths.log.display()))?;
        let (world, resumed) = match checkpoint::load(&paths.state)? {
            Some(loaded) => (resume(config, &paths, &mut log, loaded)?, true),
            None => {
                let seed = options
                    .seed
                    .unwrap_or_else(|| wall_ms() ^ (std::process::id() as u64) << 32);
                let start = if options.fast {
                    VIRTUAL_EPOCH_MS
                } else {
                    wall_ms()
                };
                set_aside_orphaned_archive(&paths)?;
                let (world, refused) = World::genesis(&config.world_setup(), seed, start);
                refused.iter().for_each(warn_refused);
                (world, false)
            }
        };
        let clock = if options.fast {
            Clock::Virtual {
                start_ms: world.state.now_ms,
                period_ms,
            }
        } else {
            Clock::Real
        };
        let agents = AgentPool::spawn(Bus::new(), &world.agents, &[]);
        let telemetry = Telemetry::open(&paths.telemetry, world.sim().kind());
        let last_checkpoint_ms = world.state.now_ms;
        Ok(Orchestrator {
            control: ControlWatcher::new(paths.control.clone()),
            config_watch: ConfigWatcher::new(options.config_path.clone(), config),
            world,
            paths,
            clock,
            agents,
            log,
            telemetry,
            sinks: Vec::new(),
            sources: Vec::new(),
            period: Duration::from_millis(period_ms),
            checkpoint_every_ms: (config.checkpoint_interval_seconds * 1000.0) as u64,
            last_checkpoint_ms,
            resumed,
            last_hash: String::new(),
            progress: None,
            held: Vec::new(),
            writing: None,
            options,
        })
    }

    pub fn add_sink(&mut self, sink: Box<dyn EventSink>) {
        self.sinks.push(sink);
    }

    /// External agents answer through these drivers (one per external agent) from now on.
    pub fn use_external_agents(&mut self, drivers: &[Arc<super::external::ExternalDriver>]) {
        self.agents = AgentPool::spawn(Bus::new(), &self.world.agents, drivers);
    }

    pub fn add_source(&mut self, source: Box<dyn InputSource>) {
        self.sources.push(source);
    }

    /// Called after every cycle (progress bars, status lines).
    pub fn on_progress(&mut self, f: ProgressHook) {
        self.progress = Some(f);
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    /// Runs until the cycle budget is spent or `stop` is raised; always ends with a checkpoint.
    pub async fn run(mut self, stop: Arc<AtomicBool>) -> Result<RunSummary> {
        let mut ran = 0u64;
        let mut ticker = tokio::time::interval(self.period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let first_ms = self.world.state.now_ms;
        self.checkpoint(true)?; // a resumable state exists from the first moment
        while self.options.cycles.is_none_or(|n| ran < n) && !stop.load(Ordering::Relaxed) {
            if !self.options.fast {
                ticker.tick().await;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            let now = match self.clock {
                Clock::Real => wall_ms(),
                Clock::Virtual { .. } => self.clock.now_ms(ran + 1).max(first_ms),
            };
            self.cycle(now).await?;
            ran += 1;
            if self.world.state.now_ms >= self.last_checkpoint_ms + self.checkpoint_every_ms {
                self.checkpoint(false)?;
            } else {
                if !self.held.is_empty() {
                    self.save_then_release()?;
                }
                if !self.options.fast {
                    self.log.flush()?;
                }
            }
            if let Some(progress) = self.progress.as_mut() {
                progress(&self.world);
            }
            let c = &self.world.state.counters;
            if self
                .options
                .stop_after_jobs
                .is_some_and(|n| c.completed + c.failed + c.cancelled >= n)
            {
                break;
            }
        }
        for sink in &mut self.sinks {
            sink.drain(Duration::from_secs(60))
                .await
                .wrap_err_with(|| format!("event sink {} could not finish", sink.name()))?;
        }
        self.checkpoint(true)?;
        self.log.line("INFO", "state_saved", json!({"path": self.paths.state, "hash": self.last_hash, "cycle": self.world.state.cycle}))?;
        self.log.flush()?;
        Ok(self.summary(ran))
    }

    /// One cycle: inputs, then (unless paused) time, supply, deadlines, agents, validation, prices.
    async fn cycle(&mut self, now_ms: u64) -> Result<()> {
        self.poll_inputs();
        if !self.world.paused() {
            let world = &mut self.world;
            let gate = Gates(self.sinks.iter().filter_map(|s| s.gate()).collect());
            world.advance_clock(now_ms);
            world.supply_jobs();
            world.sweep_deadlines();
            let ticks = world.build_ticks(&gate);
            let mut bids = world.start_bids();
            let apply = |reply| world.apply_reply(reply, &mut bids, &gate);
            let ticks = self.agents.exchange(ticks, apply).await;
            world.recycle_ticks(ticks);
            world.assign_from_bids(bids, &gate);
            world.advance_validation(&gate);
            world.thermostat();
        }
        self.world.end_cycle();
        self.publish_events()?;
        let now = self.world.state.now_ms;
        self.sinks.iter_mut().for_each(|s| s.tick(now));
        Ok(())
    }

    fn poll_inputs(&mut self) {
        if let Some(c) = self.control.poll(self.world.state.applied_control_seq) {
            let source = format!("console:{}", c.source);
            let input = if c.paused {
                ExternalInput::Pause { source }
            } else {
                ExternalInput::Resume { source }
            };
            self.world
                .apply_input(input)
                .unwrap_or_else(|r| warn_refused(&r));
            self.world.state.applied_control_seq = c.seq;
        }
        for input in self.config_watch.poll() {
            self.world
                .apply_input(input)
                .unwrap_or_else(|r| warn_refused(&r));
        }
        for source in &mut self.sources {
            for input in source.poll() {
                self.world
                    .apply_input(input)
                    .unwrap_or_else(|r| warn_refused(&r));
            }
        }
    }

    fn publish_events(&mut self) -> Result<()> {
        let events = self.world.take_events_into(self.log.spare());
        if events.is_empty() {
            return Ok(());
        }
        for e in &events {
            announce(e);
        }
        let (cycle, now) = (self.world.state.cycle, self.world.state.now_ms);
        for sink in self.sinks.iter_mut().filter(|s| !s.write_ahead()) {
            sink.deliver(cycle, now, &events)
                .wrap_err_with(|| format!("event sink {} failed", sink.name()))?;
        }
        if self.sinks.iter().any(|s| s.write_ahead()) {
            self.held.push((cycle, now, events.clone()));
        }
        self.log.events(EventLog::now(), events)?;
        Ok(())
    }

    /// Saves the state, then hands the held events to the write-ahead sinks: what they do on
    /// the chain never gets ahead of what a restart would load.
    fn save_then_release(&mut self) -> Result<()> {
        self.save_state(true)?;
        self.release_held()
    }

    fn release_held(&mut self) -> Result<()> {
        for (cycle, now, events) in std::mem::take(&mut self.held) {
            for sink in self.sinks.iter_mut().filter(|s| s.write_ahead()) {
                sink.deliver(cycle, now, &events)
                    .wrap_err_with(|| format!("event sink {} failed", sink.name()))?;
            }
        }
        Ok(())
    }

    /// Archives terminal jobs and writes the checkpoint. With `wait`, on this thread (returns
    /// what it wrote); otherwise on a thread of its own from a copy of the state while the
    /// cycles go on, announced by `finish_writing` before the next save.
    fn save_state(&mut self, wait: bool) -> Result<Option<Saved>> {
        self.finish_writing()?;
        for sink in &mut self.sinks {
            sink.flush()
                .wrap_err_with(|| format!("event sink {} could not flush", sink.name()))?;
        }
        let terminal = self.world.state.jobs.take_terminal();
        self.world.sync_sim_state();
        self.world.state.checkpoint_seq += 1;
        let (archive_path, state_path) = (&self.paths.archive, &self.paths.state);
        if wait {
            let saved = write_checkpoint(
                archive_path,
                state_path,
                &mut self.world.state,
                terminal,
                true,
            )?;
            self.last_hash = saved.hash.to_string();
            return Ok(Some(saved));
        }
        let mut copy = self.world.state.clone();
        let (archive_path, state_path) = (archive_path.clone(), state_path.clone());
        let thread = std::thread::Builder::new()
            .name("omega-checkpoint".into())
            .spawn(move || write_checkpoint(&archive_path, &state_path, &mut copy, terminal, false))
            .wrap_err("cannot start the checkpoint writer")?;
        self.writing = Some(thread);
        Ok(None)
    }

    /// Waits for a checkpoint being written in the background, if any, and records it.
    fn finish_writing(&mut self) -> Result<()> {
        let Some(thread) = self.writing.take() else {
            return Ok(());
        };
        let saved = thread
            .join()
            .map_err(|_| eyre::eyre!("the checkpoint writer panicked"))??;
        self.world.state.archive = saved.archive;
        self.last_hash = saved.hash.to_string();
        self.announce(saved)
    }

    /// A periodic checkpoint is on disk: sinks hear of it (the attestor) and the log says so.
    fn announce(&mut self, saved: Saved) -> Result<()> {
        self.sinks
            .iter_mut()
            .for_each(|s| s.checkpointed(saved.seq, saved.hash));
        self.log.line("INFO", "checkpoint", json!({
            "path": self.paths.state, "hash": self.last_hash, "bytes": saved.bytes, "cycle": saved.cycle,
            "active_jobs": saved.active_jobs, "archived": saved.archived, "write_ms": saved.write_ms,
        }))?;
        Ok(())
    }

    /// Archives terminal jobs, then writes the checkpoint and the telemetry. In fast mode it is
    /// written in the background, unless a write-ahead sink (the chain mirror) needs it on disk
    /// before acting. At real-time pace a checkpoint is cheap, and writing it here keeps every
    /// settled job readable (live view or archive) at every moment.
    fn checkpoint(&mut self, wait: bool) -> Result<()> {
        self.world.simulation_update();
        self.publish_events()?;
        let wait = wait || !self.options.fast || self.sinks.iter().any(|s| s.write_ahead());
        let saved = self.save_state(wait)?;
        self.release_held()?;
        if let Some(saved) = saved {
            self.announce(saved)?;
        }
        self.last_checkpoint_ms = self.world.state.now_ms;
        let r = &self.world.state.resources;
        self.telemetry.record(Sample {
            cycle: self.world.state.cycle,
            time_ms: self.world.state.now_ms,
            snapshot: self.world.sim().snapshot(),
            energy_capacity: r.energy_capacity,
            compute_capacity: r.compute_capacity,
            utilisation: r.utilisation(),
            token_per_energy: r.token_per_energy,
            token_per_compute: r.token_per_compute,
        });
        self.telemetry
            .write()
            .wrap_err_with(|| format!("cannot write {}", self.paths.telemetry.display()))?;
        self.log.flush()?;
        Ok(())
    }

    fn summary(&self, ran: u64) -> RunSummary {
        let s = &self.world.state;
        RunSummary {
            cycles_run: ran,
            cycle: s.cycle,
            resumed: self.resumed,
            posted: s.counters.posted,
            completed: s.counters.completed,
            failed: s.counters.failed,
            cancelled: s.counters.cancelled,
            active_jobs: s.jobs.iter().filter(|j| !j.status.is_terminal()).count(),
            paused: s.paused,
            ledger_balanced: s.ledger.totals().balanced(),
            checkpoint: self.paths.state.display().to_string(),
            checkpoint_hash: self.last_hash.clone(),
            sinks: self.sinks.iter().filter_map(|s| s.summary()).collect(),
        }
    }
}

/// Readable console lines for the events a steward cares about.
fn announce(e: &DomainEvent) {
    match e {
        DomainEvent::JobPosted {
            job,
            title,
            poster,
            reward,
            parent: None,
            ..
        } => tracing::info!("job {job} posted by {poster}: {title} (reward {reward})"),
        DomainEvent::DelegatedJob {
            parent, job, agent, ..
        } => tracing::info!("{agent} delegated job {job} from job {parent}"),
        DomainEvent::JobAssigned { job, agent, stake } => {
            tracing::debug!("job {job} assigned to {agent} (stake {stake})")
        }
        DomainEvent::JobCompleted {
            job, agent, reward, ..
        } => tracing::info!("job {job} completed by {agent}: paid {reward}"),
        DomainEvent::JobFailed {
            job,
            reason,
            slashed,
            ..
        } => tracing::warn!("job {job} failed: {reason} (slashed {slashed})"),
        DomainEvent::JobCancelled { job, reason } => {
            tracing::info!("job {job} cancelled: {reason}")
        }
        DomainEvent::ValidatorSlashed {
            job,
            validator,
            fault,
            amount,
        } => tracing::warn!(
            "{validator} slashed {amount} on job {job}: {}",
            fault.name()
        ),
        DomainEvent::ValidationStarted {
            job, conflicted, ..
        } if !conflicted.is_empty() => tracing::warn!(
            "job {job}: the chain seated its own worker on the committee ({}): conflict of \
             interest; the engine follows the chain's committee and quorum",
            conflicted
                .iter()
                .map(|n| &**n)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DomainEvent::Paused { source } => tracing::info!("paused by {source}"),
        DomainEvent::Resumed { source } => tracing::info!("resumed by {source}"),
        DomainEvent::ParameterChanged {
            name,
            old,
            new,
            source,
        } => tracing::info!("{name}: {old} → {new} ({source})"),
        _ => {}
    }
}

/// The world refused an input (or a demo job, or a config change at restore): it goes on
/// without it, and the steward reads why on the console.
fn warn_refused(refusal: &Refusal) {
    tracing::warn!("{refusal}");
}

/// A fresh start with an archive left from an earlier state (its checkpoint was removed): keep
/// it under another name rather than mixing two histories or deleting one.
fn set_aside_orphaned_archive(paths: &ReportPaths) -> Result<()> {
    if std::fs::metadata(&paths.archive).is_ok_and(|m| m.len() > 0) {
        let aside = crate::persistence::atomic::sibling(
            &paths.archive,
            &format!(".orphaned-{}", wall_ms()),
        );
        std::fs::rename(&paths.archive, &aside)?;
        tracing::warn!(
            "no checkpoint: starting fresh; the old job archive is kept as {}",
            aside.display()
        );
    }
    Ok(())
}

/// `--from-backup`: set the unusable checkpoint aside and put the backup in its place.
fn restore_backup(paths: &ReportPaths) -> Result<()> {
    let backup = checkpoint::backup_path(&paths.state);
    if !backup.exists() {
        eyre::bail!(
            "--from-backup: there is no backup checkpoint at {}",
            backup.display()
        );
    }
    checkpoint::verify_file(&backup).wrap_err("--from-backup: the backup is not usable either")?;
    if paths.state.exists() {
        let aside =
            crate::persistence::atomic::sibling(&paths.state, &format!(".rejected-{}", wall_ms()));
        std::fs::rename(&paths.state, &aside)?;
        tracing::warn!("moved the unusable checkpoint to {}", aside.display());
    }
    std::fs::copy(&backup, &paths.state)?;
    crate::persistence::atomic::sync_dir(&paths.state)?;
    Ok(())
}

/// Jobs by status among the live jobs.
pub fn live_counts(world: &World) -> Vec<(JobStatus, usize)> {
    JobStatus::ALL
        .iter()
        .map(|&s| (s, world.state.jobs.iter().filter(|j| j.status == s).count()))
        .collect()
}
