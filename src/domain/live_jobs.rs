//! The live jobs of the book, by id, with lookups that cost an index rather than a search.
//!
//! Ids are handed out in increasing order and most jobs settle within a few cycles of being
//! posted, so the live ids form a dense window just below the next id. The window is a deque of
//! slots indexed by `id - first`. A job that lingers far behind the rest (one nobody can take,
//! waiting for its deadline) moves to a small ordered map of stragglers, so the window stays
//! dense and its memory follows the number of live jobs. The cycle looks a job up several times
//! per step; with a B-tree each lookup was a search through nodes that were rarely in cache.

use super::job::{Job, JobId};
use std::collections::{BTreeMap, VecDeque};

/// A window may hold this many empty slots (plus three per live job) before its oldest job
/// moves to the stragglers.
const SLACK: usize = 64;

#[derive(Clone, Debug, Default)]
pub struct LiveJobs {
    /// Jobs older than the window, by id (every id is below `first`).
    stragglers: BTreeMap<JobId, Box<Job>>,
    /// The id of `window[0]`.
    first: u64,
    window: VecDeque<Option<Box<Job>>>,
    /// Occupied slots in `window`.
    in_window: usize,
}

impl PartialEq for LiveJobs {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.values().eq(other.values())
    }
}

impl LiveJobs {
    pub fn len(&self) -> usize {
        self.stragglers.len() + self.in_window
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, id: JobId) -> Option<&Job> {
        match self.slot(id) {
            Some(i) => self.window.get(i)?.as_deref(),
            None => self.stragglers.get(&id).map(|j| &**j),
        }
    }

    pub fn get_mut(&mut self, id: JobId) -> Option<&mut Job> {
        match self.slot(id) {
            Some(i) => self.window.get_mut(i)?.as_deref_mut(),
            None => self.stragglers.get_mut(&id).map(|j| &mut **j),
        }
    }

    /// The jobs in id order.
    pub fn values(&self) -> impl Iterator<Item = &Job> {
        let window = self.window.iter().flatten();
        self.stragglers.values().chain(window).map(|j| &**j)
    }

    /// Adds a job (replacing one with the same id). Ids usually arrive in increasing order.
    pub fn insert(&mut self, job: Box<Job>) {
        let id = job.id;
        if id.0 < self.first {
            self.stragglers.insert(id, job);
            return;
        }
        let mut i = self.offset(id);
        if i >= self.window.len() && i + 1 > 3 * (self.in_window + 1) + SLACK {
            // Far beyond the window (a restored book with old stragglers, say): start a new one.
            self.retire_window();
            self.first = id.0;
            i = 0;
        }
        if self.window.is_empty() {
            self.first = id.0;
            i = 0;
        }
        if i >= self.window.len() {
            self.window.resize_with(i + 1, || None);
        }
        if self.window[i].replace(job).is_none() {
            self.in_window += 1;
        }
        self.compact();
    }

    pub fn remove(&mut self, id: JobId) -> Option<Box<Job>> {
        let Some(i) = self.slot(id) else {
            return self.stragglers.remove(&id);
        };
        let job = self.window.get_mut(i)?.take()?;
        self.in_window -= 1;
        while let Some(None) = self.window.back() {
            self.window.pop_back();
        }
        self.compact();
        Some(job)
    }

    /// The window index of `id`, or `None` when it is older than the window.
    fn slot(&self, id: JobId) -> Option<usize> {
        (id.0 >= self.first).then(|| self.offset(id))
    }

    fn offset(&self, id: JobId) -> usize {
        usize::try_from(id.0 - self.first).unwrap_or(usize::MAX)
    }

    /// Drops empty slots at the front, and moves the oldest job to the stragglers while the
    /// window is mostly empty.
    fn compact(&mut self) {
        loop {
            match self.window.front() {
                Some(None) => {}
                Some(Some(_)) if self.window.len() > 3 * self.in_window + SLACK => {
                    let job = self.window[0].take().expect("front holds a job");
                    self.in_window -= 1;
                    self.stragglers.insert(job.id, job);
                }
                _ => return,
            }
            self.window.pop_front();
            self.first += 1;
        }
    }

    /// Moves every job of the window to the stragglers and empties the window.
    fn retire_window(&mut self) {
        for job in self.window.drain(..).flatten() {
            self.stragglers.insert(job.id, job);
        }
        self.in_window = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::amount::Amount;
    use crate::domain::job::{JobBook, JobOrigin, JobSpec};
    use crate::domain::ledger::AccountId;
    use proptest::prelude::*;

    /// A copy of one posted job under another id.
    fn job(id: u64) -> Box<Job> {
        static TEMPLATE: std::sync::OnceLock<Job> = std::sync::OnceLock::new();
        let template = TEMPLATE.get_or_init(|| {
            let mut book = JobBook::new();
            let spec = JobSpec {
                title: "job".into(),
                reward: Amount(1),
                deadline_ms: 1,
                energy: 0.0,
                compute: 0.0,
                skills: vec!["s".to_string()].into(),
                poster: AccountId(0),
                parent: None,
                origin: JobOrigin::Local,
            };
            let posted = book.post(spec, Amount(0), 0).unwrap();
            book.get(posted).unwrap().clone()
        });
        let mut job = Box::new(template.clone());
        job.id = JobId(id);
        job
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the order of inserts and removals, the window answers exactly as an ordered
        /// map of the same jobs would, and its memory follows the live jobs.
        #[test]
        fn behaves_like_an_ordered_map(
            ops in proptest::collection::vec((any::<bool>(), 0u64..300, 0u64..3), 1..300)
        ) {
            let mut live = LiveJobs::default();
            let mut model: BTreeMap<JobId, u64> = BTreeMap::new();
            let mut next = 1u64;
            for (insert, pick, jump) in ops {
                let touched = if insert {
                    // Mostly the next id, sometimes a jump ahead or an old id.
                    let id = match jump {
                        0 => next,
                        1 => next + pick,
                        _ => pick,
                    };
                    next = next.max(id + 1);
                    live.insert(job(id));
                    model.insert(JobId(id), id);
                    JobId(id)
                } else {
                    let id = JobId(pick % next.max(1));
                    prop_assert_eq!(live.remove(id).map(|j| j.id), model.remove(&id).map(JobId));
                    id
                };
                prop_assert_eq!(live.get(touched).map(|j| j.id), model.get(&touched).map(|_| touched));
                prop_assert_eq!(live.len(), model.len());
                let ids: Vec<JobId> = live.values().map(|j| j.id).collect();
                let expected: Vec<JobId> = model.keys().copied().collect();
                prop_assert_eq!(ids, expected);
                prop_assert!(live.window.len() <= 3 * live.in_window + SLACK + 1);
            }
            for id in (0..next + 2).map(JobId) {
                prop_assert_eq!(live.get(id).map(|j| j.id), model.get(&id).map(|_| id));
            }
        }
    }

    #[test]
    fn a_lingering_job_moves_out_of_the_way_and_stays_reachable() {
        let mut live = LiveJobs::default();
        live.insert(job(1));
        for id in 2..10_000 {
            live.insert(job(id));
            live.remove(JobId(id));
        }
        assert!(live.window.len() <= SLACK);
        assert_eq!(live.get(JobId(1)).map(|j| j.id), Some(JobId(1)));
        assert_eq!(live.values().count(), 1);
        assert_eq!(live.remove(JobId(1)).map(|j| j.id), Some(JobId(1)));
        assert!(live.is_empty());
    }
}
