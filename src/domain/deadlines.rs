//! The pending and active jobs by deadline, earliest first, so the sweep for overdue jobs visits
//! only those.
//!
//! Generated jobs' deadlines follow their posting order, so a new entry almost always goes at the
//! back. A job that loses its deadline (it goes to validation, or settles) leaves its entry
//! behind instead of having it searched for: readers check each entry against its job, and the
//! stale entries are swept out once they outnumber the live ones. An ordered set paid a search on
//! both ends of every job's life, on the cycle's thread.

use super::job::JobId;
use std::collections::VecDeque;

/// Stale entries tolerated beyond the number of live ones before a sweep.
const SLACK: usize = 64;

#[derive(Clone, Debug, Default)]
pub struct DeadlineQueue {
    /// (deadline, job), in order; may hold stale entries, and an entry twice.
    entries: VecDeque<(u64, JobId)>,
    /// Entries known to have gone stale since the last sweep.
    stale: usize,
}

impl DeadlineQueue {
    /// A queue of these (deadline, job) entries, in any order.
    pub fn from_entries(mut entries: Vec<(u64, JobId)>) -> DeadlineQueue {
        entries.sort_unstable();
        DeadlineQueue {
            entries: entries.into(),
            stale: 0,
        }
    }

    pub fn add(&mut self, deadline_ms: u64, id: JobId) {
        let entry = (deadline_ms, id);
        if self.entries.back().is_none_or(|&last| last <= entry) {
            self.entries.push_back(entry);
        } else {
            let at = self.entries.partition_point(|&e| e <= entry);
            self.entries.insert(at, entry);
        }
    }

    /// Notes that one entry went stale. `live` entries still hold, and `holds` tells which. Stale
    /// entries at the front go at once (so a sweep past old deadlines does not read them again
    /// and again); the others once they outnumber the live ones.
    pub fn forget(&mut self, live: usize, holds: impl Fn(u64, JobId) -> bool) {
        self.stale += 1;
        while let Some(&(deadline, id)) = self.entries.front() {
            if holds(deadline, id) {
                break;
            }
            self.entries.pop_front();
            self.stale = self.stale.saturating_sub(1);
        }
        if self.stale <= live + SLACK {
            return;
        }
        let mut last = None;
        self.entries.retain(|&(deadline, id)| {
            let keep = last != Some((deadline, id)) && holds(deadline, id);
            if keep {
                last = Some((deadline, id));
            }
            keep
        });
        self.stale = 0;
    }

    /// The entries with a deadline before `now_ms`, earliest first, each once; stale ones
    /// included (the caller checks them against the job).
    pub fn before(&self, now_ms: u64) -> impl Iterator<Item = (u64, JobId)> + '_ {
        let mut last = None;
        (self.entries.iter().copied())
            .take_while(move |&(deadline, _)| deadline < now_ms)
            .filter(move |&entry| last.replace(entry) != Some(entry))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    proptest! {
        /// Whatever jobs gain and lose their deadlines, the entries before any time that still
        /// hold are exactly an ordered set's, and the stale ones stay bounded.
        #[test]
        fn reads_as_an_ordered_set_of_the_live_deadlines(
            ops in prop::collection::vec((any::<bool>(), 0u64..60, 0u64..500), 1..400),
            now in 0u64..600,
        ) {
            let mut queue = DeadlineQueue::default();
            let mut model: BTreeSet<(u64, JobId)> = BTreeSet::new();
            // The deadline each job holds now, if it holds one; and each job's deadline for life
            // (a job that regains its deadline, as a re-dispatched one does, meets its old entry).
            let mut holding: BTreeMap<JobId, u64> = BTreeMap::new();
            let mut fixed: BTreeMap<JobId, u64> = BTreeMap::new();
            for (add, job, deadline) in ops {
                let id = JobId(job);
                if add && !holding.contains_key(&id) {
                    let deadline = *fixed.entry(id).or_insert(deadline);
                    queue.add(deadline, id);
                    model.insert((deadline, id));
                    holding.insert(id, deadline);
                } else if let Some(deadline) = holding.remove(&id) {
                    model.remove(&(deadline, id));
                    let holds = |d: u64, id: JobId| holding.get(&id) == Some(&d);
                    queue.forget(holding.len(), holds);
                }
                prop_assert!(queue.len() <= 2 * holding.len() + SLACK + 1);
                if let Some(&(d, id)) = queue.entries.front() {
                    prop_assert_eq!(holding.get(&id), Some(&d), "the front entry holds");
                }
            }
            let read: Vec<(u64, JobId)> = queue
                .before(now)
                .filter(|&(d, id)| holding.get(&id) == Some(&d))
                .collect();
            let expected: Vec<(u64, JobId)> =
                model.range(..(now, JobId(0))).copied().collect();
            prop_assert_eq!(read, expected);
        }
    }
}
