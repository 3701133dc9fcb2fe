//! Automatic attestation: every Nth periodic checkpoint, its sequence number, content hash and
//! the indexer's cursor go to `CheckpointRegistry` (through [`super::attest::attest`], which
//! journals the intent first and never sends a second, different hash for an index).

use super::attest::{Attested, attest};
use super::manifest::Deployment;
use super::tx::TxHub;
use crate::engine::seams::{BoxFuture, EventSink};
use alloy::primitives::{Address, B256};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use tokio::sync::mpsc;

pub struct AutoAttestor {
    every: u64,
    seen: u64,
    queue: Option<mpsc::UnboundedSender<(u64, B256)>>,
    attested: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

pub struct AttestorSettings {
    pub every: u32,
    pub attestor: Address,
    pub journal: PathBuf,
    pub checkpoint: PathBuf,
    /// The indexer's cursor block, kept current by the chain follower.
    pub cursor: Arc<AtomicU64>,
}

impl AutoAttestor {
    pub fn start(hub: TxHub, d: Deployment, s: AttestorSettings) -> AutoAttestor {
        let (queue, mut rx) = mpsc::unbounded_channel::<(u64, B256)>();
        let attested = Arc::new(AtomicU64::new(0));
        let count = attested.clone();
        let uri = format!("file://{}", s.checkpoint.display());
        let task = tokio::spawn(async move {
            while let Some((index, hash)) = rx.recv().await {
                let cursor = s.cursor.load(Relaxed);
                match attest(&hub, &d, s.attestor, index, hash, &uri, &s.journal, cursor).await {
                    Ok(Attested::Sent { tx, block }) => {
                        count.fetch_add(1, Relaxed);
                        tracing::info!(
                            "attested checkpoint #{index} ({hash}) in tx {tx}, block {block}"
                        );
                    }
                    Ok(Attested::AlreadyThere) => {}
                    Err(e) => tracing::warn!("attestation of checkpoint #{index} not sent: {e:#}"),
                }
            }
        });
        AutoAttestor {
            every: u64::from(s.every.max(1)),
            seen: 0,
            queue: Some(queue),
            attested,
            task,
        }
    }
}

impl EventSink for AutoAttestor {
    fn name(&self) -> &str {
        "attestor"
    }

    fn deliver(
        &mut self,
        _: u64,
        _: u64,
        _: &[crate::domain::events::DomainEvent],
    ) -> eyre::Result<()> {
        Ok(())
    }

    fn checkpointed(&mut self, seq: u64, hash: B256) {
        self.seen += 1;
        if let Some(q) = self
            .queue
            .as_ref()
            .filter(|_| self.seen.is_multiple_of(self.every))
        {
            let _ = q.send((seq, hash));
        }
    }

    /// Sends what is queued (the run's last periodic checkpoints), for at most `timeout`.
    fn drain(&mut self, timeout: std::time::Duration) -> BoxFuture<'_, eyre::Result<()>> {
        self.queue = None; // the task ends once the queue is empty
        Box::pin(async move {
            if tokio::time::timeout(timeout, &mut self.task).await.is_err() {
                tracing::warn!("attestations still pending after {} s", timeout.as_secs());
            }
            Ok(())
        })
    }

    fn summary(&self) -> Option<String> {
        Some(format!(
            "attestations: {} checkpoint(s) attested on chain",
            self.attested.load(Relaxed)
        ))
    }
}

impl Drop for AutoAttestor {
    fn drop(&mut self) {
        self.task.abort();
    }
}
