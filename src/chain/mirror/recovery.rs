//! Jobs the journal knows only part of: a `createJob` sent before a crash but not journaled as
//! done, and jobs another employer posted on chain that the engine adopts.

use super::chain_io::ChainReads;
use super::worker::Worker;
use crate::chain::journal::Entry;
use crate::domain::job::JobId;
use alloy::primitives::{Address, B256, U256};

impl Worker {
    /// At start: adopt jobs whose `createJob` was sent but not journaled as done.
    pub(super) async fn recover(&mut self) -> eyre::Result<()> {
        self.sched.paused = self.chain.paused().await.unwrap_or(false);
        let pending: Vec<(JobId, (B256, Address))> = self
            .state
            .pending_creates
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        for (job, (spec_hash, poster)) in pending {
            self.settle_pool(poster).await?;
            if let Some(onchain) = self.chain.find_created(spec_hash, poster).await? {
                self.journal.record(&Entry::Created {
                    job: job.0,
                    onchain,
                })?;
                self.state.recs.entry(job).or_default().onchain = Some(onchain);
                self.view.lock().expect("view").created.insert(job);
                tracing::info!(
                    "chain mirror: job {job} was created on chain as {onchain} before the restart"
                );
            }
            self.state.pending_creates.remove(&job);
        }
        Ok(())
    }

    /// Waits until none of `poster`'s transactions is left in the node's pool: a `createJob` sent
    /// just before a crash may still be pending, and searching the logs before it is mined would
    /// miss it and create the job a second time. On the devnet a block is mined for it.
    async fn settle_pool(&self, poster: Address) -> eyre::Result<()> {
        use alloy::providers::Provider;
        let provider = self.chain.hub.provider();
        for _ in 0..120 {
            let pending = provider.get_transaction_count(poster).pending().await?;
            let mined = provider.get_transaction_count(poster).await?;
            if pending <= mined {
                return Ok(());
            }
            if self.settings.devnet {
                self.chain.hub.mine(1).await?;
            } else {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
        eyre::bail!("{poster}'s transactions are still pending after two minutes")
    }

    /// An engine job that is already on chain (posted by another employer): journal the mapping;
    /// the next actions are the agent's.
    pub(super) async fn adopt(&mut self, job: JobId, reference: &str) -> eyre::Result<()> {
        let onchain: U256 = reference["chain:".len()..]
            .parse()
            .map_err(|e| eyre::eyre!("bad adopted job reference {reference}: {e}"))?;
        let sender = self.actors.owner;
        let spec_hash = self.chain.spec_hash(onchain).await?;
        self.journal.record(&Entry::Adopted {
            job: job.0,
            onchain,
            sender,
            spec_hash,
        })?;
        let r = self.state.recs.entry(job).or_default();
        r.onchain = Some(onchain);
        r.poster = sender;
        r.spec_hash = spec_hash;
        r.adopted = true;
        self.view.lock().expect("view").created.insert(job);
        Ok(())
    }
}
