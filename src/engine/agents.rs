//! Agents as tasks on the A2A bus: each agent subscribes to its own tick topic, decides, and
//! replies on `orchestrator.reply.<id>`. The orchestrator gathers one reply per agent per cycle.

use super::bus::{Bus, Envelope};
use crate::domain::agent::{AgentProfile, AgentReply, AgentTick};
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
    tasks: Vec<JoinHandle<()>>,
}

impl AgentPool {
    pub fn spawn(bus: Bus<A2a>, profiles: &[AgentProfile]) -> AgentPool {
        let replies = bus.subscribe("orchestrator.reply.*", profiles.len().max(1) * 2);
        let mut topics = Vec::new();
        let mut tasks = Vec::new();
        for profile in profiles.iter().cloned() {
            let topic = format!("agent.{}.tick", profile.id.0);
            let mut inbox = bus.subscribe(&topic, 4);
            let bus = bus.clone();
            let reply_topic = format!("orchestrator.reply.{}", profile.id.0);
            tasks.push(tokio::spawn(async move {
                while let Some(envelope) = inbox.recv().await {
                    if let A2a::Tick(tick) = envelope.message.as_ref() {
                        bus.publish(&reply_topic, A2a::Reply(profile.decide(tick)))
                            .await;
                    }
                }
            }));
            topics.push(topic);
        }
        AgentPool {
            bus,
            replies,
            topics,
            tasks,
        }
    }

    /// Sends each agent its tick and waits for every reply of this cycle.
    pub async fn exchange(&mut self, ticks: Vec<AgentTick>) -> Vec<AgentReply> {
        let expected = ticks.len();
        let cycle = ticks.first().map(|t| t.cycle);
        for (topic, tick) in self.topics.iter().zip(ticks) {
            self.bus.publish(topic, A2a::Tick(tick)).await;
        }
        let mut replies = Vec::with_capacity(expected);
        while replies.len() < expected {
            let Some(envelope) = self.replies.recv().await else {
                break;
            };
            // The bus shares each message; the reply is copied only if someone else still
            // holds it (another subscription), which is rare.
            let message = Arc::try_unwrap(envelope.message).unwrap_or_else(|m| m.as_ref().clone());
            if let A2a::Reply(reply) = message
                && Some(reply.cycle) == cycle
            {
                replies.push(reply);
            }
        }
        replies
    }
}

impl Drop for AgentPool {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
