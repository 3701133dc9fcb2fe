//! The transaction layer: one nonce owner per signer (no cached nonce filler), explicit gas and
//! fees, receipts polled with a hard timeout, retries with backoff on transport errors, a nonce
//! resync on nonce errors, and reverts decoded to their custom-error names.

use super::bindings::{
    AGIALPHA, CheckpointRegistry, IdentityRegistry, JobRegistry, StakeManager, SystemPause,
    ValidationModule,
};
use super::miner::Miner;
use alloy::eips::Encodable2718;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolInterface;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum TxError {
    #[error("{label} reverted: {reason}")]
    Reverted { label: String, reason: String },
    #[error("{label}: no receipt for {hash} within {secs} s")]
    Timeout {
        label: String,
        hash: B256,
        secs: u64,
    },
    #[error("{label}: RPC failed after {attempts} attempts: {message}")]
    Rpc {
        label: String,
        attempts: u32,
        message: String,
    },
    #[error("no signer for {0}")]
    UnknownSigner(Address),
    /// Mined and reverted, but the same call succeeds now: another transaction of the same block
    /// got there first (or undid that one's effect). Worth another try.
    #[error("{label} reverted in block {block} ({hash}), but succeeds now: try again")]
    Raced {
        label: String,
        hash: B256,
        block: u64,
    },
}

/// An RPC connection without fillers: we set nonce, gas and fees ourselves.
pub fn connect(url: &str) -> eyre::Result<DynProvider> {
    let url = url
        .parse()
        .map_err(|e| eyre::eyre!("invalid RPC URL {url:?}: {e}"))?;
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url)
        .erased())
}

/// How much gas a call gets.
#[derive(Clone, Copy, Debug)]
pub enum Gas {
    /// `eth_estimateGas` plus 25% (also surfaces reverts before anything is sent).
    Estimate,
    /// A fixed limit, for calls whose estimate is unreliable.
    Fixed(u64),
}

pub struct Signer {
    wallet: EthereumWallet,
    nonce: Option<u64>,
}

/// All signers, each behind its own lock: one ordered queue per signer, many signers at once.
#[derive(Clone)]
pub struct TxHub {
    provider: DynProvider,
    chain_id: u64,
    signers: Arc<HashMap<Address, Mutex<Signer>>>,
    receipt_timeout: Duration,
    pub sent: Arc<std::sync::atomic::AtomicU64>,
    /// The last gas price read and when: refreshed every `PRICE_TTL`, not per transaction.
    price: Arc<std::sync::Mutex<Option<(std::time::Instant, u128)>>>,
    /// Devnet: the block builder that mines what we send (else the chain mines on its own).
    miner: Option<Arc<Miner>>,
}

/// Devnet calls get this much gas instead of an estimate (3× our costliest call): one request
/// less per transaction, and a mined revert is still named by replaying it.
const DEVNET_CALL_GAS: u64 = 600_000;

const PRICE_TTL: Duration = Duration::from_secs(2);

/// How long a receipt may be missing before we check that the node still has the transaction.
const LOOK_FOR_DROPPED: Duration = Duration::from_secs(5);

const ATTEMPTS: u32 = 5;

impl TxHub {
    pub async fn new(
        provider: DynProvider,
        keys: impl IntoIterator<Item = PrivateKeySigner>,
    ) -> eyre::Result<TxHub> {
        let chain_id = retry("eth_chainId", || provider.get_chain_id()).await?;
        let signers = keys
            .into_iter()
            .map(|key| {
                (
                    key.address(),
                    Mutex::new(Signer {
                        wallet: EthereumWallet::from(key),
                        nonce: None,
                    }),
                )
            })
            .collect();
        Ok(TxHub {
            provider,
            chain_id,
            signers: Arc::new(signers),
            receipt_timeout: Duration::from_secs(60),
            price: Default::default(),
            sent: Default::default(),
            miner: None,
        })
    }

    /// Devnet: transactions are mined by `miner` (block building), and contract calls get a
    /// fixed gas limit instead of an estimate.
    pub fn with_miner(mut self, miner: Arc<Miner>) -> TxHub {
        self.miner = Some(miner);
        self
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Sends `input` to `to` (or creates a contract when `to` is None) from `from`, and waits for
    /// its receipt. A reverted transaction is an error naming the custom error.
    pub async fn send(
        &self,
        label: &str,
        from: Address,
        to: Option<Address>,
        input: Bytes,
        gas: Gas,
    ) -> Result<TransactionReceipt, TxError> {
        let slot = self
            .signers
            .get(&from)
            .ok_or(TxError::UnknownSigner(from))?;
        let mut signer = slot.lock().await;
        let mut request = TransactionRequest::default()
            .with_from(from)
            .with_input(input)
            .with_chain_id(self.chain_id);
        request = match to {
            Some(to) => request.with_to(to),
            None => request.into_create(),
        };
        let limit = match gas {
            Gas::Fixed(g) => g,
            Gas::Estimate if self.miner.is_some() && to.is_some() => DEVNET_CALL_GAS,
            Gas::Estimate => {
                let estimate =
                    retry_or_revert(label, || self.provider.estimate_gas(request.clone())).await?;
                estimate + estimate / 4 + 10_000
            }
        };
        let price = self.gas_price(label).await?;
        request = request
            .with_gas_limit(limit)
            .with_max_fee_per_gas(price * 2 + 1)
            .with_max_priority_fee_per_gas(price.min(1_000_000_000));
        for attempt in 1..=ATTEMPTS {
            let nonce = match signer.nonce {
                Some(n) => n,
                None => retry(label, || {
                    self.provider.get_transaction_count(from).pending()
                })
                .await
                .map_err(|e| rpc(label, e))?,
            };
            let envelope = request
                .clone()
                .with_nonce(nonce)
                .build(&signer.wallet)
                .await
                .map_err(|e| rpc(label, e))?;
            let raw = Bytes::from(envelope.encoded_2718());
            let mined = self.miner.as_ref().map(|m| m.subscribe());
            match self.provider.send_tx_envelope(envelope).await {
                Ok(pending) => {
                    signer.nonce = Some(nonce + 1);
                    self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let hash = *pending.tx_hash();
                    drop(signer);
                    if let Some(m) = &self.miner {
                        m.poke();
                    }
                    let receipt = self.wait_receipt(label, hash, &raw, mined).await?;
                    if !receipt.status() {
                        return Err(self.why_reverted(label, &request, &receipt).await);
                    }
                    return Ok(receipt);
                }
                Err(e) if is_nonce_error(&e.to_string()) => signer.nonce = None, // resync and try again
                Err(e) if attempt < ATTEMPTS && e.as_error_resp().is_none() => {
                    backoff(attempt).await
                }
                Err(e) => return Err(revert_or_rpc(label, e)),
            }
        }
        Err(TxError::Rpc {
            label: label.into(),
            attempts: ATTEMPTS,
            message: "nonce kept changing".into(),
        })
    }

    async fn gas_price(&self, label: &str) -> Result<u128, TxError> {
        if let Some((at, price)) = *self.price.lock().expect("price lock")
            && at.elapsed() < PRICE_TTL
        {
            return Ok(price);
        }
        let price = retry(label, || self.provider.get_gas_price())
            .await
            .map_err(|e| rpc(label, e))?;
        *self.price.lock().expect("price lock") = Some((std::time::Instant::now(), price));
        Ok(price)
    }

    /// Polls for the receipt (whatever its status); with a block builder, looks only after each
    /// block it mines. A transaction the node no longer knows (dropped from its pool) is sent
    /// again, `raw` as signed: else every later transaction of its sender would wait forever.
    async fn wait_receipt(
        &self,
        label: &str,
        hash: B256,
        raw: &Bytes,
        mut mined: Option<tokio::sync::watch::Receiver<u64>>,
    ) -> Result<TransactionReceipt, TxError> {
        let start = std::time::Instant::now();
        let mut last_look = start;
        loop {
            if last_look.elapsed() >= LOOK_FOR_DROPPED {
                last_look = std::time::Instant::now();
                self.rebroadcast_if_dropped(label, hash, raw).await;
            }
            if let Some(rx) = mined.as_mut() {
                // A lost builder (closed channel) or a slow one: fall back to polling.
                let wait = tokio::time::timeout(Duration::from_secs(1), rx.changed()).await;
                if !matches!(wait, Ok(Ok(()))) {
                    mined = None;
                }
            }
            if let Ok(Some(receipt)) = self.provider.get_transaction_receipt(hash).await {
                return Ok(receipt);
            }
            if start.elapsed() > self.receipt_timeout {
                return Err(TxError::Timeout {
                    label: label.into(),
                    hash,
                    secs: self.receipt_timeout.as_secs(),
                });
            }
            if mined.is_none() {
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }
    }

    async fn rebroadcast_if_dropped(&self, label: &str, hash: B256, raw: &Bytes) {
        if !matches!(self.provider.get_transaction_by_hash(hash).await, Ok(None)) {
            return;
        }
        // Mined between the two calls, or dropped: only a missing receipt means dropped.
        if !matches!(self.provider.get_transaction_receipt(hash).await, Ok(None)) {
            return;
        }
        match self.provider.send_raw_transaction(raw).await {
            Ok(_) => {
                tracing::warn!(
                    "{label}: transaction {hash} was dropped by the node; sent it again"
                );
                if let Some(m) = &self.miner {
                    m.poke();
                }
            }
            Err(e) => tracing::debug!("{label}: resending dropped {hash}: {e}"),
        }
    }

    /// A mined transaction reverted (its estimate passed against an earlier state): replaying it
    /// as a call names the custom error, or shows that it would pass now.
    async fn why_reverted(
        &self,
        label: &str,
        request: &TransactionRequest,
        receipt: &TransactionReceipt,
    ) -> TxError {
        let (hash, block) = (
            receipt.transaction_hash,
            receipt.block_number.unwrap_or_default(),
        );
        let status = format!("status 0 in block {block} (tx {hash})");
        // The same call without fees or a gas cap, against the latest state.
        let mut replay = TransactionRequest::default()
            .with_input(request.input.input().cloned().unwrap_or_default());
        replay.from = request.from;
        replay.to = request.to;
        match retry(label, || self.provider.call(replay.clone())).await {
            Ok(_) => {
                let needed = retry(label, || self.provider.estimate_gas(replay.clone()))
                    .await
                    .unwrap_or_default();
                match request.gas {
                    Some(limit) if needed > limit => TxError::Reverted {
                        label: label.into(),
                        reason: format!("out of gas: needs {needed}, had {limit} ({status})"),
                    },
                    _ => TxError::Raced {
                        label: label.into(),
                        hash,
                        block,
                    },
                }
            }
            Err(e) => match revert_or_rpc(label, e) {
                TxError::Reverted { reason, .. } => TxError::Reverted {
                    label: label.into(),
                    reason: format!("{reason} ({status})"),
                },
                other => other,
            },
        }
    }

    /// An `eth_call` from `from`, for dry runs and reads; reverts are decoded.
    pub async fn call(
        &self,
        label: &str,
        from: Address,
        to: Address,
        input: Bytes,
    ) -> Result<Bytes, TxError> {
        let request = TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(input);
        retry_or_revert(label, || self.provider.call(request.clone())).await
    }

    /// Devnet only: moves the chain clock forward and mines a block.
    pub async fn warp(&self, seconds: u64) -> eyre::Result<()> {
        self.provider.anvil_increase_time(seconds).await?;
        self.mine(1).await
    }

    /// Devnet only: mines `n` blocks (through the block builder when there is one).
    pub async fn mine(&self, n: u64) -> eyre::Result<()> {
        match &self.miner {
            Some(m) => m.mine(n).await,
            None => super::miner::mine_blocks(&self.provider, n).await,
        }
    }
}

fn is_nonce_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("nonce too low")
        || m.contains("nonce too high")
        || m.contains("invalid nonce")
        || m.contains("already known")
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await;
}

fn rpc(label: &str, e: impl std::fmt::Display) -> TxError {
    TxError::Rpc {
        label: label.into(),
        attempts: 1,
        message: e.to_string(),
    }
}

/// Retries transport failures with backoff; an answer from the node (even an error) is final.
async fn retry<T, F, Fut>(label: &str, mut f: F) -> Result<T, alloy::transports::TransportError>
where
    F: FnMut() -> Fut,
    Fut: std::future::IntoFuture<Output = Result<T, alloy::transports::TransportError>>,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if attempt < ATTEMPTS && e.as_error_resp().is_none() => {
                tracing::debug!("{label}: transport error ({e}); retrying");
                backoff(attempt).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn retry_or_revert<T, F, Fut>(label: &str, f: F) -> Result<T, TxError>
where
    F: FnMut() -> Fut,
    Fut: std::future::IntoFuture<Output = Result<T, alloy::transports::TransportError>>,
{
    retry(label, f).await.map_err(|e| revert_or_rpc(label, e))
}

fn revert_or_rpc(label: &str, e: alloy::transports::TransportError) -> TxError {
    match e.as_error_resp() {
        Some(resp) => {
            let reason = resp
                .as_revert_data()
                .map(|d| decode_revert(&d))
                .unwrap_or_else(|| resp.message.to_string());
            TxError::Reverted {
                label: label.into(),
                reason,
            }
        }
        None => TxError::Rpc {
            label: label.into(),
            attempts: ATTEMPTS,
            message: e.to_string(),
        },
    }
}

/// The custom error (name and arguments) behind revert data, from any of our modules' ABIs.
pub fn decode_revert(data: &[u8]) -> String {
    macro_rules! try_decode {
        ($($errors:ty),*) => {$(
            if let Ok(e) = <$errors>::abi_decode(data) {
                return format!("{e:?}");
            }
        )*};
    }
    try_decode!(
        JobRegistry::JobRegistryErrors,
        StakeManager::StakeManagerErrors,
        ValidationModule::ValidationModuleErrors,
        IdentityRegistry::IdentityRegistryErrors,
        SystemPause::SystemPauseErrors,
        CheckpointRegistry::CheckpointRegistryErrors,
        AGIALPHA::AGIALPHAErrors
    );
    if data.len() >= 4 {
        format!("unknown error 0x{}", alloy::hex::encode(data))
    } else {
        "reverted without reason".into()
    }
}
