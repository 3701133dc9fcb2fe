//! The job supply: how many jobs are generated each cycle, what they ask for and who posts them.

use super::{MS_PER_HOUR, World};
use crate::domain::amount::Amount;
use crate::domain::governance::GeneratorParams;
use crate::domain::job::{JobOrigin, JobSpec, JobStatus, Skills};
use crate::domain::ledger::{AccountId, STEWARD};
use rand::Rng;
use rand::seq::IndexedRandom;

impl World {
    /// The job supply: generated jobs at the configured rate, scaled by the simulation's innovation,
    /// sized by what the planet has free, posted by whoever holds the most tokens.
    pub fn supply_jobs(&mut self) {
        let g = self.state.params.generator.clone();
        let pending = self.state.jobs.count(JobStatus::Pending) as u32;
        if g.rate_per_cycle <= 0.0 || pending >= g.max_pending {
            return;
        }
        let rate =
            g.rate_per_cycle * self.sim.snapshot().innovation / self.state.params.base_innovation;
        let mut n =
            rate.floor() as u32 + self.state.rng.random_bool(rate.fract().clamp(0.0, 1.0)) as u32;
        n = n.min(g.max_pending - pending);
        // Each job's escrow lowers only its poster's balance, so the richest account stays the
        // richest until it falls below the runner-up; only then is the ranking looked at again.
        let (mut richest, mut runner_up) = self.richest_two();
        for _ in 0..n {
            let (spec, bits) = self.generated_job(&g, richest);
            if self.post_job_with_bits(spec, Some(bits)).is_err() {
                break;
            }
            if runner_up.is_some_and(|r| self.outranks(r, richest)) {
                (richest, runner_up) = self.richest_two();
            }
        }
    }

    /// A generated job posted by `poster`, and its skills as bits.
    pub(super) fn generated_job(
        &mut self,
        g: &GeneratorParams,
        poster: AccountId,
    ) -> (JobSpec, u128) {
        let free = self.state.ledger.free(poster);
        let reward = free
            .mul_ratio(g.reward_fraction)
            .max(Amount::from_tokens(g.min_reward))
            .min(Amount::from_tokens(g.max_reward));
        let agent = self
            .agents
            .choose(&mut self.state.rng)
            .expect("config has agents");
        let take = self.state.rng.random_range(1..=agent.skills.len().min(3));
        // The same draw as `choose_multiple`, as indices: the skills and title of each distinct
        // pick are made once and shared by every job that draws it.
        let picked = rand::seq::index::sample(&mut self.state.rng, agent.skills.len(), take);
        let mut key = [u32::MAX; 3];
        for (slot, i) in key.iter_mut().zip(picked.iter()) {
            *slot = i as u32;
        }
        let skill_bits = &self.skill_bits;
        let (skills, title, bits) = (self.picks.entry((agent.id, key)))
            .or_insert_with(|| {
                let skills: Skills = picked.iter().map(|i| agent.skills[i].clone()).collect();
                let title = format!("{} initiative", skills[0]).into();
                let bits = skill_bits.of(&skills);
                (skills, title, bits)
            })
            .clone();
        let r = &self.state.resources;
        let energy_room = if r.energy_capacity > 0.0 {
            r.energy_free() / r.energy_capacity
        } else {
            0.0
        };
        let compute_room = if r.compute_capacity > 0.0 {
            r.compute_free() / r.compute_capacity
        } else {
            0.0
        };
        let energy = (g.max_energy * self.state.rng.random_range(0.2..1.0) * energy_room).round();
        let compute =
            (g.max_compute * self.state.rng.random_range(0.2..1.0) * compute_room).round();
        let spec = JobSpec {
            title,
            reward,
            deadline_ms: self.state.now_ms + (g.deadline_hours * MS_PER_HOUR) as u64,
            energy,
            compute,
            skills,
            poster,
            parent: None,
            origin: JobOrigin::Local,
            input: None,
        };
        (spec, bits)
    }

    /// The account with the most free tokens (ties to the lowest id), and the next one.
    pub(super) fn richest_two(&self) -> (AccountId, Option<AccountId>) {
        let mut ranked = (0..self.state.ledger.accounts().len()).map(|i| AccountId(i as u32));
        let mut best = ranked.next().unwrap_or(STEWARD);
        let mut second = None;
        for id in ranked {
            if self.outranks(id, best) {
                second = Some(best);
                best = id;
            } else if second.is_none_or(|s| self.outranks(id, s)) {
                second = Some(id);
            }
        }
        (best, second)
    }

    /// Whether `a` holds more free tokens than `b`, or as many and has the lower id.
    fn outranks(&self, a: AccountId, b: AccountId) -> bool {
        let ledger = &self.state.ledger;
        (ledger.free(a), std::cmp::Reverse(a)) > (ledger.free(b), std::cmp::Reverse(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The two richest accounts are those a full ranking puts first, ties to the lower id.
        #[test]
        fn the_richest_two_head_the_full_ranking(
            moves in prop::collection::vec((0..8u32, 0..8u32, 0..3u128), 0..40),
        ) {
            let (mut world, _) = World::genesis(&crate::domain::setup::sample(), 1, 0);
            for (from, to, tokens) in moves {
                let amount = world.state.ledger.free(AccountId(from)).mul_ratio(tokens as f64 / 2.0);
                let _ = world.state.ledger.transfer(AccountId(from), AccountId(to), amount);
            }
            let ledger = &world.state.ledger;
            let mut ranked: Vec<AccountId> =
                (0..ledger.accounts().len()).map(|i| AccountId(i as u32)).collect();
            ranked.sort_by_key(|&a| (std::cmp::Reverse(ledger.free(a)), a));
            prop_assert_eq!(world.richest_two(), (ranked[0], ranked.get(1).copied()));
        }
    }
}
