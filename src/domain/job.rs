//! The job DAG and its state machine.
//!
//! `pending → active → validating → completed | failed`, and `pending → cancelled`. Every
//! transition checks the current status, so a duplicated message can never assign, execute or
//! settle a job twice.

use super::amount::Amount;
use super::commit_reveal::Round;
use super::deadlines::DeadlineQueue;
use super::id_map::IdMap;
use super::ledger::AccountId;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

/// A job's required skills, shared cheaply between the job, offers and events.
pub type Skills = std::sync::Arc<[String]>;

/// A job's title, shared cheaply between the job and its events (generated jobs share one per
/// skill).
pub type Title = std::sync::Arc<str>;

/// A job's input data, when its poster gave some (a sub-job asked for by an external agent);
/// other jobs' input is derived from their id and title when an external agent needs it.
pub type Input = std::sync::Arc<serde_json::Value>;

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending = 0,
    Active,
    Validating,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Pending,
        JobStatus::Active,
        JobStatus::Validating,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// Pending and active jobs run out of time at their deadline; validating ones have their
    /// round's deadlines instead, and settled ones none.
    pub fn has_deadline(self) -> bool {
        matches!(self, JobStatus::Pending | JobStatus::Active)
    }

    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Active => "active",
            JobStatus::Validating => "validating",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }
}

/// Where a job came from: posted by this orchestrator, or adopted from outside (chain, API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOrigin {
    Local,
    External { reference: String },
}

/// What a poster asks for; the book turns it into a `Job`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub title: Title,
    pub reward: Amount,
    pub deadline_ms: u64,
    pub energy: f64,
    pub compute: f64,
    pub skills: Skills,
    pub poster: AccountId,
    pub parent: Option<JobId>,
    pub origin: JobOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub title: Title,
    pub reward: Amount,
    /// Burned from the poster's escrow on success (kept separate so the worker gets the full reward).
    pub burn_fee: Amount,
    pub deadline_ms: u64,
    pub energy: f64,
    pub compute: f64,
    pub skills: Skills,
    pub poster: AccountId,
    pub parent: Option<JobId>,
    /// Ancestor ids, root first.
    pub lineage: Vec<JobId>,
    pub children: Vec<JobId>,
    pub origin: JobOrigin,
    pub status: JobStatus,
    pub posted_at_ms: u64,
    pub assignee: Option<AccountId>,
    pub stake: Amount,
    /// Cycles of work done so far (reset when an interrupted job is re-dispatched).
    pub work_done: u32,
    /// The true quality of the submitted work, which validators inspect.
    pub quality_ok: Option<bool>,
    pub round: Option<Round>,
    /// Validation rounds started so far; the next round's nonce is this plus one.
    pub validation_rounds: u32,
    /// Why the job ended. The usual outcomes are fixed texts, shared rather than copied.
    pub outcome: Option<Cow<'static, str>>,
    /// The keccak hash of the result an external agent submitted (its canonical JSON), which
    /// goes on chain with `submit`; None for simulated work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<alloy_primitives::B256>,
    /// The input data its poster gave (see `Input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("job {0} does not exist")]
    Unknown(JobId),
    #[error("job {job} is {actual:?}, expected {expected:?}")]
    WrongStatus {
        job: JobId,
        actual: JobStatus,
        expected: JobStatus,
    },
    #[error("job {0} is assigned to another agent")]
    NotAssignee(JobId),
    #[error("job spec invalid: {0}")]
    InvalidSpec(String),
}

/// The live part of the DAG. Terminal jobs leave it when they are archived.
///
/// Settled jobs wait for the archive in a map of their own, so the live jobs the cycle works on
/// are only pending, active and validating ones, found by index (`IdMap`). Jobs are boxed, so
/// moving one between the two copies a pointer, not a job.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "StoredBook")]
pub struct JobBook {
    live: IdMap<Box<Job>>,
    settled: BTreeMap<JobId, Box<Job>>,
    next_id: u64,
    /// How many live jobs are pending, active and validating (derived, not stored).
    live_counts: [usize; 3],
    /// Pending and active jobs by deadline (derived, not stored; see `DeadlineQueue`).
    deadlines: DeadlineQueue,
    /// The validating jobs' ids, so the step that opens and closes rounds visits only those
    /// (derived, not stored).
    validating: IdMap<()>,
}

/// Books are equal when their jobs and next id are: the rest is derived from those.
impl PartialEq for JobBook {
    fn eq(&self, other: &Self) -> bool {
        self.live == other.live && self.settled == other.settled && self.next_id == other.next_id
    }
}

/// The live job `id`, if it is pending or active with this deadline (else its entry in the
/// deadline queue is stale).
fn holding_deadline(live: &IdMap<Box<Job>>, deadline_ms: u64, id: JobId) -> Option<&Job> {
    let job = live.get(id)?;
    (job.status.has_deadline() && job.deadline_ms == deadline_ms).then_some(&**job)
}

/// The stored form: every job in one map by id, and the next id.
#[derive(Deserialize)]
struct StoredBook {
    jobs: BTreeMap<JobId, Box<Job>>,
    next_id: u64,
}

impl From<StoredBook> for JobBook {
    fn from(stored: StoredBook) -> JobBook {
        let mut book = JobBook {
            next_id: stored.next_id,
            ..Default::default()
        };
        let mut deadlines = Vec::new();
        for (id, job) in stored.jobs {
            if job.status.is_terminal() {
                book.settled.insert(id, job);
            } else {
                book.live_counts[job.status as usize] += 1;
                if job.status.has_deadline() {
                    deadlines.push((job.deadline_ms, id));
                }
                if job.status == JobStatus::Validating {
                    book.validating.insert(id, ());
                }
                book.live.insert(id, job);
            }
        }
        book.deadlines = DeadlineQueue::from_entries(deadlines);
        book
    }
}

impl Serialize for JobBook {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct InOrder<'a>(&'a JobBook);
        impl Serialize for InOrder<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.iter().map(|j| (j.id, j)))
            }
        }
        let mut book = serializer.serialize_struct("JobBook", 2)?;
        book.serialize_field("jobs", &InOrder(self))?;
        book.serialize_field("next_id", &self.next_id)?;
        book.end()
    }
}

impl JobBook {
    pub fn new() -> JobBook {
        JobBook {
            next_id: 1,
            ..Default::default()
        }
    }

    pub fn next_id(&self) -> JobId {
        JobId(self.next_id)
    }

    pub fn get(&self, id: JobId) -> Option<&Job> {
        self.live
            .get(id)
            .or_else(|| self.settled.get(&id))
            .map(|j| &**j)
    }

    pub fn get_mut(&mut self, id: JobId) -> Option<&mut Job> {
        match self.live.get_mut(id) {
            Some(job) => Some(&mut **job),
            None => self.settled.get_mut(&id).map(|j| &mut **j),
        }
    }

    /// The pending, active and validating jobs, in id order.
    pub fn live(&self) -> impl Iterator<Item = &Job> {
        self.live.values().map(|j| &**j)
    }

    /// The validating jobs, in id order.
    pub fn validating(&self) -> impl Iterator<Item = &Job> {
        (self.validating.iter()).filter_map(|(id, ())| self.live.get(id).map(|j| &**j))
    }

    /// Every job, live and settled, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Job> {
        let mut live = self.live.values().peekable();
        let mut settled = self.settled.values().peekable();
        std::iter::from_fn(move || match (live.peek(), settled.peek()) {
            (Some(a), Some(b)) if b.id < a.id => settled.next(),
            (Some(_), _) => live.next(),
            (None, _) => settled.next(),
        })
        .map(|j| &**j)
    }

    pub fn len(&self) -> usize {
        self.live.len() + self.settled.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty() && self.settled.is_empty()
    }

    pub fn ids_with(&self, status: JobStatus) -> Vec<JobId> {
        self.with_status(status).map(|j| j.id).collect()
    }

    pub fn count(&self, status: JobStatus) -> usize {
        match self.live_counts.get(status as usize) {
            Some(&n) => n,
            None => self.with_status(status).count(),
        }
    }

    /// Pending and active jobs whose deadline is before `now_ms`, earliest deadline first.
    pub fn overdue(&self, now_ms: u64) -> impl Iterator<Item = &Job> {
        (self.deadlines.before(now_ms))
            .filter_map(|(deadline, id)| holding_deadline(&self.live, deadline, id))
    }

    /// Jobs in one status, by id: picked out of the live jobs or out of the settled ones. (The
    /// cycle never asks: it walks the live jobs once per pass.)
    pub fn with_status(&self, status: JobStatus) -> impl Iterator<Item = &Job> {
        let live = (!status.is_terminal()).then(|| self.live());
        let settled = status
            .is_terminal()
            .then(|| self.settled.values().map(|j| &**j));
        let jobs = live.into_iter().flatten();
        let jobs = jobs.chain(settled.into_iter().flatten());
        jobs.filter(move |j| j.status == status)
    }

    /// Validates and inserts a new pending job; links it to its parent when the parent is live.
    pub fn post(
        &mut self,
        spec: JobSpec,
        burn_fee: Amount,
        now_ms: u64,
    ) -> Result<JobId, JobError> {
        if spec.skills.is_empty() {
            return Err(JobError::InvalidSpec(
                "a job needs at least one skill".into(),
            ));
        }
        if spec.reward.is_zero() {
            return Err(JobError::InvalidSpec("reward must be positive".into()));
        }
        if !(spec.energy >= 0.0 && spec.compute >= 0.0) {
            return Err(JobError::InvalidSpec(
                "energy and compute budgets must be ≥ 0".into(),
            ));
        }
        let id = JobId(self.next_id);
        let lineage = match spec.parent.and_then(|p| self.get_mut(p)) {
            Some(parent) => {
                parent.children.push(id);
                let mut lineage = parent.lineage.clone();
                lineage.push(parent.id);
                lineage
            }
            None => Vec::new(),
        };
        self.next_id += 1;
        self.live_counts[JobStatus::Pending as usize] += 1;
        self.deadlines.add(spec.deadline_ms, id);
        self.live.insert(
            id,
            Box::new(Job {
                id,
                title: spec.title,
                reward: spec.reward,
                burn_fee,
                deadline_ms: spec.deadline_ms,
                energy: spec.energy,
                compute: spec.compute,
                skills: spec.skills,
                poster: spec.poster,
                parent: spec.parent,
                lineage,
                children: Vec::new(),
                origin: spec.origin,
                status: JobStatus::Pending,
                posted_at_ms: now_ms,
                assignee: None,
                stake: Amount::ZERO,
                work_done: 0,
                quality_ok: None,
                round: None,
                validation_rounds: 0,
                outcome: None,
                result: None,
                input: spec.input,
            }),
        );
        Ok(id)
    }

    /// At-most-once assignment: only a pending, unassigned job can be taken.
    pub fn assign(&mut self, id: JobId, agent: AccountId, stake: Amount) -> Result<&Job, JobError> {
        self.move_to(id, JobStatus::Pending, JobStatus::Active)?;
        let job = self.get_mut(id).expect("moved");
        job.assignee = Some(agent);
        job.stake = stake;
        job.work_done = 0;
        Ok(job)
    }

    /// Records one cycle of work by the assignee.
    pub fn record_work(&mut self, id: JobId, agent: AccountId) -> Result<u32, JobError> {
        let job = self.expect(id, JobStatus::Active)?;
        if job.assignee != Some(agent) {
            return Err(JobError::NotAssignee(id));
        }
        job.work_done += 1;
        Ok(job.work_done)
    }

    /// The assignee hands in its result; validation starts.
    pub fn submit(
        &mut self,
        id: JobId,
        agent: AccountId,
        quality_ok: bool,
        result: Option<alloy_primitives::B256>,
    ) -> Result<&mut Job, JobError> {
        if self.expect(id, JobStatus::Active)?.assignee != Some(agent) {
            return Err(JobError::NotAssignee(id));
        }
        self.move_to(id, JobStatus::Active, JobStatus::Validating)?;
        let job = self.get_mut(id).expect("moved");
        job.quality_ok = Some(quality_ok);
        job.result = result;
        Ok(job)
    }

    /// Settles a job in `from` status as completed or failed; at most once.
    pub fn settle(
        &mut self,
        id: JobId,
        from: JobStatus,
        success: bool,
        outcome: impl Into<Cow<'static, str>>,
    ) -> Result<&Job, JobError> {
        self.move_to(
            id,
            from,
            if success {
                JobStatus::Completed
            } else {
                JobStatus::Failed
            },
        )?;
        let job = self.get_mut(id).expect("moved");
        job.outcome = Some(outcome.into());
        job.round = None;
        Ok(job)
    }

    pub fn cancel(
        &mut self,
        id: JobId,
        outcome: impl Into<Cow<'static, str>>,
    ) -> Result<&Job, JobError> {
        self.move_to(id, JobStatus::Pending, JobStatus::Cancelled)?;
        let job = self.get_mut(id).expect("moved");
        job.outcome = Some(outcome.into());
        Ok(job)
    }

    /// Removes terminal jobs (for the archive), oldest id first, still boxed (see `JobBook`).
    #[allow(clippy::vec_box)]
    pub fn take_terminal(&mut self) -> Vec<Box<Job>> {
        std::mem::take(&mut self.settled).into_values().collect()
    }

    fn move_to(&mut self, id: JobId, from: JobStatus, to: JobStatus) -> Result<(), JobError> {
        let job = self.expect(id, from)?;
        job.status = to;
        let deadline_ms = job.deadline_ms;
        self.live_counts[from as usize] -= 1;
        match (from.has_deadline(), to.has_deadline()) {
            (true, false) => {
                let holding = self.count(JobStatus::Pending) + self.count(JobStatus::Active);
                let live = &self.live;
                (self.deadlines).forget(holding, |d, id| holding_deadline(live, d, id).is_some());
            }
            (false, true) => self.deadlines.add(deadline_ms, id),
            _ => {}
        }
        if from == JobStatus::Validating {
            self.validating.remove(id);
        }
        if to == JobStatus::Validating {
            self.validating.insert(id, ());
        }
        if to.is_terminal() {
            let job = self.live.remove(id).expect("checked live");
            self.settled.insert(id, job);
        } else {
            self.live_counts[to as usize] += 1;
        }
        Ok(())
    }

    /// The live job `id`, if it has the status expected.
    fn expect(&mut self, id: JobId, expected: JobStatus) -> Result<&mut Job, JobError> {
        let actual = match self.live.get_mut(id) {
            Some(job) if job.status == expected => return Ok(job),
            Some(job) => job.status,
            None => self.settled.get(&id).ok_or(JobError::Unknown(id))?.status,
        };
        Err(JobError::WrongStatus {
            job: id,
            actual,
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec(skills: &[&str], parent: Option<JobId>) -> JobSpec {
        JobSpec {
            title: "t".into(),
            reward: Amount(100),
            deadline_ms: 1_000,
            energy: 10.0,
            compute: 5.0,
            skills: skills
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into(),
            poster: AccountId(0),
            parent,
            origin: JobOrigin::Local,
            input: None,
        }
    }

    /// Posts `n` root jobs; their ids.
    fn post_jobs(book: &mut JobBook, n: usize) -> Vec<JobId> {
        (0..n)
            .map(|_| book.post(spec(&["a"], None), Amount(2), 0).unwrap())
            .collect()
    }

    #[test]
    fn ids_start_at_one_and_lineage_follows_parents() {
        let mut book = JobBook::new();
        let root = book
            .post(spec(&["a", "b", "c"], None), Amount(2), 0)
            .unwrap();
        let child = book
            .post(spec(&["b", "c"], Some(root)), Amount(2), 0)
            .unwrap();
        let grandchild = book.post(spec(&["c"], Some(child)), Amount(2), 0).unwrap();
        assert_eq!(root, JobId(1));
        assert_eq!(book.get(grandchild).unwrap().lineage, vec![root, child]);
        assert_eq!(book.get(root).unwrap().children, vec![child]);
        assert_eq!(book.get(child).unwrap().parent, Some(root));
    }

    #[test]
    fn a_job_is_assigned_at_most_once() {
        let mut book = JobBook::new();
        let id = book.post(spec(&["a"], None), Amount(2), 0).unwrap();
        book.assign(id, AccountId(1), Amount(10)).unwrap();
        assert!(matches!(
            book.assign(id, AccountId(2), Amount(10)),
            Err(JobError::WrongStatus { .. })
        ));
        assert_eq!(book.get(id).unwrap().assignee, Some(AccountId(1)));
    }

    #[test]
    fn only_the_assignee_works_and_settlement_happens_once() {
        let mut book = JobBook::new();
        let id = book.post(spec(&["a"], None), Amount(2), 0).unwrap();
        book.assign(id, AccountId(1), Amount(10)).unwrap();
        assert_eq!(
            book.record_work(id, AccountId(2)),
            Err(JobError::NotAssignee(id))
        );
        book.submit(id, AccountId(1), true, None).unwrap();
        book.settle(id, JobStatus::Validating, true, "approved")
            .unwrap();
        assert!(
            book.settle(id, JobStatus::Validating, true, "approved")
                .is_err()
        );
        assert_eq!(book.take_terminal().len(), 1);
        assert!(book.is_empty());
    }

    #[test]
    fn the_validating_list_follows_every_transition_and_a_restore() {
        let mut book = JobBook::new();
        let ids = post_jobs(&mut book, 4);
        for &id in &ids[..3] {
            book.assign(id, AccountId(1), Amount(1)).unwrap();
            book.submit(id, AccountId(1), true, None).unwrap();
        }
        let validating = |b: &JobBook| b.validating().map(|j| j.id).collect::<Vec<_>>();
        assert_eq!(validating(&book), ids[..3]);
        book.settle(ids[1], JobStatus::Validating, true, "approved")
            .unwrap();
        assert_eq!(validating(&book), [ids[0], ids[2]]);
        assert_eq!(validating(&book), book.ids_with(JobStatus::Validating));
        let restored: JobBook =
            serde_json::from_str(&serde_json::to_string(&book).unwrap()).unwrap();
        assert_eq!(validating(&restored), [ids[0], ids[2]]);
    }

    #[test]
    fn statuses_and_counts_survive_serialization() {
        let mut book = JobBook::new();
        let a = book.post(spec(&["a"], None), Amount(2), 0).unwrap();
        let b = book.post(spec(&["a"], None), Amount(2), 0).unwrap();
        book.assign(b, AccountId(1), Amount(1)).unwrap();
        let restored: JobBook =
            serde_json::from_str(&serde_json::to_string(&book).unwrap()).unwrap();
        assert_eq!(restored, book);
        assert_eq!(restored.ids_with(JobStatus::Pending), vec![a]);
        assert_eq!(restored.ids_with(JobStatus::Active), vec![b]);
    }

    #[test]
    fn overdue_jobs_are_the_pending_and_active_ones_past_their_deadline() {
        let mut book = JobBook::new();
        let mut post = |deadline_ms| {
            let spec = JobSpec {
                deadline_ms,
                ..spec(&["a"], None)
            };
            book.post(spec, Amount(2), 0).unwrap()
        };
        let (late, later, early, submitted, cancelled, on_time) = (
            post(300),
            post(400),
            post(100),
            post(50),
            post(60),
            post(900),
        );
        book.assign(later, AccountId(1), Amount(1)).unwrap();
        book.assign(submitted, AccountId(1), Amount(1)).unwrap();
        book.submit(submitted, AccountId(1), true, None).unwrap();
        book.cancel(cancelled, "gone").unwrap();
        let overdue = |book: &JobBook, now| book.overdue(now).map(|j| j.id).collect::<Vec<_>>();
        assert_eq!(overdue(&book, 500), vec![early, late, later]);
        assert_eq!(
            overdue(&book, 300),
            vec![early],
            "a deadline is not past at its instant"
        );
        assert_eq!(book.count(JobStatus::Pending), 3);
        assert_eq!(book.count(JobStatus::Active), 1);
        assert_eq!(book.count(JobStatus::Validating), 1);
        let restored: JobBook =
            serde_json::from_str(&serde_json::to_string(&book).unwrap()).unwrap();
        assert_eq!(overdue(&restored, 1_000), vec![early, late, later, on_time]);
        assert_eq!(restored.count(JobStatus::Pending), 3);
    }

    #[test]
    fn settled_jobs_stay_readable_and_in_id_order_until_archived() {
        let mut book = JobBook::new();
        let ids = post_jobs(&mut book, 5);
        // Settle the 2nd and 4th, cancel the 1st: settled and live ids interleave.
        for &id in &[ids[1], ids[3]] {
            book.assign(id, AccountId(1), Amount(1)).unwrap();
            book.submit(id, AccountId(1), true, None).unwrap();
            book.settle(id, JobStatus::Validating, true, "approved")
                .unwrap();
        }
        book.cancel(ids[0], "deadline").unwrap();
        let order: Vec<JobId> = book.iter().map(|j| j.id).collect();
        assert_eq!(order, ids, "every job, in id order");
        assert_eq!(book.ids_with(JobStatus::Completed), vec![ids[1], ids[3]]);
        assert_eq!(book.count(JobStatus::Cancelled), 1);
        assert_eq!(book.ids_with(JobStatus::Pending), vec![ids[2], ids[4]]);
        assert_eq!(book.get(ids[1]).unwrap().status, JobStatus::Completed);
        assert_eq!(
            book.settle(ids[1], JobStatus::Validating, true, "again"),
            Err(JobError::WrongStatus {
                job: ids[1],
                actual: JobStatus::Completed,
                expected: JobStatus::Validating
            })
        );
        let text = serde_json::to_string(&book).unwrap();
        let keys: Vec<u64> = serde_json::from_str::<serde_json::Value>(&text).unwrap()["jobs"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.parse().unwrap())
            .collect();
        assert_eq!(keys, vec![1, 2, 3, 4, 5], "stored as one map in id order");
        let restored: JobBook = serde_json::from_str(&text).unwrap();
        assert_eq!(restored, book);
        let archived: Vec<JobId> = book.take_terminal().iter().map(|j| j.id).collect();
        assert_eq!(archived, vec![ids[0], ids[1], ids[3]]);
        assert_eq!(book.len(), 2);
        assert!(book.get(ids[1]).is_none());
        assert_eq!(book.count(JobStatus::Completed), 0);
        assert_eq!(book.ids_with(JobStatus::Pending), vec![ids[2], ids[4]]);
    }

    #[test]
    fn invalid_specs_are_refused() {
        let mut book = JobBook::new();
        assert!(book.post(spec(&[], None), Amount(2), 0).is_err());
        let mut s = spec(&["a"], None);
        s.reward = Amount::ZERO;
        assert!(book.post(s, Amount(2), 0).is_err());
        assert_eq!(book.next_id(), JobId(1));
    }
}
