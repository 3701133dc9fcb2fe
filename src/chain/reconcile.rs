//! Checkpoint ↔ chain reconciliation: what the engine's files say (the checkpoint, the archive of
//! settled jobs, the mirror's journal, the attestation journal) against the view the indexer built
//! from events. The diff is pure; loading the engine side reads files and nothing else.
//!
//! The mirror's gate lets an engine job be at most one step ahead of the chain, so each engine
//! status has a set of chain states that are in sync; a chain behind that set is *off-chain ahead*
//! (the mirror has work to send), a chain beyond it is *chain ahead* (the engine must adopt it).

use super::journal::{Entry, Journal};
use super::view::{ChainView, JobState};
use crate::domain::job::{JobOrigin, JobStatus};
use crate::persistence::{archive, checkpoint};
use alloy::primitives::{Address, B256};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One engine job as reconciliation sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineJob {
    pub status: JobStatus,
    /// The on-chain id of a job adopted from the chain (`JobOrigin::External` "chain:N").
    pub adopted_from: Option<u64>,
}

/// The engine's side: jobs, the engine ↔ chain id mapping, pause flag, attestation intents.
#[derive(Clone, Debug, Default)]
pub struct EngineSide {
    pub jobs: BTreeMap<u64, EngineJob>,
    /// Engine jobs from this id on are mirrored (older ones ran without a chain).
    pub first_job: u64,
    /// Engine job → on-chain job id (from the mirror journal and from adoptions).
    pub mapping: BTreeMap<u64, u64>,
    /// Engine jobs whose `createJob` was about to be sent (journaled intent, no id yet).
    pub create_intents: BTreeSet<u64>,
    /// Engine job → the spec hash it was created (or adopted) with: the on-chain job it maps to
    /// must hold it (after a reorg, an id can come to hold another job).
    pub spec_hashes: BTreeMap<u64, B256>,
    pub paused: bool,
    /// Checkpoint index → hash the attestation journal says was (about to be) attested.
    pub attestations: BTreeMap<u64, B256>,
    /// Employers Omega posts with: their on-chain jobs must map to engine jobs.
    pub employers: BTreeSet<Address>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The engine is ahead: the mirror has something to send.
    OffChainAhead,
    /// The chain is ahead: the engine has something to adopt.
    ChainAhead,
    /// Both sides disagree in a way neither can catch up with.
    Conflict,
    /// The on-chain job has stood in one state longer than its windows plus a margin, while
    /// the engine is past waiting for it: nothing is moving it (e.g. a committee that cannot
    /// be drawn, a finalize never sent).
    Stalled,
}

/// What the stalled check needs: the chain's time, the time of the block each on-chain job
/// last moved in, and how long one state may last (validation windows plus a margin).
#[derive(Clone, Debug, Default)]
pub struct StallClock {
    pub now: u64,
    /// On-chain job id → timestamp of its last step's block.
    pub moved_at: BTreeMap<u64, u64>,
    pub limit_s: u64,
}

impl StallClock {
    /// The longest a job may stand still: a selection, both windows and the force-finalize
    /// grace, and once more both windows as a margin.
    pub fn limit(commit_s: u64, reveal_s: u64, grace_s: u64) -> u64 {
        2 * (commit_s + reveal_s) + grace_s
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Drift {
    pub subject: String,
    pub side: Side,
    pub offchain: String,
    pub onchain: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub jobs_checked: usize,
    pub onchain_jobs: usize,
    pub in_sync: usize,
    pub drift: Vec<Drift>,
}

impl Report {
    pub fn clean(&self) -> bool {
        self.drift.is_empty()
    }
}

impl EngineSide {
    /// Reads the checkpoint, the archive and the journals under `reports`.
    pub fn load(state: &Path, archive_path: &Path, chain_dir: &Path) -> eyre::Result<EngineSide> {
        let mut side = EngineSide {
            first_job: 1,
            ..Default::default()
        };
        for job in archive::read_all(archive_path)? {
            side.add_job(job.id.0, job.status, &job.origin);
        }
        if let Some(loaded) = checkpoint::load(state)? {
            side.paused = loaded.state.paused;
            for job in loaded.state.jobs.iter() {
                side.add_job(job.id.0, job.status, &job.origin);
            }
        }
        let (_, entries) = Journal::open(&chain_dir.join("mirror.jsonl"))?;
        side.read_mirror_journal(&entries);
        side.read_attestations(&chain_dir.join("attestations.jsonl"))?;
        Ok(side)
    }

    fn add_job(&mut self, id: u64, status: JobStatus, origin: &JobOrigin) {
        let adopted_from = match origin {
            JobOrigin::External { reference } => reference
                .strip_prefix("chain:")
                .and_then(|n| n.parse().ok()),
            JobOrigin::Local => None,
        };
        if let Some(onchain) = adopted_from {
            self.mapping.insert(id, onchain);
        }
        self.jobs.insert(
            id,
            EngineJob {
                status,
                adopted_from,
            },
        );
    }

    /// The last deployment's entries only (a reset devnet starts a new header).
    pub fn read_mirror_journal(&mut self, entries: &[Entry]) {
        for e in entries {
            match e {
                Entry::Header { first_job, .. } => {
                    self.first_job = *first_job;
                    self.create_intents.clear();
                    self.spec_hashes.clear();
                    let jobs = &self.jobs;
                    self.mapping
                        .retain(|job, _| jobs.get(job).is_some_and(|j| j.adopted_from.is_some()));
                }
                Entry::CreateIntent {
                    job,
                    poster,
                    spec_hash,
                    ..
                } => {
                    self.create_intents.insert(*job);
                    self.employers.insert(*poster);
                    self.spec_hashes.insert(*job, *spec_hash);
                }
                Entry::Adopted {
                    job,
                    onchain,
                    spec_hash,
                    ..
                } => {
                    self.spec_hashes.insert(*job, *spec_hash);
                    self.mapping
                        .insert(*job, onchain.try_into().unwrap_or(u64::MAX));
                }
                Entry::Created { job, onchain } => {
                    self.create_intents.remove(job);
                    self.mapping
                        .insert(*job, onchain.try_into().unwrap_or(u64::MAX));
                }
                _ => {}
            }
        }
    }

    fn read_attestations(&mut self, path: &Path) -> eyre::Result<()> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue; // a torn last line
            };
            if v["intent"] != "attest" {
                continue;
            }
            let hash = v["hash"].as_str().and_then(|h| h.parse().ok());
            if let (Some(i), Some(h)) = (v["index"].as_u64(), hash) {
                self.attestations.insert(i, h);
            }
        }
        Ok(())
    }
}

/// On-chain jobs the engine no longer waits on (validating or settled there) that have not moved
/// on chain for longer than the clock's limit, though the diff calls them in sync. (A job that
/// failed before `submit` waits on chain for its deadline, and is not judged here.)
pub fn stalled(report: &mut Report, engine: &EngineSide, chain: &ChainView, clock: &StallClock) {
    use JobState as C;
    use JobStatus as E;
    for (id, job) in engine.jobs.range(engine.first_job..) {
        let Some((c, j)) = engine
            .mapping
            .get(id)
            .and_then(|c| chain.jobs.get(c).map(|j| (*c, j)))
        else {
            continue;
        };
        let open = matches!(j.state, C::Submitted | C::Completed | C::Disputed);
        let engine_past = matches!(job.status, E::Validating | E::Completed | E::Failed);
        let Some(&moved) = clock.moved_at.get(&c) else {
            continue;
        };
        let idle = clock.now.saturating_sub(moved);
        if !open || !engine_past || idle <= clock.limit_s {
            continue;
        }
        if report
            .drift
            .iter()
            .any(|d| d.subject == format!("job {id}"))
        {
            continue; // already drift for another reason
        }
        report.in_sync = report.in_sync.saturating_sub(1);
        report.drift.push(Drift {
            subject: format!("job {id}"),
            side: Side::Stalled,
            offchain: job.status.name().to_string(),
            onchain: format!(
                "#{c} {} for {idle} s (limit {} s){}",
                j.state.name(),
                clock.limit_s,
                if j.state == C::Submitted && j.validators.is_empty() {
                    ", no committee"
                } else {
                    ""
                }
            ),
        });
    }
}

/// On-chain jobs that `stalled` would look at: open there, with their last step's block.
pub fn stall_candidates(engine: &EngineSide, chain: &ChainView) -> BTreeMap<u64, u64> {
    engine
        .mapping
        .values()
        .filter_map(|c| chain.jobs.get(c).map(|j| (*c, j)))
        .filter(|(_, j)| {
            matches!(
                j.state,
                JobState::Submitted | JobState::Completed | JobState::Disputed
            )
        })
        .map(|(c, j)| (c, j.since_block))
        .collect()
}

/// Diffs the engine side with the chain view.
pub fn reconcile(engine: &EngineSide, chain: &ChainView) -> Report {
    let mut drift = Vec::new();
    let mut in_sync = 0;
    let mut checked = 0;
    for (id, job) in engine.jobs.range(engine.first_job..) {
        checked += 1;
        let onchain = engine.mapping.get(id).and_then(|c| chain.jobs.get(c));
        if let (Some(j), Some(spec)) = (onchain, engine.spec_hashes.get(id))
            && j.spec_hash != *spec
        {
            drift.push(Drift {
                subject: format!("job {id}"),
                side: Side::Conflict,
                offchain: job.status.name().to_string(),
                onchain: format!("#{} holds another job", engine.mapping[id]),
            });
            continue;
        }
        let state = onchain.map(|j| (j.state, j.success));
        match judge(job.status, state, engine.create_intents.contains(id)) {
            None => in_sync += 1,
            Some(side) => drift.push(Drift {
                subject: format!("job {id}"),
                side,
                offchain: job.status.name().to_string(),
                onchain: match (engine.mapping.get(id), state) {
                    (Some(c), Some((s, _))) => format!("#{c} {}", s.name()),
                    (Some(c), None) => format!("#{c} missing"),
                    (None, _) => "not created".into(),
                },
            }),
        }
    }
    chain_jobs_not_journaled(engine, chain, &mut drift);
    if engine.paused != chain.any_paused() {
        drift.push(Drift {
            subject: "pause".into(),
            side: Side::ChainAhead,
            offchain: engine.paused.to_string(),
            onchain: chain.any_paused().to_string(),
        });
    }
    for (index, hash) in &engine.attestations {
        match chain.attestations.get(index) {
            Some(a) if a.hash == *hash => {}
            Some(a) => drift.push(Drift {
                subject: format!("attestation #{index}"),
                side: Side::Conflict,
                offchain: hash.to_string(),
                onchain: a.hash.to_string(),
            }),
            None => drift.push(Drift {
                subject: format!("attestation #{index}"),
                side: Side::OffChainAhead,
                offchain: hash.to_string(),
                onchain: "unattested".into(),
            }),
        }
    }
    Report {
        jobs_checked: checked,
        onchain_jobs: chain.jobs.len(),
        in_sync,
        drift,
    }
}

/// On-chain jobs the journal does not map: a second job with an engine job's spec (a second
/// `createJob` of it, whichever id the journal maps), and jobs of Omega's employers, or of others
/// not adopted, that no engine job stands for.
fn chain_jobs_not_journaled(engine: &EngineSide, chain: &ChainView, drift: &mut Vec<Drift>) {
    let mapped: BTreeSet<u64> = engine.mapping.values().copied().collect();
    let by_spec: BTreeMap<B256, u64> = engine
        .spec_hashes
        .iter()
        .map(|(job, spec)| (*spec, *job))
        .collect();
    for (id, j) in &chain.jobs {
        if let Some(job) = by_spec.get(&j.spec_hash)
            && engine.mapping.get(job) != Some(id)
        {
            let journaled = engine
                .mapping
                .get(job)
                .map_or("no id".into(), |c| format!("#{c}"));
            drift.push(Drift {
                subject: format!("chain job #{id}"),
                side: Side::Conflict,
                offchain: format!("job {job} is {journaled}"),
                onchain: format!("{} (a second createJob of job {job})", j.state.name()),
            });
            continue;
        }
        if mapped.contains(id) {
            continue;
        }
        let whose = if engine.employers.contains(&j.employer) {
            "posted by Omega's employer but not in the journal"
        } else {
            "posted by another employer, not adopted"
        };
        drift.push(Drift {
            subject: format!("chain job #{id}"),
            side: Side::ChainAhead,
            offchain: "unknown".into(),
            onchain: format!("{} ({whose})", j.state.name()),
        });
    }
}

/// `None` when the chain state is in sync with the engine status, else which side is ahead.
fn judge(status: JobStatus, chain: Option<(JobState, Option<bool>)>, intent: bool) -> Option<Side> {
    use JobState as C;
    use JobStatus as E;
    let Some((state, success)) = chain else {
        return match status {
            // Never created and cancelled off chain: nothing to mirror.
            E::Cancelled if !intent => None,
            _ => Some(Side::OffChainAhead),
        };
    };
    // Progress along the lifecycle, to tell behind from ahead.
    let rank = |s: JobState| match s {
        C::Created => 1,
        C::Applied => 2,
        C::Submitted => 3,
        C::Completed | C::Disputed => 4,
        C::Finalized => 5,
        C::Cancelled => 6,
    };
    // Validating may meet a finalized job: the mirror settles on chain first, and the engine
    // follows at its next cycle. A job that failed before submission stays Applied on chain until
    // its deadline passes; the mirror then expires it (Finalized, unsuccessful).
    let (low, high) = match status {
        E::Pending => (1, 1),
        E::Active => (2, 2),
        E::Validating => (3, 5),
        E::Completed => (5, 5),
        E::Failed if state == C::Applied => (2, 2),
        E::Failed => (5, 5),
        E::Cancelled => (6, 6),
    };
    let r = rank(state);
    if status == E::Cancelled {
        return match state {
            C::Cancelled => None,
            C::Created => Some(Side::OffChainAhead),
            _ => Some(Side::Conflict),
        };
    }
    if state == C::Cancelled {
        // A job the engine failed before any agent applied on chain is released by cancelling.
        return (status != E::Failed).then_some(Side::Conflict);
    }
    if r < low {
        return Some(Side::OffChainAhead);
    }
    if r > high {
        return Some(Side::ChainAhead);
    }
    let outcome_agrees = match (status, success) {
        (E::Completed, Some(ok)) => ok,
        (E::Failed, Some(ok)) => !ok,
        _ => true,
    };
    (!outcome_agrees).then_some(Side::Conflict)
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
