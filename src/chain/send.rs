//! Sending a transaction: one intent is one transaction, whatever the node or the network
//! answers. The signed bytes are kept, so every re-send is the same transaction (the same hash):
//! after `already known`, a lost answer or a transport error the layer looks for that hash
//! before anything else, and never signs a second transaction at a new nonce for the same call.
//! The only second signature is a replacement at the *same* nonce with higher fees, when the
//! market has priced the first one out; whichever of them is mined is the receipt.

use super::fees::{self, Fees};
use super::tx::{
    ATTEMPTS, DEVNET_CALL_GAS, Gas, LOOK_FOR_DROPPED, PRICE_TTL, Signer, TxError, TxHub, backoff,
    retry, retry_or_revert, revert_or_rpc, rpc,
};
use alloy::eips::Encodable2718;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, watch};

/// A transaction just signed for an intent, shown to the intent's `OnSigned` before the node gets
/// it.
pub struct SignedTx<'a> {
    pub hash: B256,
    pub nonce: u64,
    pub raw: &'a Bytes,
}

/// Called with every transaction signed for one intent (the first, one signed again after a
/// stale nonce, a replacement at the same nonce) before it is sent, so that a caller can journal
/// it: after a crash the very bytes can then be found on chain or sent again, never a second
/// transaction. When it fails, that transaction is not sent.
pub type OnSigned = std::sync::Arc<dyn Fn(SignedTx<'_>) -> eyre::Result<()> + Send + Sync>;

/// How often a transaction still unmined is said in the log.
const STILL_WAITING_SAID: Duration = Duration::from_secs(20);

/// A transaction handed to the node, and its replacements (same nonce).
struct Sent {
    nonce: u64,
    fees: Fees,
    /// Every transaction signed at this nonce (hash and bytes), the latest last: its bytes are
    /// sent again as they are if the node drops it.
    signed: Vec<(B256, Bytes)>,
    /// When the latest was sent (or last judged not stuck).
    at: Instant,
    mined: Option<watch::Receiver<u64>>,
    /// The sender's nonce on chain at the last look for a dropped transaction (see
    /// `heal_if_stuck`).
    chain_nonce: Option<u64>,
}

/// With a block builder, how often a waiter asks the node for its receipt itself.
const ASK_NODE_EVERY: Duration = Duration::from_secs(1);

/// What the node made of a signed transaction.
enum Broadcast {
    /// It has it (it said so, or it knows the hash).
    Accepted,
    /// Another transaction holds that nonce: our view of the signer's nonce was stale.
    NonceTaken,
    /// It refused it for another reason.
    Refused(alloy::transports::TransportError),
    /// No answer came through, and the node does not show the hash (yet).
    Unknown(alloy::transports::TransportError),
}

impl TxHub {
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
        self.send_recorded(label, from, to, input, gas, None).await
    }

    /// `send`, showing each signed transaction to `on_signed` before the node gets it.
    pub async fn send_recorded(
        &self,
        label: &str,
        from: Address,
        to: Option<Address>,
        input: Bytes,
        gas: Gas,
        on_signed: Option<&OnSigned>,
    ) -> Result<TransactionReceipt, TxError> {
        let slot = self
            .signers
            .get(&from)
            .ok_or(TxError::UnknownSigner(from))?;
        let mut signer = slot.lock().await;
        let request = self.request(label, from, to, input, gas).await?;
        let fees = self.fees(label).await?;
        let sent = self
            .submit(label, &mut signer, &request, fees, on_signed)
            .await?;
        drop(signer);
        self.sent.fetch_add(1, Relaxed);
        if let Some(m) = &self.miner {
            m.poke();
        }
        let receipt = self
            .wait_mined(label, slot, &request, sent, on_signed)
            .await?;
        self.note_mined(receipt.block_number, receipt.block_hash);
        if !receipt.status() {
            self.stats.mined_reverts.fetch_add(1, Relaxed);
            return Err(self.why_reverted(label, &request, &receipt).await);
        }
        Ok(receipt)
    }

    /// The call with its gas limit.
    async fn request(
        &self,
        label: &str,
        from: Address,
        to: Option<Address>,
        input: Bytes,
        gas: Gas,
    ) -> Result<TransactionRequest, TxError> {
        let mut request = TransactionRequest::default()
            .with_from(from)
            .with_input(input)
            .with_chain_id(self.chain_id());
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
        Ok(request.with_gas_limit(limit))
    }

    /// The market's fees, read at most every `PRICE_TTL`.
    pub(super) async fn fees(&self, label: &str) -> Result<Fees, TxError> {
        if let Some((at, fees)) = *self.price.lock().expect("price lock")
            && at.elapsed() < PRICE_TTL
        {
            return Ok(fees);
        }
        let fees = retry(label, || fees::market(&self.provider))
            .await
            .map_err(|e| rpc(label, e))?;
        *self.price.lock().expect("price lock") = Some((Instant::now(), fees));
        Ok(fees)
    }

    /// Signs at the signer's next nonce and hands the transaction to the node.
    async fn submit(
        &self,
        label: &str,
        signer: &mut Signer,
        request: &TransactionRequest,
        fees: Fees,
        on_signed: Option<&OnSigned>,
    ) -> Result<Sent, TxError> {
        for _ in 0..ATTEMPTS {
            let nonce = match signer.nonce {
                Some(n) => n,
                None => retry(label, || {
                    let from = request.from.unwrap_or_default();
                    self.provider.get_transaction_count(from).pending()
                })
                .await
                .map_err(|e| rpc(label, e))?,
            };
            let (hash, raw) = sign(label, signer, request, nonce, fees).await?;
            record(label, on_signed, hash, nonce, &raw)?;
            // Subscribed before sending, so a block mined right after is not missed.
            let mined = self.miner.as_ref().map(|m| m.subscribe());
            match self.broadcast(label, hash, &raw).await {
                Broadcast::Accepted => {
                    signer.nonce = Some(nonce + 1);
                    signer.track(nonce, hash, raw.clone(), self.next_seq());
                    return Ok(Sent {
                        nonce,
                        fees,
                        signed: vec![(hash, raw)],
                        at: Instant::now(),
                        mined,
                        chain_nonce: None,
                    });
                }
                Broadcast::NonceTaken => signer.nonce = None, // resync and sign again
                Broadcast::Refused(e) => return Err(revert_or_rpc(label, e)),
                Broadcast::Unknown(e) => {
                    // It may still land: the next send must read the nonce from the node.
                    signer.nonce = None;
                    return Err(TxError::Rpc {
                        label: label.into(),
                        attempts: ATTEMPTS,
                        message: format!("sent {hash} but no answer came through: {e}"),
                    });
                }
            }
        }
        Err(TxError::Rpc {
            label: label.into(),
            attempts: ATTEMPTS,
            message: "nonce kept changing".into(),
        })
    }

    /// Sends the signed bytes, again and again the same, until the node answers; a lost answer
    /// is settled by asking the node for the hash, never by signing anew.
    async fn broadcast(&self, label: &str, hash: B256, raw: &Bytes) -> Broadcast {
        let mut last = None;
        for attempt in 1..=ATTEMPTS {
            let e = match self.provider.send_raw_transaction(raw).await {
                Ok(_) => return Broadcast::Accepted,
                Err(e) => e,
            };
            let message = e.to_string().to_ascii_lowercase();
            if is_known(&message) {
                return Broadcast::Accepted;
            }
            let answered = e.as_error_resp().is_some();
            if (!answered || is_nonce_taken(&message)) && self.node_has(hash).await {
                return Broadcast::Accepted; // an earlier try got through
            }
            if answered {
                return match is_nonce_taken(&message) {
                    true => Broadcast::NonceTaken,
                    false => Broadcast::Refused(e),
                };
            }
            tracing::debug!("{label}: sending {hash}: transport error ({e}); sending it again");
            last = Some(e);
            if attempt < ATTEMPTS {
                backoff(attempt).await;
            }
        }
        Broadcast::Unknown(last.expect("at least one attempt"))
    }

    /// Whether the node knows this transaction (pending or mined).
    pub(super) async fn node_has(&self, hash: B256) -> bool {
        retry("eth_getTransactionByHash", || {
            self.provider.get_transaction_by_hash(hash)
        })
        .await
        .is_ok_and(|t| t.is_some())
    }

    /// Waits for a receipt of any of the hashes sent at this nonce. Without a block builder it
    /// looks every quarter block, and replaces a transaction still unmined after `stuck_after`.
    async fn wait_mined(
        &self,
        label: &str,
        slot: &Mutex<Signer>,
        request: &TransactionRequest,
        mut sent: Sent,
        on_signed: Option<&OnSigned>,
    ) -> Result<TransactionReceipt, TxError> {
        let start = Instant::now();
        let (mut last_look, mut last_said) = (start, start);
        let from = request.from.unwrap_or_default();
        let mut restores_seen = self.restores.load(SeqCst);
        // A restore after a reorg voided it (`restore.rs`): never sent again from here.
        let mut voided = false;
        let mut node_looked = start;
        loop {
            if !voided && last_look.elapsed() >= LOOK_FOR_DROPPED {
                last_look = Instant::now();
                self.heal_if_stuck(label, from, &mut sent).await;
            }
            if last_said.elapsed() >= STILL_WAITING_SAID {
                last_said = Instant::now();
                self.say_still_waiting(label, from, &sent, start).await;
            }
            self.next_block(&mut sent.mined).await;
            let restores = self.restores.load(SeqCst);
            if restores != restores_seen {
                restores_seen = restores;
                voided |= slot.lock().await.voided.remove(&sent.nonce);
            }
            // The chain's nonce is read before the receipts: a receipt still wins (the builder
            // may have mined it as it was voided), and none once the chain is past its nonce
            // means the empty transfer took the nonce: it is provably never mined.
            let gone = voided && self.nonce_passed(from, sent.nonce).await;
            // With a block builder the receipts of its blocks are at hand; the node is asked
            // only now and then (a block someone else mined), or to prove a voided one gone.
            let ask_node = gone || self.miner.is_none() || node_looked.elapsed() >= ASK_NODE_EVERY;
            if ask_node {
                node_looked = Instant::now();
            }
            for (hash, raw) in sent.signed.iter().rev() {
                if let Some(receipt) = self.receipt_of(*hash, ask_node).await {
                    let block = receipt.block_number.unwrap_or_default();
                    let mut signer = slot.lock().await;
                    if self.restores.load(SeqCst) != restores {
                        // Read before a restore began: maybe from a block the reorg took.
                        tracing::info!(
                            "{label}: receipt of {hash} read before a restore; reading it again"
                        );
                        break;
                    }
                    signer.mined(sent.nonce, *hash, raw.clone(), block);
                    return Ok(receipt);
                }
            }
            if gone {
                let hash = sent.signed.last().expect("one hash").0;
                let (label, nonce) = (label.into(), sent.nonce);
                return Err(TxError::Voided { label, hash, nonce });
            }
            if start.elapsed() > self.receipt_timeout {
                slot.lock().await.untrack(sent.nonce);
                return Err(TxError::Timeout {
                    label: label.into(),
                    hash: sent.signed.last().expect("one hash").0,
                    secs: self.receipt_timeout.as_secs(),
                });
            }
            if self.miner.is_none() && sent.at.elapsed() >= self.policy.stuck_after {
                self.replace(label, slot, request, &mut sent, on_signed)
                    .await;
            }
        }
    }

    /// The receipt of `hash`: from the block builder's blocks, else (with `ask_node`) the node's.
    async fn receipt_of(&self, hash: B256, ask_node: bool) -> Option<TransactionReceipt> {
        if let Some(r) = self.miner.as_ref().and_then(|m| m.receipt(&hash)) {
            return Some(r);
        }
        if !ask_node {
            return None;
        }
        self.provider
            .get_transaction_receipt(hash)
            .await
            .ok()
            .flatten()
    }

    /// Whether `from`'s nonce on chain is past `nonce` (false when it cannot be read).
    async fn nonce_passed(&self, from: Address, nonce: u64) -> bool {
        let count = self.provider.get_transaction_count(from).await;
        count.is_ok_and(|n| n > nonce)
    }

    /// After the block builder's next block (at most 1 s), or a quarter block without one.
    pub(super) async fn next_block(&self, mined: &mut Option<watch::Receiver<u64>>) {
        match mined.as_mut() {
            Some(rx) => {
                // A lost builder (closed channel) or a slow one: fall back to polling.
                let wait = tokio::time::timeout(Duration::from_secs(1), rx.changed()).await;
                if !matches!(wait, Ok(Ok(()))) {
                    *mined = None;
                }
            }
            None => tokio::time::sleep(self.poll).await,
        }
    }

    /// The same call at the same nonce with fees raised past the market's, up to the cap.
    async fn replace(
        &self,
        label: &str,
        slot: &Mutex<Signer>,
        request: &TransactionRequest,
        sent: &mut Sent,
        on_signed: Option<&OnSigned>,
    ) {
        sent.at = Instant::now();
        let Ok(market) = fees::market(&self.provider).await else {
            return; // try again after another wait
        };
        let wanted = sent.fees.bumped(market);
        let old = sent.signed.last().expect("one hash").0;
        let fees = match wanted.capped(self.policy.max_fee) {
            Some(fees) if fees == wanted => fees,
            _ => {
                self.stats.fee_capped.fetch_add(1, Relaxed);
                tracing::warn!(
                    "{label}: transaction {old} is priced out and its replacement would pay {} \
                     wei per gas, over the cap of {}: waiting",
                    wanted.max_fee(),
                    self.policy.max_fee
                );
                return;
            }
        };
        let signed = {
            let signer = slot.lock().await;
            sign(label, &signer, request, sent.nonce, fees).await
        };
        let Ok((hash, raw)) = signed else { return };
        if let Err(e) = record(label, on_signed, hash, sent.nonce, &raw) {
            tracing::warn!("{label}: not replacing {old}: {e}");
            return;
        }
        match self.broadcast(label, hash, &raw).await {
            Broadcast::Accepted => {
                self.stats.replaced.fetch_add(1, Relaxed);
                tracing::info!(
                    "{label}: transaction {old} unmined for {} s; replaced by {hash} at nonce {} \
                     ({} wei per gas at most)",
                    self.policy.stuck_after.as_secs(),
                    sent.nonce,
                    fees.max_fee()
                );
                slot.lock()
                    .await
                    .track(sent.nonce, hash, raw.clone(), self.next_seq());
                sent.signed.push((hash, raw));
                sent.fees = fees;
            }
            // The old one was mined meanwhile: the next look finds its receipt.
            Broadcast::NonceTaken => {}
            Broadcast::Refused(e) | Broadcast::Unknown(e) => {
                tracing::warn!("{label}: replacing {old}: {e}");
            }
        }
    }

    /// A transaction the node no longer knows (dropped from its pool: after a reorg, anvil drops
    /// a transaction whose nonce the reorg left ahead of the chain's) is sent again as signed,
    /// its sender's nonces made gap-free first (`restore.rs`): else it and every later
    /// transaction of its sender would wait forever. On anvil, where the block builder mines
    /// within milliseconds, a transaction the node holds while the sender's nonce on chain stays
    /// below it for a whole look is queued behind a nonce nothing fills (seen after reorgs in
    /// `tests/reorg.rs`): the same restore mends that gap.
    async fn heal_if_stuck(&self, label: &str, from: Address, sent: &mut Sent) {
        let hash = sent.signed.last().expect("one hash").0;
        let held = match self.provider.get_transaction_by_hash(hash).await {
            Ok(held) => held.is_some(),
            Err(_) => return, // looked at again next time
        };
        if held {
            if !self.anvil {
                return;
            }
            let Ok(chain) = self.provider.get_transaction_count(from).await else {
                return;
            };
            let stalled = chain < sent.nonce && sent.chain_nonce == Some(chain);
            sent.chain_nonce = Some(chain);
            if stalled {
                tracing::warn!(
                    "{label}: transaction {hash} (nonce {}) waits behind nonce {chain} of {from}, \
                     which nothing fills; mending the gap",
                    sent.nonce
                );
                self.restore(&[from], false).await;
            }
            return;
        }
        // Mined between the two calls, or dropped: only a missing receipt means dropped.
        if !matches!(self.provider.get_transaction_receipt(hash).await, Ok(None)) {
            return;
        }
        tracing::warn!("{label}: transaction {hash} was dropped by the node; sending it again");
        self.restore(&[from], false).await;
        if !self.node_has(hash).await {
            // Not among what the signer keeps (or refused there): its own bytes, as before.
            let raw = &sent.signed.last().expect("one hash").1;
            if let Err(e) = self.provider.send_raw_transaction(raw).await {
                tracing::debug!("{label}: resending dropped {hash}: {e}");
            }
        }
    }

    /// A transaction unmined for long is said in the log, with its sender's nonce on chain: a
    /// wait is never silent.
    async fn say_still_waiting(&self, label: &str, from: Address, sent: &Sent, since: Instant) {
        let chain_nonce = self.provider.get_transaction_count(from).await;
        tracing::warn!(
            "{label}: transaction {} (nonce {} of {from}) still unmined after {} s (the chain's \
             nonce of {from}: {})",
            sent.signed.last().expect("one hash").0,
            sent.nonce,
            since.elapsed().as_secs(),
            chain_nonce.map_or_else(|e| format!("unknown: {e}"), |n| n.to_string())
        );
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
}

/// The call signed at `nonce` with `fees`: its hash and its bytes.
pub(super) async fn sign(
    label: &str,
    signer: &Signer,
    request: &TransactionRequest,
    nonce: u64,
    fees: Fees,
) -> Result<(B256, Bytes), TxError> {
    let envelope = fees
        .apply(request.clone().with_nonce(nonce))
        .build(&signer.wallet)
        .await
        .map_err(|e| rpc(label, e))?;
    Ok((*envelope.tx_hash(), Bytes::from(envelope.encoded_2718())))
}

/// Shows a signed transaction to its intent's `on_signed`, if any.
fn record(
    label: &str,
    on_signed: Option<&OnSigned>,
    hash: B256,
    nonce: u64,
    raw: &Bytes,
) -> Result<(), TxError> {
    let Some(on_signed) = on_signed else {
        return Ok(());
    };
    on_signed(SignedTx { hash, nonce, raw }).map_err(|e| TxError::Unrecorded {
        label: label.into(),
        message: format!("{e:#}"),
    })
}

/// The node already holds this very transaction (geth: `already known`; anvil: `transaction
/// already imported`, code -32003).
fn is_known(message: &str) -> bool {
    message.contains("already known") || message.contains("already imported")
}

/// Another transaction holds the nonce (mined, or pending with fees this one does not beat).
fn is_nonce_taken(message: &str) -> bool {
    message.contains("nonce too low")
        || message.contains("nonce too high")
        || message.contains("invalid nonce")
        || message.contains("replacement transaction underpriced")
}

#[cfg(test)]
#[path = "send_tests.rs"]
mod tests;
