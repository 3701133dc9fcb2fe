//! The transaction layer: one nonce owner per signer (no cached nonce filler), explicit gas and
//! fees, reads retried with backoff on transport errors, and reverts decoded to their
//! custom-error names. Sending a transaction (one per intent, replaced when priced out) is in
//! `send.rs`.

use super::bindings::{
    AGIALPHA, CheckpointRegistry, DisputeModule, IdentityRegistry, JobRegistry, StakeManager,
    SystemPause, ValidationModule,
};
use super::fees::{FeePolicy, Fees};
use super::miner::Miner;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolInterface;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
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
    /// The caller could not journal the signed transaction, so it was not sent.
    #[error("{label}: the signed transaction could not be recorded, so it was not sent: {message}")]
    Unrecorded { label: String, message: String },
    /// Mined and reverted, but the same call succeeds now: another transaction of the same block
    /// got there first (or undid that one's effect). Worth another try.
    #[error("{label} reverted in block {block} ({hash}), but succeeds now: try again")]
    Raced {
        label: String,
        hash: B256,
        block: u64,
    },
    /// A reorg came while it waited in the pool, and its nonce went to an empty transfer: it is
    /// never mined, and its step is decided again against the chain the reorg left.
    #[error("{label}: {hash} (nonce {nonce}) was voided after a reorg; decide the step again")]
    Voided {
        label: String,
        hash: B256,
        nonce: u64,
    },
}

/// An RPC connection without fillers: we set nonce, gas and fees ourselves. A node that says
/// "too many requests" (429) or "unavailable" (503) refused the request without acting on it,
/// so every request (a send included: its bytes are the same) is retried with backoff.
pub fn connect(url: &str) -> eyre::Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client(url)?)
        .erased())
}

/// Retries per request of a refusal (429/503), the first wait (ms; it grows), and the compute
/// units per second alloy's backoff assumes of the provider.
const REFUSAL_RETRIES: u32 = 10;
const REFUSAL_BACKOFF_MS: u64 = 200;
const COMPUTE_UNITS_PER_S: u64 = 10_000;

/// An HTTP JSON-RPC client that retries refused requests (shared with the indexer's source).
pub fn client(url: &str) -> eyre::Result<alloy::rpc::client::RpcClient> {
    let url: url::Url = url
        .parse()
        .map_err(|e| eyre::eyre!("invalid RPC URL {:?}: {e}", super::redact::redact_url(url)))?;
    let retry = alloy::transports::layers::RetryBackoffLayer::new(
        REFUSAL_RETRIES,
        REFUSAL_BACKOFF_MS,
        COMPUTE_UNITS_PER_S,
    );
    Ok(alloy::rpc::client::ClientBuilder::default()
        .layer(retry)
        .http(url))
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
    pub(super) wallet: EthereumWallet,
    pub(super) nonce: Option<u64>,
    /// This run's transactions by nonce, until buried deep enough: after a reorg the signer's
    /// nonces are made gap-free again from here (see `restore.rs`).
    pub(super) recent: std::collections::BTreeMap<u64, super::restore::Recent>,
    /// Nonces whose waiting transaction a restore after a reorg replaced with an empty transfer
    /// (`restore.rs`): their waiters give up with `TxError::Voided`.
    pub(super) voided: std::collections::BTreeSet<u64>,
}

/// All signers, each behind its own lock: one ordered queue per signer, many signers at once.
#[derive(Clone)]
pub struct TxHub {
    pub(super) provider: DynProvider,
    chain_id: u64,
    pub(super) signers: Arc<HashMap<Address, Mutex<Signer>>>,
    pub(super) receipt_timeout: Duration,
    pub sent: Arc<std::sync::atomic::AtomicU64>,
    pub stats: Arc<TxStats>,
    /// The last fees read and when: refreshed every `PRICE_TTL`, not per transaction.
    pub(super) price: Arc<std::sync::Mutex<Option<(std::time::Instant, Fees)>>>,
    /// When a transaction counts as stuck, and how high its replacement may go.
    pub(super) policy: FeePolicy,
    /// How often a receipt is looked for without a block builder: a quarter of a block.
    pub(super) poll: Duration,
    /// Devnet: the block builder that mines what we send (else the chain mines on its own).
    pub(super) miner: Option<Arc<Miner>>,
    /// The blocks (and hashes) our receipts came from since `take_mined` was last called: if the
    /// chain no longer has one of them, a reorg took some of our transactions.
    pub(super) mined: Arc<std::sync::Mutex<Vec<(u64, B256)>>>,
    /// The node is anvil, which does not put the transactions of reorged blocks back into its
    /// pool (a real node does): the hub does it (see `restore.rs`).
    pub(super) anvil: bool,
    /// Counts the transactions handed to the node, in order: what a reorg took is sent again in
    /// the order it was first sent.
    pub(super) order: Arc<AtomicU64>,
    /// Counts the restores (`restore.rs`) begun: a receipt read before one began may come from a
    /// block the reorg behind it took, while the restore sent that transaction again (it had no
    /// receipt yet); such a receipt is read again, not used.
    pub(super) restores: Arc<AtomicU64>,
}

/// A live handle on a hub's counters, for `/chain` and `/metrics` of the run that owns it.
#[derive(Clone, Debug)]
pub struct TxFigures {
    pub sent: Arc<AtomicU64>,
    pub stats: Arc<TxStats>,
}

/// What happened to the transactions sent, for `/chain` and `/metrics`.
#[derive(Debug, Default)]
pub struct TxStats {
    /// Transactions replaced at the same nonce with higher fees.
    pub replaced: AtomicU64,
    /// Times a priced-out transaction could not be replaced: its next fees were over the cap.
    pub fee_capped: AtomicU64,
    /// Transactions mined with status 0 (each cost its sender gas).
    pub mined_reverts: AtomicU64,
}

/// Devnet calls get this much gas instead of an estimate (3× our costliest call): one request
/// less per transaction, and a mined revert is still named by replaying it.
pub(super) const DEVNET_CALL_GAS: u64 = 600_000;

pub(super) const PRICE_TTL: Duration = Duration::from_secs(2);

/// How long a receipt may be missing before we check that the node still has the transaction.
pub(super) const LOOK_FOR_DROPPED: Duration = Duration::from_secs(5);

pub(super) const ATTEMPTS: u32 = 5;

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
                        recent: Default::default(),
                        voided: Default::default(),
                    }),
                )
            })
            .collect();
        let (policy, poll) = FeePolicy::for_block_time(block_time(&provider).await);
        let anvil = retry("web3_clientVersion", || provider.get_client_version())
            .await
            .is_ok_and(|v| v.to_ascii_lowercase().starts_with("anvil"));
        Ok(TxHub {
            provider,
            chain_id,
            signers: Arc::new(signers),
            // Room for a few replacements of a priced-out transaction.
            receipt_timeout: (policy.stuck_after * 4).max(Duration::from_secs(60)),
            price: Default::default(),
            sent: Default::default(),
            stats: Default::default(),
            policy,
            poll,
            miner: None,
            mined: Default::default(),
            anvil,
            order: Default::default(),
            restores: Default::default(),
        })
    }

    /// The blocks our receipts came from since the last call (each block once, in order).
    pub fn take_mined(&self) -> Vec<(u64, B256)> {
        std::mem::take(&mut *self.mined.lock().expect("mined"))
    }

    /// Notes the block of a receipt.
    pub(super) fn note_mined(&self, block: Option<u64>, hash: Option<B256>) {
        let (Some(block), Some(hash)) = (block, hash) else {
            return;
        };
        let mut mined = self.mined.lock().expect("mined");
        if !mined.contains(&(block, hash)) {
            if mined.len() >= 1_024 {
                mined.remove(0); // nobody takes them (no mirror): keep the latest only
            }
            mined.push((block, hash));
        }
    }

    /// Replacements of priced-out transactions go no higher than `max_fee` per gas.
    pub fn with_max_fee(mut self, max_fee: u128) -> TxHub {
        self.policy.max_fee = max_fee;
        self
    }

    /// A transaction still unmined `after` its sending is replaced with higher fees (tests, and
    /// chains whose blocks are irregular).
    pub fn with_stuck_after(mut self, after: Duration) -> TxHub {
        self.policy.stuck_after = after;
        self.receipt_timeout = self.receipt_timeout.max(after * 4);
        self
    }

    pub fn figures(&self) -> TxFigures {
        TxFigures {
            sent: self.sent.clone(),
            stats: self.stats.clone(),
        }
    }

    pub fn policy(&self) -> FeePolicy {
        self.policy
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

    /// Devnet: asks the block builder for a block (a transaction was sent past `send`).
    pub fn poke_miner(&self) {
        if let Some(m) = &self.miner {
            m.poke();
        }
    }

    /// Devnet only: mines `n` blocks (through the block builder when there is one).
    pub async fn mine(&self, n: u64) -> eyre::Result<()> {
        match &self.miner {
            Some(m) => m.mine(n).await,
            None => super::miner::mine_blocks(&self.provider, n).await,
        }
    }
}

/// The mean time between the latest 20 blocks (1 s when the chain is too young to tell).
async fn block_time(provider: &DynProvider) -> Duration {
    let stamp = |n: u64| async move {
        provider
            .get_block_by_number(n.into())
            .await
            .ok()
            .flatten()
            .map(|b| b.header.timestamp)
    };
    let Ok(latest) = provider.get_block_number().await else {
        return Duration::from_secs(1);
    };
    let back = latest.min(20);
    match (stamp(latest).await, stamp(latest - back).await) {
        (Some(t1), Some(t0)) if back > 0 && t1 > t0 => {
            Duration::from_millis((t1 - t0) * 1000 / back)
        }
        _ => Duration::from_secs(1),
    }
}

pub(super) async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await;
}

pub(super) fn rpc(label: &str, e: impl std::fmt::Display) -> TxError {
    TxError::Rpc {
        label: label.into(),
        attempts: 1,
        message: e.to_string(),
    }
}

/// Retries transport failures with backoff; an answer from the node (even an error) is final.
pub(super) async fn retry<T, F, Fut>(
    label: &str,
    mut f: F,
) -> Result<T, alloy::transports::TransportError>
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

pub(super) async fn retry_or_revert<T, F, Fut>(label: &str, f: F) -> Result<T, TxError>
where
    F: FnMut() -> Fut,
    Fut: std::future::IntoFuture<Output = Result<T, alloy::transports::TransportError>>,
{
    retry(label, f).await.map_err(|e| revert_or_rpc(label, e))
}

pub(super) fn revert_or_rpc(label: &str, e: alloy::transports::TransportError) -> TxError {
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

/// The custom error (name and arguments) behind revert data, from any of our modules' ABIs, else
/// from the reference v2 contracts' error set; an unknown selector is shown with its bytes.
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
        DisputeModule::DisputeModuleErrors,
        AGIALPHA::AGIALPHAErrors
    );
    // `require(cond, "reason")` (the reference's DisputeModule says "disputed", "window", …).
    if let Ok(r) = <alloy::sol_types::Revert as alloy::sol_types::SolError>::abi_decode(data) {
        return format!("Error({:?})", r.reason);
    }
    if let Some(v2) = super::errors::describe_v2(data) {
        return v2;
    }
    if data.len() >= 4 {
        format!("unknown error 0x{}", alloy::hex::encode(data))
    } else {
        "reverted without reason".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError;

    #[test]
    fn reverts_are_named_ours_string_reasons_and_unknown_selectors_alike() {
        let ours = JobRegistry::OnlyDisputeModule {}.abi_encode();
        assert_eq!(decode_revert(&ours), "OnlyDisputeModule(OnlyDisputeModule)");
        let unauthorized = DisputeModule::UnauthorizedResolver {
            caller: Address::repeat_byte(7),
        };
        assert!(decode_revert(&unauthorized.abi_encode()).contains("UnauthorizedResolver"));
        let window = alloy::sol_types::Revert::from("window").abi_encode();
        assert_eq!(decode_revert(&window), "Error(\"window\")");
        assert_eq!(
            decode_revert(&[0xde, 0xad, 0xbe, 0xef, 1]),
            "unknown error 0xdeadbeef01"
        );
        assert_eq!(decode_revert(&[]), "reverted without reason");
    }
}
