//! Skills as bit sets, so that matching a job to the agents who can take it is cheap.

use crate::domain::agent::{AgentProfile, GOVERNANCE, SkillMatch};
use std::collections::HashMap;

/// The skills agents hold, numbered, so that "does this agent have one of the skills this job
/// needs" is one AND of two bit sets instead of comparing strings. With more distinct skills
/// than bits, it falls back to comparing strings.
pub(super) struct SkillBits {
    /// Bit number of each skill some agent holds; empty when there are too many to number.
    bit: HashMap<String, u32>,
    /// Each agent's skills as bits, by agent index.
    agents: Vec<u128>,
    /// The governance skill's bit (none if no agent holds it).
    governance: u128,
}

impl SkillBits {
    pub(super) fn new(agents: &[AgentProfile]) -> SkillBits {
        let mut bit = HashMap::new();
        for skill in agents.iter().flat_map(|a| &a.skills) {
            let next = bit.len() as u32;
            bit.entry(skill.clone()).or_insert(next);
        }
        if bit.len() > u128::BITS as usize {
            bit.clear();
        }
        let mut bits = SkillBits {
            bit,
            agents: Vec::new(),
            governance: 0,
        };
        bits.agents = agents.iter().map(|a| bits.of(&a.skills)).collect();
        bits.governance = bits.of(&[GOVERNANCE.to_string()]);
        bits
    }

    /// The bits of `skills` (skills no agent holds have none).
    pub(super) fn of(&self, skills: &[String]) -> u128 {
        skills
            .iter()
            .filter_map(|s| self.bit.get(s))
            .fold(0, |acc, b| acc | 1 << b)
    }

    /// How a job's skills (`wanted` = their bits) meet agent `index`'s; `None` if the agent
    /// holds none of them.
    pub(super) fn matching(
        &self,
        wanted: u128,
        skills: &[String],
        index: usize,
        agent: &AgentProfile,
    ) -> Option<SkillMatch> {
        let needed = skills.len() as u32;
        let found = if !self.bit.is_empty() && wanted.count_ones() == needed {
            // Every skill of the job is numbered and none repeats: counting bits is counting
            // names.
            SkillMatch {
                needed,
                held: (wanted & self.agents[index]).count_ones(),
                governance: wanted & self.governance != 0,
            }
        } else {
            SkillMatch::between(skills, &agent.skills)
        };
        (found.held > 0).then_some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::Role;
    use crate::domain::ledger::AccountId;
    use proptest::prelude::*;

    const NAMES: [&str; 6] = [
        "energy",
        "finance",
        "audit",
        GOVERNANCE,
        "unheld",
        "synthesis",
    ];

    fn names(picks: &[usize]) -> Vec<String> {
        picks.iter().map(|&i| NAMES[i].to_string()).collect()
    }

    proptest! {
        /// Matching by bits gives what matching by name gives, for any skills: repeated ones,
        /// ones no agent holds, governance held by nobody.
        #[test]
        fn matching_by_bits_is_matching_by_name(
            held in prop::collection::vec(prop::collection::vec(0..6usize, 0..4), 1..5),
            job in prop::collection::vec(0..6usize, 1..5),
        ) {
            let agents: Vec<AgentProfile> = held
                .iter()
                .enumerate()
                .map(|(i, picks)| AgentProfile {
                    id: AccountId(i as u32 + 1),
                    name: format!("a{i}"),
                    role: Role::Validator,
                    skills: names(picks).into_iter().filter(|s| s != "unheld").collect(),
                    behaviour: Role::Validator.behaviour(),
                    external: false,
                })
                .collect();
            let bits = SkillBits::new(&agents);
            let job = names(&job);
            let wanted = bits.of(&job);
            for (i, agent) in agents.iter().enumerate() {
                let by_name = SkillMatch::between(&job, &agent.skills);
                let expected = (by_name.held > 0).then_some(by_name);
                prop_assert_eq!(bits.matching(wanted, &job, i, agent), expected);
            }
        }
    }
}
