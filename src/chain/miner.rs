//! Devnet block building: while `omega run` drives the local devnet, blocks are mined on demand
//! and hold every transaction sent within a few milliseconds, instead of anvil's automine (one
//! block per transaction).
//!
//! Why: every block costs anvil a fixed share of work (its state root, its bookkeeping; on Prague
//! it even grew with the chain, see `anvil::HARDFORK`), so one block per transaction spent most of
//! the devnet's CPU on blocks. Batching keeps the block count proportional to the engine's steps,
//! not to its transactions. Transactions of other senders (a gateway, `omega owner`) are
//! picked up by polling the pool. The run that mines records itself in `devnet/miner.json`; when
//! it stops, automine comes back, and a devnet left without automine by a crashed run is restored
//! by the next `omega devnet up`, `status` or `run`.
//!
//! Every block Omega mines goes through `Miner::mine`, one at a time: anvil's `anvil_mine` takes
//! the pool's ready transactions before it takes its own lock, so two concurrent calls can both
//! execute transaction N; the second finds its nonce used, calls it invalid and drops it from the
//! pool together with every later transaction of that sender — which then never get a receipt.

use alloy::primitives::B256;
use alloy::providers::ext::{AnvilApi, TxPoolApi};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use eyre::{Result, WrapErr};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How long the builder waits after a transaction for others to join its block.
pub const BATCH_WINDOW: Duration = Duration::from_millis(15);
/// How often the pool is checked for transactions Omega did not send.
const POOL_POLL: Duration = Duration::from_millis(100);
/// The receipts of this many of the latest blocks the builder mined are kept for the waiters.
const RECEIPT_BLOCKS: usize = 64;
/// At most this many blocks of one `mine` call have their receipts read.
const RECEIPT_READS: u64 = 8;

#[derive(Serialize, Deserialize)]
struct Lease {
    pid: u32,
}

pub struct Miner {
    provider: DynProvider,
    lease: PathBuf,
    poke: Notify,
    /// Counts the blocks this builder (or a warp) mined; receipts are looked for after a change.
    mined: watch::Sender<u64>,
    /// Held while a block is mined: one `anvil_mine` at a time (see the module docs).
    mining: tokio::sync::Mutex<()>,
    /// The receipts of the blocks it mined, read once per block (`eth_getBlockReceipts`): the
    /// waiters look here first instead of asking the node for each transaction after each block.
    receipts: std::sync::Mutex<ReceiptBook>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Miner {
    /// Turns automine off and starts building blocks; `lease` records this process.
    pub async fn start(provider: DynProvider, lease: &Path) -> Result<Arc<Miner>> {
        let lease_json = serde_json::to_vec(&Lease {
            pid: std::process::id(),
        })?;
        crate::persistence::atomic::write_atomic(lease, &lease_json)?;
        set_automine(&provider, false).await?;
        // A killed run may have left sent transactions in the pool: they go into a block now,
        // before recovery looks at the chain (else it would not see, say, a job it created).
        mine_pending(&provider).await?;
        let miner = Arc::new(Miner {
            provider,
            lease: lease.to_path_buf(),
            poke: Notify::new(),
            mined: watch::channel(0).0,
            mining: tokio::sync::Mutex::new(()),
            receipts: Default::default(),
            task: Default::default(),
        });
        let task = tokio::spawn(build_blocks(Arc::downgrade(&miner)));
        *miner.task.lock().expect("miner lock") = Some(task);
        Ok(miner)
    }

    /// A transaction was sent: mine it (with whatever joins it within the batch window).
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Subscribe before sending; `changed()` then fires once a block was mined after it.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.mined.subscribe()
    }

    /// Mines `n` blocks, never while another of Omega's mining calls is under way; their
    /// receipts are kept before the waiters are told.
    pub async fn mine(&self, n: u64) -> Result<()> {
        let _turn = self.mining.lock().await;
        let started = std::time::Instant::now();
        mine_blocks(&self.provider, n).await?;
        let mined = started.elapsed();
        self.keep_receipts(n).await;
        // How long anvil took, apart from reading the receipts: a devnet slowing down shows here.
        tracing::debug!(
            blocks = n,
            mine_ms = mined.as_millis() as u64,
            receipts_ms = (started.elapsed() - mined).as_millis() as u64,
            "devnet block mined"
        );
        self.mined.send_modify(|count| *count += 1);
        Ok(())
    }

    /// The receipt of `hash` if a block this builder mined holds it (None: ask the node).
    pub fn receipt(&self, hash: &B256) -> Option<TransactionReceipt> {
        let book = self.receipts.lock().expect("receipts");
        book.by_hash.get(hash).cloned()
    }

    /// Forgets every kept receipt (a reorg may have taken their blocks).
    pub fn forget_receipts(&self) {
        *self.receipts.lock().expect("receipts") = ReceiptBook::default();
    }

    /// Reads the receipts of the latest `n` blocks (at most `RECEIPT_READS`). Best effort: what
    /// cannot be read is asked of the node by the waiter.
    async fn keep_receipts(&self, n: u64) {
        let Ok(head) = self.provider.get_block_number().await else {
            return;
        };
        let first = head.saturating_sub(n.clamp(1, RECEIPT_READS) - 1);
        for block in first..=head {
            match self.provider.get_block_receipts(block.into()).await {
                Ok(Some(receipts)) => self.receipts.lock().expect("receipts").add(block, receipts),
                _ => return,
            }
        }
    }

    /// Stops building, mines what is pending and gives the devnet its automine back.
    pub async fn stop(&self) -> Result<()> {
        if let Some(task) = self.task.lock().expect("miner lock").take() {
            task.abort();
        }
        set_automine(&self.provider, true).await?;
        let _ = std::fs::remove_file(&self.lease);
        Ok(())
    }
}

/// Receipts by transaction hash, for the latest `RECEIPT_BLOCKS` blocks mined.
#[derive(Default)]
struct ReceiptBook {
    by_hash: HashMap<B256, TransactionReceipt>,
    blocks: VecDeque<(u64, Vec<B256>)>,
}

impl ReceiptBook {
    fn add(&mut self, block: u64, receipts: Vec<TransactionReceipt>) {
        // A block number seen before was replaced (a reorg): its old receipts go.
        if let Some(i) = self.blocks.iter().position(|(b, _)| *b == block) {
            let (_, old) = self.blocks.remove(i).expect("found");
            for h in old {
                self.by_hash.remove(&h);
            }
        }
        let hashes = receipts.iter().map(|r| r.transaction_hash).collect();
        for r in receipts {
            self.by_hash.insert(r.transaction_hash, r);
        }
        self.blocks.push_back((block, hashes));
        while self.blocks.len() > RECEIPT_BLOCKS {
            let (_, old) = self.blocks.pop_front().expect("not empty");
            for h in old {
                self.by_hash.remove(&h);
            }
        }
    }
}

async fn build_blocks(miner: std::sync::Weak<Miner>) {
    let mut failing = false;
    loop {
        let Some(m) = miner.upgrade() else { return };
        let wanted = tokio::select! {
            _ = m.poke.notified() => {
                tokio::time::sleep(BATCH_WINDOW).await;
                true
            }
            _ = tokio::time::sleep(POOL_POLL) => pending(&m.provider).await.unwrap_or(0) > 0,
        };
        if !wanted {
            continue;
        }
        match m.mine(1).await {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                tracing::warn!("devnet block builder: {e:#} (retrying)");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

pub(crate) async fn mine_blocks(provider: &DynProvider, n: u64) -> Result<()> {
    provider
        .anvil_mine(Some(n), None)
        .await
        .wrap_err("anvil_mine")
}

/// Transactions waiting in the pool (`txpool_status`).
async fn pending(provider: &DynProvider) -> Result<u64> {
    Ok(provider.txpool_status().await?.pending)
}

async fn set_automine(provider: &DynProvider, on: bool) -> Result<()> {
    provider
        .anvil_set_auto_mine(on)
        .await
        .wrap_err("anvil_setAutomine")
}

/// Gives the devnet its automine back when the run that turned it off is gone (killed, crashed).
/// Returns true when it did.
pub async fn restore_if_orphaned(provider: &DynProvider, lease: &Path) -> Result<bool> {
    let Ok(bytes) = std::fs::read(lease) else {
        return Ok(false);
    };
    let owner: Option<Lease> = serde_json::from_slice(&bytes).ok();
    if owner.is_some_and(|l| alive(l.pid)) {
        return Ok(false);
    }
    set_automine(provider, true).await?;
    mine_pending(provider).await?;
    let _ = std::fs::remove_file(lease);
    Ok(true)
}

/// Mines blocks while transactions ready to run wait in the pool (a few blocks at most: more
/// than a block holds may wait).
async fn mine_pending(provider: &DynProvider) -> Result<()> {
    for _ in 0..8 {
        if pending(provider).await? == 0 {
            break;
        }
        mine_blocks(provider, 1).await?;
    }
    Ok(())
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    (unsafe { libc::kill(pid as i32, 0) }) == 0
}
