//! The chain as the mirror's actions see it: the few reads and sends they make, behind two small
//! traits. `HubChain` implements them over the transaction layer; the unit tests implement them
//! with a fake chain, so the actions' decisions run without anvil.

use crate::chain::bindings::{DisputeModule, JobRegistry, ValidationModule};
use crate::chain::manifest::Deployment;
use crate::chain::send::OnSigned;
use crate::chain::tx::{Gas, TxError, TxHub};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, Bytes, LogData, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent};
use std::collections::BTreeSet;
use std::future::Future;

/// The chain state the mirror reads.
pub(super) trait ChainReads: Send + Sync {
    /// The job's v2 state and its success flag.
    fn meta(&self, id: U256) -> impl Future<Output = eyre::Result<(u8, bool)>> + Send;
    /// The job's deadline (chain time, seconds).
    fn deadline(&self, id: U256) -> impl Future<Output = eyre::Result<u64>> + Send;
    /// The DisputeModule's record of job `id`: when it was raised (0: no open record), and the
    /// module's dispute window.
    fn dispute(
        &self,
        module: Address,
        id: U256,
    ) -> impl Future<Output = eyre::Result<(u64, u64)>> + Send;
    /// The job's committee (empty before selection).
    fn committee(&self, id: U256) -> impl Future<Output = eyre::Result<Vec<Address>>> + Send;
    /// The nonce every commit hash of the job binds.
    fn job_nonce(&self, id: U256) -> impl Future<Output = eyre::Result<U256>> + Send;
    /// The timestamp of a block (0 when there is no such block).
    fn block_time(&self, block: BlockNumberOrTag)
    -> impl Future<Output = eyre::Result<u64>> + Send;
    /// Whether the contracts are paused.
    fn paused(&self) -> impl Future<Output = eyre::Result<bool>> + Send;
    /// The job's v2 state and spec hash (state 0: no such job, e.g. its `createJob` was reorged).
    fn job_record(&self, id: U256) -> impl Future<Output = eyre::Result<(u8, B256)>> + Send;
    /// The validators whose commit, and whose reveal, of the job are on chain (from the v2
    /// `ValidationCommitted` / `ValidationRevealed` events).
    fn votes(&self, id: U256) -> impl Future<Output = eyre::Result<Votes>> + Send;
    /// The latest block number.
    fn head(&self) -> impl Future<Output = eyre::Result<u64>> + Send;
    /// The latest block's number and timestamp, read together.
    fn latest(&self) -> impl Future<Output = eyre::Result<(u64, u64)>> + Send;
    /// The on-chain id of the job `poster` created with `spec_hash`, if it did (an error, never
    /// "not found", when the logs cannot be read).
    fn find_created(
        &self,
        spec_hash: B256,
        poster: Address,
    ) -> impl Future<Output = eyre::Result<Option<U256>>> + Send;
}

/// A job's commits and reveals on chain, by validator.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Votes {
    pub committed: BTreeSet<Address>,
    pub revealed: BTreeSet<Address>,
}

/// A `createJob` transaction journaled before it was sent.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct SignedCreate {
    pub nonce: u64,
    pub hash: B256,
    pub raw: Bytes,
}

/// Where the `createJob` transactions signed for a job stand.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Landed {
    /// One of them was mined and created this job.
    Created(U256),
    /// None can land any more: each one's nonce went to a transaction that created nothing.
    Gone,
    /// This one may still be mined (it was sent again, as signed).
    Pending(B256),
}

/// A mined transaction, as the mirror uses it: its block and its logs.
pub(super) struct Sent {
    pub block: u64,
    pub logs: Vec<LogData>,
}

/// What the mirror sends.
pub(super) trait ChainWrites: ChainReads {
    fn chain_id(&self) -> u64;
    /// An `eth_call` of a transaction, for its revert reason.
    fn dry_run(
        &self,
        label: &'static str,
        from: Address,
        to: Address,
        input: Bytes,
    ) -> impl Future<Output = Result<(), TxError>> + Send;
    /// Sends from `from` and waits for the receipt; a revert is an error naming its reason.
    fn send(
        &self,
        label: &'static str,
        from: Address,
        to: Address,
        input: Bytes,
        gas: Gas,
    ) -> impl Future<Output = Result<Sent, TxError>> + Send;
    /// `send`, with each signed transaction shown to `on_signed` before the node gets it.
    fn send_recorded(
        &self,
        label: &'static str,
        from: Address,
        to: Address,
        input: Bytes,
        gas: Gas,
        on_signed: Option<OnSigned>,
    ) -> impl Future<Output = Result<Sent, TxError>> + Send;
    /// Where the `createJob` transactions `txs` of `poster`, signed before, stand; one that may
    /// still land is sent again (the same bytes: never a second job).
    fn create_landed(
        &self,
        poster: Address,
        txs: &[SignedCreate],
    ) -> impl Future<Output = eyre::Result<Landed>> + Send;
    /// Devnet only: mines `n` blocks.
    fn mine(&self, n: u64) -> impl Future<Output = eyre::Result<()>> + Send;
}

/// The real chain: calls and transactions through the hub, reads from `owner`.
#[derive(Clone)]
pub(super) struct HubChain {
    pub hub: TxHub,
    pub d: Deployment,
    pub owner: Address,
}

impl HubChain {
    async fn read(&self, label: &str, to: Address, input: Vec<u8>) -> Result<Bytes, TxError> {
        self.hub.call(label, self.owner, to, input.into()).await
    }

    /// A typed view call: `call` to `to`, its return value decoded.
    pub(super) async fn read_typed<C: SolCall>(
        &self,
        label: &str,
        to: Address,
        call: C,
    ) -> eyre::Result<C::Return> {
        let out = self.read(label, to, call.abi_encode()).await?;
        Ok(C::abi_decode_returns(&out)?)
    }

    /// Every log matching `filter` from the deploy block to the head, read in ranges (providers
    /// refuse a range that is too long or holds too many logs), halving a range the provider
    /// refuses; an error is returned, never a partial answer.
    async fn logs_since_deploy(&self, filter: Filter) -> eyre::Result<Vec<alloy::rpc::types::Log>> {
        let latest = self.hub.provider().get_block_number().await?;
        let (mut from, mut chunk) = (self.d.deploy_block, LOG_RANGE);
        let mut out = Vec::new();
        while from <= latest {
            let to = (from + chunk - 1).min(latest);
            let range = filter.clone().from_block(from).to_block(to);
            match self.hub.provider().get_logs(&range).await {
                Ok(logs) => out.extend(logs),
                Err(_) if chunk > 1 => {
                    chunk = (chunk / 2).max(1);
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            from = to + 1;
        }
        Ok(out)
    }
}

/// Blocks per `eth_getLogs` range when looking for a job created before a restart (the
/// indexer's default chunk).
const LOG_RANGE: u64 = 2_000;

impl ChainReads for HubChain {
    /// The packed metadata is decoded here, per the v2 layout (bits 0–2 state, bit 3 success),
    /// rather than with a `decodeJobMetadata` call: one request less per state read.
    async fn meta(&self, id: U256) -> eyre::Result<(u8, bool)> {
        let call = JobRegistry::jobsCall { jobId: id }.abi_encode();
        let out = self.read("jobs", self.d.job_registry, call).await?;
        let packed = JobRegistry::jobsCall::abi_decode_returns(&out)?.packedMetadata;
        let low = packed.as_limbs()[0];
        Ok(((low & 0b111) as u8, low & 0b1000 != 0))
    }

    async fn dispute(&self, module: Address, id: U256) -> eyre::Result<(u64, u64)> {
        let record = self
            .read_typed("disputes", module, DisputeModule::disputesCall(id))
            .await?;
        let window = self
            .read_typed("disputeWindow", module, DisputeModule::disputeWindowCall {})
            .await?;
        Ok((
            record.raisedAt,
            u64::try_from(window).unwrap_or(u64::MAX / 4),
        ))
    }

    /// Bits 77–140 of the packed metadata (the v2 layout).
    async fn deadline(&self, id: U256) -> eyre::Result<u64> {
        let call = JobRegistry::jobsCall { jobId: id }.abi_encode();
        let out = self.read("jobs", self.d.job_registry, call).await?;
        let packed = JobRegistry::jobsCall::abi_decode_returns(&out)?.packedMetadata;
        Ok(u64::try_from((packed >> 77) & U256::from(u64::MAX)).expect("masked to 64 bits"))
    }

    async fn committee(&self, id: U256) -> eyre::Result<Vec<Address>> {
        let call = ValidationModule::validatorsCall { jobId: id };
        self.read_typed("validators", self.d.validation_module, call)
            .await
    }

    async fn job_nonce(&self, id: U256) -> eyre::Result<U256> {
        let call = ValidationModule::jobNonceCall { jobId: id };
        self.read_typed("jobNonce", self.d.validation_module, call)
            .await
    }

    async fn block_time(&self, block: BlockNumberOrTag) -> eyre::Result<u64> {
        let block = self.hub.provider().get_block_by_number(block).await?;
        Ok(block.map(|b| b.header.timestamp).unwrap_or(0))
    }

    async fn paused(&self) -> eyre::Result<bool> {
        let call = JobRegistry::pausedCall {};
        self.read_typed("JobRegistry.paused", self.d.job_registry, call)
            .await
    }

    async fn job_record(&self, id: U256) -> eyre::Result<(u8, B256)> {
        let call = JobRegistry::jobsCall { jobId: id };
        let job = self.read_typed("jobs", self.d.job_registry, call).await?;
        Ok((
            (job.packedMetadata.as_limbs()[0] & 0b111) as u8,
            job.specHash,
        ))
    }

    async fn votes(&self, id: U256) -> eyre::Result<Votes> {
        let filter = Filter::new()
            .address(self.d.validation_module)
            .event_signature(vec![
                ValidationModule::ValidationCommitted::SIGNATURE_HASH,
                ValidationModule::ValidationRevealed::SIGNATURE_HASH,
            ])
            .topic1(B256::from(id));
        let mut votes = Votes::default();
        for log in self.logs_since_deploy(filter).await? {
            if let Ok(ev) = ValidationModule::ValidationCommitted::decode_log_data(log.data()) {
                votes.committed.insert(ev.validator);
            } else if let Ok(ev) = ValidationModule::ValidationRevealed::decode_log_data(log.data())
            {
                votes.revealed.insert(ev.validator);
            }
        }
        Ok(votes)
    }

    async fn head(&self) -> eyre::Result<u64> {
        Ok(self.hub.provider().get_block_number().await?)
    }

    async fn latest(&self) -> eyre::Result<(u64, u64)> {
        let latest = BlockNumberOrTag::Latest;
        let block = self.hub.provider().get_block_by_number(latest).await?;
        let block = block.ok_or_else(|| eyre::eyre!("the node has no latest block"))?;
        Ok((block.header.number, block.header.timestamp))
    }

    /// The on-chain id of the job `poster` created with `spec_hash`, if it did: its `JobCreated`
    /// logs (read in ranges from the deploy block on, see `logs_since_deploy`), each checked
    /// against the job's record, the authority: a node may serve a log whose block's state it
    /// lost (anvil after a reorg raced with mining; RPCs behind a load balancer), and an id
    /// taken that way is another job's. An error is returned, never "not found".
    async fn find_created(&self, spec_hash: B256, poster: Address) -> eyre::Result<Option<U256>> {
        let filter = Filter::new()
            .address(self.d.job_registry)
            .event_signature(JobRegistry::JobCreated::SIGNATURE_HASH)
            .topic2(poster.into_word());
        for log in self.logs_since_deploy(filter).await? {
            let Ok(ev) = JobRegistry::JobCreated::decode_log_data(log.data()) else {
                continue;
            };
            if ev.specHash == spec_hash && self.job_record(ev.jobId).await?.1 == spec_hash {
                return Ok(Some(ev.jobId));
            }
        }
        Ok(None)
    }
}

impl ChainWrites for HubChain {
    fn chain_id(&self) -> u64 {
        self.hub.chain_id()
    }

    async fn dry_run(
        &self,
        label: &'static str,
        from: Address,
        to: Address,
        input: Bytes,
    ) -> Result<(), TxError> {
        self.hub.call(label, from, to, input).await.map(|_| ())
    }

    async fn send(
        &self,
        label: &'static str,
        from: Address,
        to: Address,
        input: Bytes,
        gas: Gas,
    ) -> Result<Sent, TxError> {
        self.send_recorded(label, from, to, input, gas, None).await
    }

    async fn send_recorded(
        &self,
        label: &'static str,
        from: Address,
        to: Address,
        input: Bytes,
        gas: Gas,
        on_signed: Option<OnSigned>,
    ) -> Result<Sent, TxError> {
        let receipt = self
            .hub
            .send_recorded(label, from, Some(to), input, gas, on_signed.as_ref())
            .await?;
        Ok(Sent {
            block: receipt.block_number.unwrap_or_default(),
            logs: receipt
                .inner
                .logs()
                .iter()
                .map(|l| l.data().clone())
                .collect(),
        })
    }

    async fn create_landed(&self, poster: Address, txs: &[SignedCreate]) -> eyre::Result<Landed> {
        let provider = self.hub.provider();
        // The nonce first: a transaction mined after this read still shows its receipt below.
        let next_nonce = provider.get_transaction_count(poster).await?;
        for t in txs {
            let Some(receipt) = provider.get_transaction_receipt(t.hash).await? else {
                continue;
            };
            let created = receipt.inner.logs().iter().find_map(|l| {
                JobRegistry::JobCreated::decode_log_data(l.data())
                    .ok()
                    .map(|e| e.jobId)
            });
            if let (true, Some(id)) = (receipt.status(), created) {
                return Ok(Landed::Created(id));
            }
        }
        let Some(open) = txs.iter().rev().find(|t| t.nonce >= next_nonce) else {
            return Ok(Landed::Gone);
        };
        // The node may hold it, or have lost it (a crash before it was sent, a node restarted).
        if let Err(e) = provider.send_raw_transaction(&open.raw).await {
            tracing::debug!("createJob {} sent again: {e}", open.hash);
        }
        self.hub.poke_miner();
        Ok(Landed::Pending(open.hash))
    }

    async fn mine(&self, n: u64) -> eyre::Result<()> {
        self.hub.mine(n).await
    }
}
