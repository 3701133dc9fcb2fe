//! Agents as tasks on the A2A bus: each agent subscribes to its own tick topic, decides, and
//! replies on `orchestrator.reply.<id>`. The orchestrator gathers one reply per agent per cycle.

use super::bus::{Bus, Envelope};
use super::external::ExternalDriver;
use crate::domain::agent::{AgentProfile, AgentReply, AgentTick};
use crate::domain::ledger::AccountId;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub enum A2a {
    Tick(AgentTick),
    Reply(AgentReply),
}

pub struct AgentPool {
    bus: Bus<A2a>,
    replies: mpsc::Receiver<Envelope<A2a>>,
    topics: Vec<String>,
    /// The agent behind each topic, in the same order.
    agents: Vec<AccountId>,
    tasks: Vec<JoinHandle<()>>,
}

impl AgentPool {
    /// One task per agent: a simulated agent decides by its profile, an external one (given a
    /// driver in `externals`) through its driver.
    pub fn spawn(
        bus: Bus<A2a>,
        profiles: &[AgentProfile],
        externals: &[Arc<ExternalDriver>],
    ) -> AgentPool {
        let replies = bus.subscribe("orchestrator.reply.*", profiles.len().max(1) * 2);
        let mut topics = Vec::new();
        let agents = profiles.iter().map(|p| p.id).collect();
        let mut tasks = Vec::new();
        for profile in profiles.iter().cloned() {
            let topic = format!("agent.{}.tick", profile.id.0);
            let mut inbox = bus.subscribe(&topic, 4);
            let bus = bus.clone();
            let reply_topic = format!("orchestrator.reply.{}", profile.id.0);
            let driver = (externals.iter())
                .find(|d| d.profile().id == profile.id)
                .cloned();
            tasks.push(tokio::spawn(async move {
                while let Some(envelope) = inbox.recv().await {
                    if let A2a::Tick(tick) = envelope.message.as_ref() {
                        let reply = match &driver {
                            Some(driver) => driver.decide(tick),
                            None => profile.decide(tick),
                        };
                        // Let go of the tick before answering, so that the engine gets it back.
                        drop(envelope);
                        bus.publish(&reply_topic, A2a::Reply(reply)).await;
                    }
                }
            }));
            topics.push(topic);
        }
        AgentPool {
            bus,
            replies,
            topics,
            agents,
            tasks,
        }
    }

    /// Sends each agent its tick, then hands this cycle's replies to `apply` in agent order as
    /// they arrive: the engine applies the first agents' answers while the others still think,
    /// and the order (hence the outcome) does not depend on which agent answers first.
    /// Returns the ticks, for reuse (an empty one where another holder still has it).
    pub async fn exchange(
        &mut self,
        ticks: Vec<AgentTick>,
        apply: impl FnMut(AgentReply),
    ) -> Vec<AgentTick> {
        let cycle = ticks.first().map(|t| t.cycle);
        let sent = self.send(ticks).await;
        self.gather(sent.len(), cycle, apply).await;
        sent.into_iter()
            .map(|tick| match Arc::try_unwrap(tick) {
                Ok(A2a::Tick(tick)) => tick,
                _ => AgentTick::default(),
            })
            .collect()
    }

    /// Publishes each agent's tick on its topic; returns them, still shared.
    async fn send(&mut self, ticks: Vec<AgentTick>) -> Vec<Arc<A2a>> {
        // The engine keeps a reference to each tick, so that the agents do not free them: they
        // come back after the replies and are refilled next cycle.
        let mut sent = Vec::with_capacity(ticks.len());
        for (topic, tick) in self.topics.iter().zip(ticks) {
            let tick = Arc::new(A2a::Tick(tick));
            sent.push(tick.clone());
            self.bus.publish_shared(topic, tick).await;
        }
        sent
    }

    /// Hands the replies of `cycle` to `apply` in agent order, until `expected` have come.
    async fn gather(
        &mut self,
        expected: usize,
        cycle: Option<u64>,
        mut apply: impl FnMut(AgentReply),
    ) {
        let mut early: Vec<Option<AgentReply>> = (0..expected).map(|_| None).collect();
        let mut next = 0;
        while next < expected {
            let Some(envelope) = self.replies.recv().await else {
                break;
            };
            // The bus shares each message; the reply is copied only if someone else still
            // holds it (another subscription), which is rare.
            let message = Arc::try_unwrap(envelope.message).unwrap_or_else(|m| m.as_ref().clone());
            let A2a::Reply(reply) = message else { continue };
            let slot = self.agents.iter().position(|&a| a == reply.agent);
            match slot {
                Some(i) if Some(reply.cycle) == cycle && i >= next => early[i] = Some(reply),
                _ => continue, // stale, unknown or already applied
            }
            while let Some(reply) = early.get_mut(next).and_then(Option::take) {
                apply(reply);
                next += 1;
            }
        }
    }
}

impl Drop for AgentPool {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::{CommitRequest, Role};

    fn profiles(n: u32) -> Vec<AgentProfile> {
        (1..=n)
            .map(|id| AgentProfile {
                id: AccountId(id),
                name: format!("v-{id}"),
                role: Role::Validator,
                skills: vec!["validation".into()],
                behaviour: Role::Validator.behaviour(),
                external: false,
            })
            .collect()
    }

    /// Agents answer in whatever order the worker threads finish them; the engine must see the
    /// answers in agent order, each once, and only those of the cycle it asked about.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replies_reach_the_engine_in_agent_order_whatever_order_they_arrive_in() {
        let agents = profiles(24);
        let mut pool = AgentPool::spawn(Bus::new(), &agents, &[]);
        for cycle in 0..20u64 {
            let ticks = agents
                .iter()
                .map(|a| AgentTick {
                    cycle,
                    seed: cycle * 100 + u64::from(a.id.0),
                    // Uneven work, so that agents finish out of order.
                    commits: (0..(a.id.0 * 7 % 24) * 40)
                        .map(|j| CommitRequest {
                            job: crate::domain::job::JobId(j.into()),
                            nonce: 1,
                            work_ok: true,
                            brief: None,
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect();
            let mut seen = Vec::new();
            pool.exchange(ticks, |reply| {
                assert_eq!(reply.cycle, cycle);
                seen.push(reply.agent);
            })
            .await;
            let expected: Vec<AccountId> = agents.iter().map(|a| a.id).collect();
            assert_eq!(seen, expected, "cycle {cycle}");
        }
    }
}
