//! Transactions a reorg took, sent again as they were signed.
//!
//! A reorg can take a mined transaction of ours while the signer's next ones wait in the pool.
//! A real node puts the transactions of reorged blocks back into its pool; anvil does not, and it
//! keeps calling the waiting ones ready although their nonce is now ahead of the chain's (so its
//! `pending` nonce is too high too). The nonce the reorg emptied then stays empty: the waiting
//! transactions are dropped as invalid at the next block, sent again into the queue behind the
//! gap, and every later transaction of that signer waits there for ever.
//!
//! So each signer keeps what it sent (`Recent`, by nonce) until it is buried, and after a reorg
//! (the mirror notices it) or when a transaction it waits for has left the node's pool, the hub
//! sends again, in the order they were first sent, the very same signed transactions from the
//! chain's nonce on: one intent stays one transaction, at its own nonce. On anvil it first takes
//! the signer's transactions out of the pool so that they go back in nonce order, and it fills a
//! nonce it has nothing for (a transaction of an earlier run) with an empty transfer to itself.

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
    /// The block its receipt came from (None while unmined, or since a reorg took it).
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

impl TxHub {
    /// The position of the next transaction handed to the node.
    pub(super) fn next_seq(&self) -> u64 {
        self.order
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// After a reorg: every signer's transactions the chain lost are sent again as signed, and
    /// this returns once they (and those still waiting) are mined, or after `SETTLE_WAIT`, so
    /// that what the mirror then compares with the chain already holds them.
    pub async fn after_reorg(&self) {
        let mut who: Vec<Address> = self.signers.keys().copied().collect();
        who.sort();
        let targets = self.restore(&who).await;
        self.settle(&targets).await;
    }

    /// Sends again, in the order first sent, the transactions of `who` from each signer's chain
    /// nonce on that the node no longer holds (on anvil: all of them, after taking them out of
    /// its pool), and sets each signer's next nonce after them. Returns, per signer, the nonce its
    /// chain must reach for all of them to be mined.
    pub(super) async fn restore(&self, who: &[Address]) -> Vec<(Address, u64)> {
        let mut locked = Vec::new();
        for from in who {
            if let Some(slot) = self.signers.get(from) {
                locked.push((*from, slot.lock().await));
            }
        }
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
            let Some(highest) = signer.recent.range(chain_nonce..).next_back().map(|e| *e.0) else {
                signer.nonce = None; // nothing of ours ahead of the chain: its count holds
                continue;
            };
            if self.anvil {
                self.fill_gaps(*from, signer, chain_nonce..highest).await;
                if let Err(e) = self.provider.anvil_remove_pool_transactions(*from).await {
                    tracing::debug!("{from}: clearing its pool transactions: {e}");
                }
            }
            for (nonce, r) in signer.recent.range_mut(chain_nonce..) {
                if self.anvil || !self.node_has(r.hash).await {
                    again.push((r.seq, *from, *nonce, r.clone()));
                    r.block = None;
                }
            }
            signer.nonce = Some(highest + 1);
            targets.push((*from, highest + 1));
        }
        again.sort_by_key(|(seq, ..)| *seq);
        for (_, from, nonce, r) in again {
            match self.provider.send_raw_transaction(&r.raw).await {
                Ok(_) if r.block.is_some() => tracing::warn!(
                    "a reorg took transaction {} (nonce {nonce} of {from}); sent it again as signed",
                    r.hash
                ),
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

    /// Anvil: a nonce between the chain's and our latest that we have no transaction for (one of
    /// an earlier run, which the reorg took) gets an empty transfer to the signer itself, else
    /// ours after it would wait for ever.
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
                "{from}: a reorg emptied nonce {nonce}, which this run did not send; filled it \
                 with an empty transfer ({hash})"
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
