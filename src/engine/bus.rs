//! The A2A message bus: typed publish/subscribe with wildcard topics.
//!
//! Topics are dot-separated (`agent.3.tick`). A pattern segment `*` matches exactly one segment
//! and a final `#` matches any remaining segments (zero or more). Each matching subscription gets
//! each message once; a full subscription makes the publisher wait (back-pressure), nothing is
//! ever dropped. Closed subscriptions are pruned.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

#[derive(Debug)]
pub struct Envelope<M> {
    pub topic: Arc<str>,
    pub message: Arc<M>,
}

impl<M> Clone for Envelope<M> {
    fn clone(&self) -> Self {
        Envelope {
            topic: self.topic.clone(),
            message: self.message.clone(),
        }
    }
}

struct Subscription<M> {
    pattern: Vec<String>,
    tx: mpsc::Sender<Envelope<M>>,
}

/// The queues a topic goes to, shared so that a publish copies one pointer, not the list.
type Targets<M> = Arc<[mpsc::Sender<Envelope<M>>]>;

/// The subscriptions, and for each topic published so far the queues it goes to: the engine
/// publishes to the same topics every cycle, so patterns are matched once per topic, not once
/// per message. Any change to the subscriptions forgets the routes.
struct Routes<M> {
    subscriptions: Vec<Subscription<M>>,
    by_topic: HashMap<Arc<str>, Targets<M>>,
}

pub struct Bus<M> {
    routes: Arc<Mutex<Routes<M>>>,
}

impl<M> Clone for Bus<M> {
    fn clone(&self) -> Self {
        Bus {
            routes: self.routes.clone(),
        }
    }
}

impl<M> Default for Bus<M> {
    fn default() -> Self {
        Bus {
            routes: Arc::new(Mutex::new(Routes {
                subscriptions: Vec::new(),
                by_topic: HashMap::new(),
            })),
        }
    }
}

impl<M: Send + Sync + 'static> Bus<M> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes to `pattern` with a queue of `capacity` messages.
    pub fn subscribe(&self, pattern: &str, capacity: usize) -> mpsc::Receiver<Envelope<M>> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let pattern = pattern.split('.').map(str::to_string).collect();
        let mut routes = self.routes.lock().expect("bus lock");
        routes.subscriptions.push(Subscription { pattern, tx });
        routes.by_topic.clear();
        rx
    }

    /// Delivers `message` to every matching subscription, waiting for room in each queue.
    /// Returns how many subscriptions received it.
    pub async fn publish(&self, topic: &str, message: M) -> usize {
        self.publish_shared(topic, Arc::new(message)).await
    }

    /// `publish` for a message the publisher keeps a handle on (so that it, not the last
    /// subscriber, frees the message).
    pub async fn publish_shared(&self, topic: &str, message: Arc<M>) -> usize {
        let (topic, targets) = self.route(topic);
        let envelope = Envelope { topic, message };
        let mut delivered = 0;
        for tx in targets.iter() {
            if tx.send(envelope.clone()).await.is_ok() {
                delivered += 1;
            }
        }
        if delivered < targets.len() {
            self.prune();
        }
        delivered
    }

    /// The queues subscribed to `topic`. The lock is held only for a lookup: the engine and the
    /// agents publish through it dozens of times a cycle, from different threads.
    fn route(&self, topic: &str) -> (Arc<str>, Targets<M>) {
        let mut routes = self.routes.lock().expect("bus lock");
        if let Some((topic, targets)) = routes.by_topic.get_key_value(topic) {
            return (topic.clone(), targets.clone());
        }
        let targets: Targets<M> = routes
            .subscriptions
            .iter()
            .filter(|s| !s.tx.is_closed() && matches(&s.pattern, topic))
            .map(|s| s.tx.clone())
            .collect();
        let topic: Arc<str> = Arc::from(topic);
        routes.by_topic.insert(topic.clone(), targets.clone());
        (topic, targets)
    }

    /// Drops closed subscriptions (found when a send to one fails) and the routes through them.
    fn prune(&self) {
        let mut routes = self.routes.lock().expect("bus lock");
        routes.subscriptions.retain(|s| !s.tx.is_closed());
        routes.by_topic.clear();
    }
}

/// Whether a pattern (already split on dots) matches a topic.
pub fn matches(pattern: &[String], topic: &str) -> bool {
    let mut segments = topic.split('.');
    for (i, p) in pattern.iter().enumerate() {
        if p == "#" && i == pattern.len() - 1 {
            return true;
        }
        match segments.next() {
            Some(s) if p == "*" || p == s => {}
            _ => return false,
        }
    }
    segments.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pat(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn wildcards_match_per_segment() {
        assert!(matches(&pat("jobs.posted"), "jobs.posted"));
        assert!(!matches(&pat("jobs.posted"), "jobs.posted.energy"));
        assert!(matches(&pat("jobs.*"), "jobs.posted"));
        assert!(!matches(&pat("jobs.*"), "jobs.posted.energy"));
        assert!(matches(&pat("jobs.#"), "jobs.posted.energy"));
        assert!(matches(&pat("jobs.#"), "jobs"));
        assert!(matches(&pat("#"), "anything.at.all"));
        assert!(matches(&pat("*.tick"), "agent.tick"));
        assert!(!matches(&pat("agent.*.tick"), "agent.tick"));
    }

    #[tokio::test]
    async fn each_subscription_gets_each_message_once() {
        let bus: Bus<u32> = Bus::new();
        let mut exact = bus.subscribe("agent.1.tick", 8);
        let mut star = bus.subscribe("agent.*.tick", 8);
        let mut all = bus.subscribe("#", 8);
        let mut other = bus.subscribe("agent.2.tick", 8);
        assert_eq!(bus.publish("agent.1.tick", 7).await, 3);
        for rx in [&mut exact, &mut star, &mut all] {
            assert_eq!(*rx.recv().await.unwrap().message, 7);
            assert!(rx.try_recv().is_err(), "delivered once per subscription");
        }
        assert!(other.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_full_subscription_blocks_the_publisher_instead_of_dropping() {
        let bus: Bus<u32> = Bus::new();
        let mut rx = bus.subscribe("t", 1);
        bus.publish("t", 1).await;
        let publisher = {
            let bus = bus.clone();
            tokio::spawn(async move { bus.publish("t", 2).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!publisher.is_finished(), "publisher must wait for room");
        assert_eq!(*rx.recv().await.unwrap().message, 1);
        assert_eq!(publisher.await.unwrap(), 1);
        assert_eq!(*rx.recv().await.unwrap().message, 2);
    }

    #[tokio::test]
    async fn a_subscription_made_after_a_topic_was_routed_gets_its_next_messages() {
        let bus: Bus<u32> = Bus::new();
        let mut first = bus.subscribe("agent.*.tick", 8);
        assert_eq!(bus.publish("agent.1.tick", 1).await, 1);
        let mut later = bus.subscribe("agent.1.#", 8);
        assert_eq!(bus.publish("agent.1.tick", 2).await, 2);
        assert_eq!(*first.recv().await.unwrap().message, 1);
        assert_eq!(*first.recv().await.unwrap().message, 2);
        assert_eq!(*later.recv().await.unwrap().message, 2);
        assert!(
            later.try_recv().is_err(),
            "nothing from before it subscribed"
        );
        drop(first);
        assert_eq!(
            bus.publish("agent.1.tick", 3).await,
            1,
            "a closed one is dropped from the route"
        );
    }

    #[tokio::test]
    async fn closed_subscriptions_are_pruned() {
        let bus: Bus<u32> = Bus::new();
        let rx = bus.subscribe("t", 1);
        drop(rx);
        assert_eq!(bus.publish("t", 1).await, 0);
    }
}
