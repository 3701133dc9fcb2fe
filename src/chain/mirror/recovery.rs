//! Jobs the journal knows only part of: a `createJob` sent before a crash but not journaled as
//! done, and jobs another employer posted on chain that the engine adopts.

use super::chain_io::{ChainReads, ChainWrites, Landed, SignedCreate};
use super::worker::Worker;
use crate::chain::journal::{Entry, SharedJournal};
use crate::chain::send::{OnSigned, SignedTx};
use crate::domain::job::JobId;
use alloy::primitives::{Address, B256, U256};
use std::sync::{Arc, Mutex};

/// Test hook: `OMEGA_TEST_CRASH_AT=create-signed` aborts the process right after the first
/// `createJob` is journaled as signed and before the node gets it — the crash that journaling
/// the signature exists for, made exact for `tests/one_tx_per_intent.rs`.
const CRASH_AT: &str = "OMEGA_TEST_CRASH_AT";

/// What a `createJob` of engine job `job` does with each transaction signed for it: journals it
/// (fsynced before it is sent) and keeps it in `signed` for the mirror's record.
pub(super) fn journal_signed(
    journal: SharedJournal,
    job: JobId,
    signed: Arc<Mutex<Vec<SignedCreate>>>,
) -> OnSigned {
    let crash = std::env::var(CRASH_AT).is_ok_and(|at| at == "create-signed");
    Arc::new(move |tx: SignedTx<'_>| {
        let (nonce, hash, raw) = (tx.nonce, tx.hash, tx.raw.clone());
        journal.record(&Entry::CreateSigned {
            job: job.0,
            nonce,
            hash,
            raw: raw.clone(),
        })?;
        if crash {
            eprintln!("{CRASH_AT}: aborting after journaling createJob {hash} of job {job}");
            std::process::abort();
        }
        let mut signed = signed.lock().expect("signed");
        signed.push(SignedCreate { nonce, hash, raw });
        Ok(())
    })
}

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
            // A `createJob` journaled as signed may never have reached the node (the crash came
            // right after the journal): those bytes go first, before any other of the poster's.
            let mut landed = None;
            if let Some(txs) = self.state.create_txs.get(&job)
                && let Landed::Created(id) = self.chain.create_landed(poster, txs).await?
            {
                landed = Some(id);
            }
            self.settle_pool(poster).await?;
            if landed.is_none() {
                landed = self.chain.find_created(spec_hash, poster).await?;
            }
            if let Some(onchain) = landed {
                self.journal.record(&Entry::Created {
                    job: job.0,
                    onchain,
                })?;
                self.state.recs.entry(job).or_default().onchain = Some(onchain);
                self.state.create_txs.remove(&job);
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
        let (_, spec_hash) = self.chain.job_record(onchain).await?;
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
