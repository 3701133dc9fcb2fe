//! What a reorg leaves while transactions of ours wait in the pool.
//!
//! A reorg can take a mined transaction of ours while the signer's next ones wait in the pool.
//! A real node puts the transactions of reorged blocks back into its pool; anvil forgets them,
//! and it keeps calling the waiting ones ready although their nonce is now ahead of the chain's
//! (so its `pending` nonce is too high too). The nonce the reorg emptied then stayed empty: the
//! waiting transactions were dropped as invalid at the next block, sent again into the queue
//! behind the gap, and every later transaction of that signer waited there for ever — the run
//! made no progress (issue 18's chaos harness).
//!
//! So each signer keeps what it sent (`Recent`, by nonce) until it is buried, and after a reorg
//! (the mirror notices it) or when a transaction it waits for has left the node's pool, the hub
//! makes the signer's nonces gap-free again (`restore`): a nonce the reorg emptied gets an empty
//! transfer on anvil. A mined step the reorg took is the mirror's to send again, after comparing
//! the job with what the chain holds now. So is, after a reorg on anvil, a step that was still
//! waiting: sent again as signed it would run against the chain the reorg left, where a job id
//! it names may now be another job's (a reorg that takes a `createJob` moves the ids after it;
//! seen in the chaos harness: an `applyForJob` landed on the wrong job). Its nonce gets an empty
//! transfer too and its waiter gives up (`TxError::Voided`): one intent stays one transaction,
//! the first provably never mined. Outside a reorg (a transaction the node dropped, a gap) the
//! waiting transactions are sent again as signed.

use super::send::sign;
use super::tx::{Signer, TxHub, retry};
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::TransactionRequest;
use std::time::{Duration, Instant};

/// A transaction handed to the node.
#[derive(Clone, Debug)]
pub(super) struct Recent {
    pub hash: B256,
    pub raw: Bytes,
    /// When it was first sent, among all signers' transactions.
    pub seq: u64,
    /// The block its receipt came from (None while unmined; an empty transfer that fills a nonce
    /// has none either).
    pub block: Option<u64>,
}

/// A transaction is forgotten once its block is this far below a later receipt's.
const KEEP_BLOCKS: u64 = 256;
/// At most this many transactions are kept per signer (the oldest nonces go first).
const MAX_RECENT: usize = 1_024;
/// After a reorg, how long the mirror waits at most for what was sent again to be mined.
const SETTLE_WAIT: Duration = Duration::from_secs(30);

impl Signer {
    /// Notes a transaction the node accepted (or its replacement at the same nonce).
    pub(super) fn track(&mut self, nonce: u64, hash: B256, raw: Bytes, seq: u64) {
        let seq = self.recent.get(&nonce).map_or(seq, |r| r.seq);
        let block = None;
        self.recent.insert(
            nonce,
            Recent {
                hash,
                raw,
                seq,
                block,
            },
        );
        while self.recent.len() > MAX_RECENT {
            self.recent.pop_first();
        }
    }

    /// The transaction at `nonce` was mined as `hash` (with these bytes) in `block`; those long
    /// buried are forgotten.
    pub(super) fn mined(&mut self, nonce: u64, hash: B256, raw: Bytes, block: u64) {
        if let Some(r) = self.recent.get_mut(&nonce) {
            (r.hash, r.raw, r.block) = (hash, raw, Some(block));
        }
        self.recent
            .retain(|_, r| r.block.is_none_or(|b| b + KEEP_BLOCKS >= block));
    }

    /// The waiter gave up on the transaction at `nonce`: it is never sent again from here.
    pub(super) fn untrack(&mut self, nonce: u64) {
        self.recent.remove(&nonce);
    }
}

/// After a reorg on anvil: the transactions of `from` still waiting at or past the chain's nonce
/// are voided (their nonces are filled with empty transfers next, and their waiters told).
fn void(from: Address, signer: &mut Signer, chain_nonce: u64) {
    let waiting: Vec<u64> = signer
        .recent
        .range(chain_nonce..)
        .map(|(n, _)| *n)
        .collect();
    if waiting.is_empty() {
        return;
    }
    tracing::warn!(
        "a reorg came while {} transaction(s) of {from} waited (nonces {waiting:?}): voided, not \
         sent again (their steps are decided again against the chain the reorg left)",
        waiting.len()
    );
    for n in waiting {
        signer.recent.remove(&n);
        signer.voided.insert(n);
    }
}

impl TxHub {
    /// The position of the next transaction handed to the node.
    pub(super) fn next_seq(&self) -> u64 {
        self.order
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Devnet, at the start of a run, once the block builder has mined what was ready: whatever
    /// of our signers' transactions is still in anvil's pool waits behind a nonce an earlier run
    /// lost, and has no waiter any more. Left there, it would be mined as soon as this run's own
    /// transactions fill that nonce: a step of a step the journal never recorded, against job
    /// ids a reorg may have handed to other jobs since. It is removed; the journal and the chain
    /// decide what is sent again.
    pub async fn drop_leftovers(&self) {
        use alloy::providers::ext::TxPoolApi;
        if !self.anvil {
            return;
        }
        // One read of the whole pool (anvil has no `txpool_contentFrom`).
        let Ok(content) = self.provider.txpool_content().await else {
            return;
        };
        for from in self.signers.keys() {
            let count = |m: &std::collections::BTreeMap<Address, _>| {
                m.get(from)
                    .map_or(0, |txs: &std::collections::BTreeMap<String, _>| txs.len())
            };
            let left = count(&content.pending) + count(&content.queued);
            if left == 0 {
                continue;
            }
            tracing::warn!(
                "{from}: {left} transaction(s) left in the devnet's pool by an earlier run, behind \
                 a nonce it lost: removed (the journal and the chain decide what is sent again)"
            );
            if let Err(e) = self.provider.anvil_remove_pool_transactions(*from).await {
                tracing::warn!("{from}: removing its leftover transactions: {e}");
            }
        }
    }

    /// After a reorg: every signer's nonces are made gap-free again (`restore`), and this returns
    /// once what still waited is mined, or after `SETTLE_WAIT`, so that the mirror then compares
    /// its jobs with a chain that holds all of it.
    pub async fn after_reorg(&self) {
        let mut who: Vec<Address> = self.signers.keys().copied().collect();
        who.sort();
        let targets = self.restore(&who, true).await;
        self.settle(&targets).await;
    }

    /// Per signer of `who`: sends again, in the order first sent, its transactions still waiting
    /// for a receipt from the chain's nonce on that the node no longer holds (on anvil after a
    /// reorg, `void_waiting`: empty transfers in their place), and sets its next nonce after
    /// them. On anvil, which forgets the transactions of reorged blocks, the signer's pool is
    /// cleared first (so that they go back in nonce order), and a nonce they need that the
    /// reorg emptied gets an empty transfer to the signer itself: a mined transaction of ours
    /// that the reorg took is not sent again (its effect is the mirror's to compare and send
    /// again, with what the chain holds now: a replay could find job ids moved). Elsewhere the
    /// node puts the reorged transactions back itself; any it has lost are sent again. Returns,
    /// per signer, the nonce its chain must reach for all of them to be mined.
    pub(super) async fn restore(&self, who: &[Address], void_waiting: bool) -> Vec<(Address, u64)> {
        let mut locked = Vec::new();
        for from in who {
            if let Some(slot) = self.signers.get(from) {
                locked.push((*from, slot.lock().await));
            }
        }
        // Every waiter's receipt read from here on is read again (see `TxHub::restores`), and
        // none is taken from blocks the reorg may have replaced.
        if let Some(m) = &self.miner {
            m.forget_receipts();
        }
        self.restores
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut again: Vec<(u64, Address, u64, Recent)> = Vec::new();
        let mut targets = Vec::new();
        for (from, signer) in locked.iter_mut() {
            let count = retry("eth_getTransactionCount", || {
                self.provider.get_transaction_count(*from)
            });
            let chain_nonce = match count.await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!("{from}: cannot read its nonce after a reorg: {e}");
                    signer.nonce = None;
                    continue;
                }
            };
            // Below the chain's nonce everything is on chain (a receipt not seen yet included).
            signer
                .recent
                .retain(|n, r| *n >= chain_nonce || r.block.is_some());
            if self.anvil {
                self.forget_reorged(*from, signer, chain_nonce);
            }
            let Some(highest) = signer.recent.range(chain_nonce..).next_back().map(|e| *e.0) else {
                // Nothing of ours ahead of the chain: its count holds (elsewhere the node's pool
                // may hold reorged ones again: it is asked).
                signer.nonce = self.anvil.then_some(chain_nonce);
                continue;
            };
            if self.anvil {
                let mut fill_to = highest;
                if void_waiting {
                    void(*from, signer, chain_nonce);
                    fill_to = highest + 1;
                }
                self.fill_gaps(*from, signer, chain_nonce..fill_to).await;
                if let Err(e) = self.provider.anvil_remove_pool_transactions(*from).await {
                    tracing::debug!("{from}: clearing its pool transactions: {e}");
                }
            }
            for (nonce, r) in signer.recent.range(chain_nonce..) {
                if self.anvil || !self.node_has(r.hash).await {
                    again.push((r.seq, *from, *nonce, r.clone()));
                }
            }
            signer.nonce = Some(highest + 1);
            targets.push((*from, highest + 1));
        }
        again.sort_by_key(|(seq, ..)| *seq);
        for (_, from, nonce, r) in again {
            match self.provider.send_raw_transaction(&r.raw).await {
                Ok(_) => {
                    tracing::debug!("{from}: transaction {} (nonce {nonce}) sent again", r.hash)
                }
                Err(e) => tracing::debug!("{from}: sending {} again: {e}", r.hash),
            }
        }
        if let Some(m) = &self.miner {
            m.poke();
        }
        targets
    }

    /// Anvil: the mined transactions of `from` a reorg took (at or past the chain's nonce) are
    /// forgotten here; their nonces are filled if a later one needs them.
    fn forget_reorged(&self, from: Address, signer: &mut Signer, chain_nonce: u64) {
        let lost: Vec<u64> = (signer.recent.range(chain_nonce..))
            .filter(|(_, r)| r.block.is_some())
            .map(|(n, _)| *n)
            .collect();
        if lost.is_empty() {
            return;
        }
        tracing::warn!(
            "a reorg took {} mined transaction(s) of {from} (nonces {lost:?}); anvil forgot them: \
             not sent again (the mirror sends again what the chain lost)",
            lost.len()
        );
        for n in lost {
            signer.recent.remove(&n);
        }
    }

    /// Anvil: a nonce between the chain's and that of a transaction still waiting that we have
    /// nothing for (one the reorg took, one voided, or one of an earlier run) gets an empty
    /// transfer to the signer itself, else the waiting one would wait for ever.
    async fn fill_gaps(&self, from: Address, signer: &mut Signer, nonces: std::ops::Range<u64>) {
        for nonce in nonces {
            if signer.recent.contains_key(&nonce) {
                continue;
            }
            let label = "nonce filler";
            let Ok(fees) = self.fees(label).await else {
                return;
            };
            let request = TransactionRequest::default()
                .with_from(from)
                .with_to(from)
                .with_value(U256::ZERO)
                .with_chain_id(self.chain_id())
                .with_gas_limit(21_000);
            let Ok((hash, raw)) = sign(label, signer, &request, nonce, fees).await else {
                return;
            };
            tracing::warn!(
                "{from}: a reorg emptied nonce {nonce}, which a waiting transaction needs: filled \
                 it with an empty transfer ({hash})"
            );
            signer.track(nonce, hash, raw, 0);
        }
    }

    /// Waits until each signer's chain nonce reaches its target, at most `SETTLE_WAIT`.
    async fn settle(&self, targets: &[(Address, u64)]) {
        let start = Instant::now();
        let mut mined = self.miner.as_ref().map(|m| m.subscribe());
        loop {
            let mut waiting = 0;
            for (from, target) in targets {
                let count = retry("eth_getTransactionCount", || {
                    self.provider.get_transaction_count(*from)
                });
                if !count.await.is_ok_and(|n| n >= *target) {
                    waiting += 1;
                }
            }
            if waiting == 0 {
                return;
            }
            if start.elapsed() >= SETTLE_WAIT {
                tracing::warn!(
                    "after a reorg, {waiting} signer(s) still have transactions unmined after {} \
                     s; carrying on",
                    SETTLE_WAIT.as_secs()
                );
                return;
            }
            if let Some(m) = &self.miner {
                m.poke();
            }
            self.next_block(&mut mined).await;
        }
    }
}
