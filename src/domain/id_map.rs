//! A map keyed by job id, with lookups that cost an index rather than a search.
//!
//! Ids are handed out in increasing order and most jobs settle within a few cycles of being
//! posted, so the ids in use at any moment (live jobs, their stakes, escrows and allocations)
//! form a dense window just below the next id. The window is a deque of slots indexed by
//! `id - first`. An entry that lingers far behind the rest (a job nobody can take, waiting for its
//! deadline) moves to a small ordered map of stragglers, so the window stays dense and its memory
//! follows the number of entries. The cycle touches these maps several times per job step; as
//! B-trees each touch was a search through nodes that were rarely in cache.
//!
//! It iterates in id order and serializes as a JSON object in id order, exactly like the
//! `BTreeMap<JobId, T>` it replaces, so checkpoints are unchanged.

use super::job::JobId;
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};
use std::collections::{BTreeMap, VecDeque};

/// A window may hold this many empty slots (plus three per entry in it) before its oldest entry
/// moves to the stragglers.
const SLACK: usize = 64;

#[derive(Clone, Debug)]
pub struct IdMap<T> {
    /// Entries older than the window, by id (every id is below `first`).
    stragglers: BTreeMap<JobId, T>,
    /// The id of `window[0]`.
    first: u64,
    window: VecDeque<Option<T>>,
    /// Occupied slots in `window`.
    in_window: usize,
}

impl<T> Default for IdMap<T> {
    fn default() -> Self {
        IdMap {
            stragglers: BTreeMap::new(),
            first: 0,
            window: VecDeque::new(),
            in_window: 0,
        }
    }
}

impl<T: PartialEq> PartialEq for IdMap<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Serialize> Serialize for IdMap<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for IdMap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = BTreeMap::<JobId, T>::deserialize(deserializer)?;
        Ok(entries.into_iter().collect())
    }
}

impl<T> FromIterator<(JobId, T)> for IdMap<T> {
    fn from_iter<I: IntoIterator<Item = (JobId, T)>>(entries: I) -> Self {
        let mut map = IdMap::default();
        for (id, value) in entries {
            map.insert(id, value);
        }
        map
    }
}

impl<T> IdMap<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.stragglers.len() + self.in_window
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains_key(&self, id: JobId) -> bool {
        self.get(id).is_some()
    }

    pub fn get(&self, id: JobId) -> Option<&T> {
        match self.slot(id) {
            Some(i) => self.window.get(i)?.as_ref(),
            None => self.stragglers.get(&id),
        }
    }

    pub fn get_mut(&mut self, id: JobId) -> Option<&mut T> {
        match self.slot(id) {
            Some(i) => self.window.get_mut(i)?.as_mut(),
            None => self.stragglers.get_mut(&id),
        }
    }

    /// The entries in id order.
    pub fn iter(&self) -> impl Iterator<Item = (JobId, &T)> {
        let first = self.first;
        let window = (self.window.iter().enumerate())
            .filter_map(move |(i, v)| Some((JobId(first + i as u64), v.as_ref()?)));
        self.stragglers.iter().map(|(&id, v)| (id, v)).chain(window)
    }

    /// The values in id order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.stragglers.values().chain(self.window.iter().flatten())
    }

    /// Adds an entry, returning the one it replaces. Ids usually arrive in increasing order.
    pub fn insert(&mut self, id: JobId, value: T) -> Option<T> {
        if id.0 < self.first {
            return self.stragglers.insert(id, value);
        }
        let mut i = self.offset(id);
        if self.window.is_empty() || (i >= self.window.len() && i > 3 * self.in_window + SLACK) {
            // Empty, or far beyond the window (a restored map with old stragglers, say): the
            // window starts afresh at this id.
            self.retire_window();
            self.first = id.0;
            i = 0;
        }
        if i >= self.window.len() {
            self.window.resize_with(i + 1, || None);
        }
        let old = self.window[i].replace(value);
        if old.is_none() {
            self.in_window += 1;
        }
        self.compact();
        old
    }

    pub fn remove(&mut self, id: JobId) -> Option<T> {
        let Some(i) = self.slot(id) else {
            return self.stragglers.remove(&id);
        };
        let value = self.window.get_mut(i)?.take()?;
        self.in_window -= 1;
        while let Some(None) = self.window.back() {
            self.window.pop_back();
        }
        self.compact();
        Some(value)
    }

    /// The window index of `id`, or `None` when it is older than the window.
    fn slot(&self, id: JobId) -> Option<usize> {
        (id.0 >= self.first).then(|| self.offset(id))
    }

    fn offset(&self, id: JobId) -> usize {
        usize::try_from(id.0 - self.first).unwrap_or(usize::MAX)
    }

    /// Drops empty slots at the front, and moves the oldest entry to the stragglers while the
    /// window is mostly empty.
    fn compact(&mut self) {
        loop {
            match self.window.front() {
                Some(None) => {}
                Some(Some(_)) if self.window.len() > 3 * self.in_window + SLACK => {
                    let value = self.window[0].take().expect("front holds an entry");
                    self.in_window -= 1;
                    self.stragglers.insert(JobId(self.first), value);
                }
                _ => return,
            }
            self.window.pop_front();
            self.first += 1;
        }
    }

    /// Moves every entry of the window to the stragglers and empties the window.
    fn retire_window(&mut self) {
        let first = self.first;
        for (i, slot) in self.window.drain(..).enumerate() {
            if let Some(value) = slot {
                self.stragglers.insert(JobId(first + i as u64), value);
            }
        }
        self.in_window = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the order of inserts and removals, the window answers exactly as an ordered
        /// map of the same jobs would, and its memory follows the live jobs.
        #[test]
        fn behaves_like_an_ordered_map(
            ops in proptest::collection::vec((any::<bool>(), 0u64..300, 0u64..3), 1..300)
        ) {
            let mut live: IdMap<u64> = IdMap::new();
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
                    live.insert(JobId(id), id);
                    model.insert(JobId(id), id);
                    JobId(id)
                } else {
                    let id = JobId(pick % next.max(1));
                    prop_assert_eq!(live.remove(id), model.remove(&id));
                    id
                };
                prop_assert_eq!(live.get(touched), model.get(&touched));
                prop_assert_eq!(live.len(), model.len());
                let entries: Vec<(JobId, u64)> = live.iter().map(|(id, &v)| (id, v)).collect();
                let expected: Vec<(JobId, u64)> = model.iter().map(|(&id, &v)| (id, v)).collect();
                prop_assert_eq!(entries, expected);
                prop_assert!(live.values().copied().eq(model.values().copied()));
                prop_assert!(live.window.len() <= 3 * live.in_window + SLACK + 1);
            }
            for id in (0..next + 2).map(JobId) {
                prop_assert_eq!(live.get(id), model.get(&id));
            }
            let json = serde_json::to_string(&live).unwrap();
            prop_assert_eq!(&json, &serde_json::to_string(&model).unwrap());
            prop_assert!(serde_json::from_str::<IdMap<u64>>(&json).unwrap() == live);
        }
    }

    #[test]
    fn a_lingering_entry_moves_out_of_the_way_and_stays_reachable() {
        let mut live = IdMap::new();
        live.insert(JobId(1), 1);
        for id in 2..10_000 {
            live.insert(JobId(id), id);
            live.remove(JobId(id));
        }
        assert!(live.window.len() <= SLACK);
        assert_eq!(live.get(JobId(1)), Some(&1));
        assert_eq!(live.values().count(), 1);
        assert_eq!(live.remove(JobId(1)), Some(1));
        assert!(live.is_empty());
    }
}
