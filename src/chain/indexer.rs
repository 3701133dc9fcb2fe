//! The event indexer: folds every module event since the deploy block into a [`ChainView`], with a
//! persisted cursor (block number *and* hash) in `reports/chain/indexer.json`.
//!
//! - Backfill in chunks (default 2,000 blocks) that halve on a provider's range or size error and
//!   grow back after each success.
//! - A confirmation depth: only blocks `head − confirmations` and older are indexed.
//! - Reorgs: before each step the cursor's hash is compared with the chain; on a mismatch the
//!   stored hashes of the last `window` blocks find the fork, events after it are dropped and
//!   re-fetched. Events older than the window are folded into a settled view; younger ones stay
//!   in a tail that can be rewound. A fork older than the window re-indexes from scratch.
//! - The cursor advances only after its range's events are applied and the file is durable.
//! - A job finalized or cancelled in a settled block moves to `indexer-archive.jsonl`
//!   (`indexer_archive.rs`): memory and each step's write follow the open jobs, not every job ever.
//! - The head is only a wake-up: what is indexed is decided by the cursor, never by a subscription.

use super::events::{ChainEvent, Module, decode};
use super::indexer_archive;
use super::manifest::Deployment;
use super::view::{ChainView, JobState};
use crate::persistence::atomic;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The provider refused the block range or the size of the answer: retry with a smaller one.
    #[error("range too large: {0}")]
    TooLarge(String),
    #[error("{0}")]
    Other(String),
}

impl SourceError {
    /// Sorts a provider's error text: range and result-size limits are retried with less.
    pub fn classify(message: String) -> SourceError {
        let m = message.to_ascii_lowercase();
        let limit = [
            "range",
            "too many",
            "too large",
            "limit",
            "exceed",
            "response size",
            "-32005",
            "10000 results",
        ];
        if limit.iter().any(|k| m.contains(k)) {
            SourceError::TooLarge(message)
        } else {
            SourceError::Other(message)
        }
    }
}

/// Where logs and block hashes come from (a JSON-RPC provider; tests wrap it to inject limits).
pub trait LogSource: Sync {
    fn head(&self) -> impl Future<Output = Result<u64, SourceError>> + Send;
    /// The canonical hash of block `n`, `None` past the head.
    fn block_hash(&self, n: u64) -> impl Future<Output = Result<Option<B256>, SourceError>> + Send;
    fn logs(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
    ) -> impl Future<Output = Result<Vec<Log>, SourceError>> + Send;
}

/// A JSON-RPC provider as a log source.
#[derive(Clone)]
pub struct RpcSource(pub DynProvider);

impl RpcSource {
    pub fn connect(url: &str) -> eyre::Result<RpcSource> {
        Ok(RpcSource(
            alloy::providers::ProviderBuilder::new()
                .connect_client(super::tx::client(url)?)
                .erased(),
        ))
    }
}

impl LogSource for RpcSource {
    async fn head(&self) -> Result<u64, SourceError> {
        self.0
            .get_block_number()
            .await
            .map_err(|e| SourceError::Other(e.to_string()))
    }

    async fn block_hash(&self, n: u64) -> Result<Option<B256>, SourceError> {
        let block = self
            .0
            .get_block_by_number(n.into())
            .await
            .map_err(|e| SourceError::Other(e.to_string()))?;
        Ok(block.map(|b| b.header.hash))
    }

    async fn logs(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
    ) -> Result<Vec<Log>, SourceError> {
        let filter = Filter::new()
            .address(addresses.to_vec())
            .from_block(from)
            .to_block(to);
        self.0
            .get_logs(&filter)
            .await
            .map_err(|e| SourceError::classify(e.to_string()))
    }
}

#[derive(Clone, Debug)]
pub struct IndexerSettings {
    pub path: PathBuf,
    pub chunk: u64,
    pub confirmations: u64,
    pub window: u64,
}

impl IndexerSettings {
    pub fn new(reports: &Path, confirmations: u64) -> IndexerSettings {
        IndexerSettings {
            path: reports.join("chain").join("indexer.json"),
            chunk: 2_000,
            confirmations,
            window: 64,
        }
    }
}

/// How far a `sync_with` is: blocks scanned since it started, of the blocks it has to scan (the
/// total grows when the head moves on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backfill {
    pub scanned: u64,
    pub total: u64,
}

/// One decoded event with where it happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Indexed {
    pub block: u64,
    pub log_index: u64,
    pub tx: B256,
    pub event: ChainEvent,
}

/// What is persisted: the cursor, the hashes of the reorg window, the settled view and the tail.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexerState {
    /// The deployment this file belongs to (its JobRegistry).
    pub registry: Address,
    /// The cursor: the last block whose events are applied, and its hash.
    pub block: u64,
    pub hash: B256,
    /// The chain head at the last step (lag = head − block).
    pub head: u64,
    pub reorgs: u64,
    pub events: u64,
    /// Final jobs moved to the archive (not in `settled`).
    pub archived: u64,
    pub chunk: u64,
    pub halvings: u64,
    recent: Vec<(u64, B256)>,
    settled_block: u64,
    settled: ChainView,
    tail: Vec<Indexed>,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error("provider: {0}")]
    Source(#[from] SourceError),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

/// An I/O error of the file at `path`.
fn file_error(path: PathBuf) -> impl FnOnce(std::io::Error) -> IndexerError {
    move |e| IndexerError::File {
        path,
        message: e.to_string(),
    }
}

pub struct Indexer {
    settings: IndexerSettings,
    addresses: Vec<(Module, Address)>,
    deploy_block: u64,
    pub state: IndexerState,
    view: ChainView,
    /// The cursor moved over empty blocks since the file was last written.
    unsaved: bool,
}

impl Indexer {
    /// Opens the persisted indexer of this deployment, or starts at its deploy block.
    pub fn open(d: &Deployment, settings: IndexerSettings) -> Result<Indexer, IndexerError> {
        let fresh = IndexerState {
            registry: d.job_registry,
            block: d.deploy_block.saturating_sub(1),
            hash: B256::ZERO,
            head: 0,
            reorgs: 0,
            events: 0,
            archived: 0,
            chunk: settings.chunk,
            halvings: 0,
            recent: Vec::new(),
            settled_block: d.deploy_block.saturating_sub(1),
            settled: ChainView::default(),
            tail: Vec::new(),
        };
        let state = match std::fs::read(&settings.path) {
            Ok(bytes) => {
                let s: IndexerState =
                    serde_json::from_slice(&bytes).map_err(|e| IndexerError::File {
                        path: settings.path.clone(),
                        message: format!(
                            "unreadable ({e}); delete it to re-index from the deploy block"
                        ),
                    })?;
                if s.registry == d.job_registry {
                    s
                } else {
                    fresh.clone()
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => fresh.clone(),
            Err(e) => {
                return Err(IndexerError::File {
                    path: settings.path.clone(),
                    message: e.to_string(),
                });
            }
        };
        if state.block == fresh.block && state.hash == B256::ZERO {
            // Indexed from scratch: an archive beside it belongs to an earlier deployment or to a
            // state file deleted to re-index.
            let archive = indexer_archive::path_beside(&settings.path);
            indexer_archive::clear(&archive).map_err(file_error(archive))?;
        }
        let mut indexer = Indexer {
            addresses: Module::all(d),
            deploy_block: d.deploy_block,
            settings,
            state,
            view: ChainView::default(),
            unsaved: false,
        };
        indexer.rebuild_view();
        Ok(indexer)
    }

    /// The view of the jobs still open (and of those final for less than the reorg window).
    pub fn view(&self) -> &ChainView {
        &self.view
    }

    /// The view with the archived jobs too, read from the archive (for `reconcile`).
    pub fn full_view(&self) -> Result<ChainView, IndexerError> {
        let path = indexer_archive::path_beside(&self.settings.path);
        let archived = indexer_archive::read(&path).map_err(file_error(path))?;
        let mut view = self.view.clone();
        for (id, job) in archived {
            view.jobs.entry(id).or_insert(job);
        }
        Ok(view)
    }

    /// The persisted indexer at `path` and its view, for read-only tools (`omega status`).
    pub fn read(path: &Path) -> Option<(IndexerState, ChainView)> {
        let state: IndexerState = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let mut view = state.settled.clone();
        state
            .tail
            .iter()
            .for_each(|e| view.apply_at(e.block, &e.event));
        Some((state, view))
    }

    /// Events of the reorg window, oldest first (the settled ones are folded into the view).
    pub fn tail(&self) -> &[Indexed] {
        &self.state.tail
    }

    /// Indexes up to the safe head; returns how many events were applied.
    pub async fn sync<S: LogSource>(&mut self, src: &S) -> Result<u64, IndexerError> {
        self.sync_with(src, &mut |_| {}).await
    }

    /// `sync`, telling `progress` after each range how far it is (for a long backfill's bar).
    pub async fn sync_with<S: LogSource>(
        &mut self,
        src: &S,
        progress: &mut (dyn FnMut(Backfill) + Send),
    ) -> Result<u64, IndexerError> {
        let mut applied = 0;
        let first = self.state.block;
        loop {
            let head = src.head().await?;
            self.state.head = head;
            self.check_reorg(src).await?;
            let safe = head.saturating_sub(self.settings.confirmations);
            if self.state.block >= safe {
                if self.unsaved {
                    self.save()?;
                }
                return Ok(applied);
            }
            let from = self.state.block + 1;
            let to = safe.min(from + self.state.chunk - 1);
            match self.step(src, from, to).await {
                Ok(n) => {
                    applied += n;
                    progress(Backfill {
                        scanned: self.state.block.saturating_sub(first),
                        total: safe.saturating_sub(first),
                    });
                }
                Err(IndexerError::Source(SourceError::TooLarge(m))) if self.state.chunk > 1 => {
                    self.state.chunk = (self.state.chunk / 2).max(1);
                    self.state.halvings += 1;
                    tracing::debug!("indexer: {m}; chunk now {} blocks", self.state.chunk);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Indexes `from..=to`; the cursor moves only once the events are applied and saved.
    async fn step<S: LogSource>(
        &mut self,
        src: &S,
        from: u64,
        to: u64,
    ) -> Result<u64, IndexerError> {
        let Some(to_hash) = src.block_hash(to).await? else {
            return Ok(0); // the head moved back (a reorg): the next round rewinds
        };
        let addresses: Vec<Address> = self.addresses.iter().map(|(_, a)| *a).collect();
        let logs = src.logs(from, to, &addresses).await?;
        if src.block_hash(to).await? != Some(to_hash) {
            return Ok(0); // reorganised while we read: read the range again
        }
        let mut batch = Vec::with_capacity(logs.len());
        for log in &logs {
            let Some(module) = self.module_of(log.address()) else {
                continue;
            };
            let (Some(block), Some(hash)) = (log.block_number, log.block_hash) else {
                continue;
            };
            self.remember(block, hash);
            if let Some(event) = decode(module, log) {
                batch.push(Indexed {
                    block,
                    log_index: log.log_index.unwrap_or(0),
                    tx: log.transaction_hash.unwrap_or_default(),
                    event,
                });
            }
        }
        batch.sort_by_key(|e| (e.block, e.log_index));
        let n = batch.len() as u64;
        for e in &batch {
            self.view.apply_at(e.block, &e.event);
        }
        self.state.tail.extend(batch);
        self.state.events += n;
        self.remember(to, to_hash);
        self.state.block = to;
        self.state.hash = to_hash;
        self.state.chunk = (self.state.chunk * 2).min(self.settings.chunk);
        self.settle()?;
        // An empty range need not be saved at once (reading it again after a crash is harmless,
        // and the file holds the whole view): `sync` saves the cursor once when it returns.
        if n > 0 {
            self.save()?;
        } else {
            self.unsaved = true;
        }
        Ok(n)
    }

    fn module_of(&self, address: Address) -> Option<Module> {
        self.addresses
            .iter()
            .find(|(_, a)| *a == address)
            .map(|(m, _)| *m)
    }

    fn remember(&mut self, block: u64, hash: B256) {
        match self.state.recent.last() {
            Some((b, _)) if *b >= block => {}
            _ => self.state.recent.push((block, hash)),
        }
    }

    /// Folds events older than the window into the settled view, moves the jobs they made final
    /// to the archive, and forgets old block hashes.
    fn settle(&mut self) -> Result<(), IndexerError> {
        let horizon = self.state.block.saturating_sub(self.settings.window);
        if horizon <= self.state.settled_block {
            return Ok(());
        }
        let keep_from = self.state.tail.partition_point(|e| e.block <= horizon);
        let mut touched = Vec::new();
        for e in self.state.tail.drain(..keep_from) {
            self.state.settled.apply_at(e.block, &e.event);
            touched.extend(e.event.job());
        }
        self.archive_final(touched)?;
        self.state.settled_block = horizon;
        // Keep one hash at or below the horizon so a fork right above it is still located.
        let first_kept = self
            .state
            .recent
            .partition_point(|(b, _)| *b <= horizon)
            .saturating_sub(1);
        self.state.recent.drain(..first_kept);
        Ok(())
    }

    /// Moves the settled jobs among `touched` that are final to the archive, durably, before the
    /// state file that no longer holds them is written.
    fn archive_final(&mut self, mut touched: Vec<u64>) -> Result<(), IndexerError> {
        touched.sort_unstable();
        touched.dedup();
        let final_jobs: Vec<(u64, _)> = touched
            .into_iter()
            .filter_map(|id| self.state.settled.jobs.get(&id).map(|j| (id, j)))
            .filter(|(_, j)| matches!(j.state, JobState::Finalized | JobState::Cancelled))
            .map(|(id, j)| (id, j.clone()))
            .collect();
        let path = indexer_archive::path_beside(&self.settings.path);
        indexer_archive::append(&path, &final_jobs).map_err(file_error(path))?;
        for (id, _) in &final_jobs {
            self.state.settled.jobs.remove(id);
            self.view.jobs.remove(id);
        }
        self.state.archived += final_jobs.len() as u64;
        Ok(())
    }

    /// Compares the cursor's hash with the chain; on a mismatch, rewinds to the fork.
    async fn check_reorg<S: LogSource>(&mut self, src: &S) -> Result<(), IndexerError> {
        if self.state.hash == B256::ZERO
            || src.block_hash(self.state.block).await? == Some(self.state.hash)
        {
            return Ok(());
        }
        let mut fork_base = None;
        for (block, hash) in self.state.recent.iter().rev() {
            if src.block_hash(*block).await? == Some(*hash) {
                fork_base = Some((*block, *hash));
                break;
            }
        }
        self.state.reorgs += 1;
        match fork_base {
            Some((block, hash)) if block >= self.state.settled_block => {
                tracing::warn!(
                    "indexer: reorg detected at block {}; rewinding to block {block}",
                    self.state.block
                );
                self.state.tail.retain(|e| e.block <= block);
                self.state.recent.retain(|(b, _)| *b <= block);
                self.state.block = block;
                self.state.hash = hash;
            }
            _ => {
                tracing::warn!(
                    "indexer: reorg deeper than the {}-block window; re-indexing from the deploy block",
                    self.settings.window
                );
                let reorgs = self.state.reorgs;
                let archive = indexer_archive::path_beside(&self.settings.path);
                indexer_archive::clear(&archive).map_err(file_error(archive))?;
                self.state.archived = 0;
                self.state.tail.clear();
                self.state.recent.clear();
                self.state.settled = ChainView::default();
                self.state.block = self.deploy_block.saturating_sub(1);
                self.state.settled_block = self.state.block;
                self.state.hash = B256::ZERO;
                self.state.reorgs = reorgs;
            }
        }
        self.state.events = self.state.settled.events + self.state.tail.len() as u64;
        self.rebuild_view();
        self.save()
    }

    fn rebuild_view(&mut self) {
        let mut view = self.state.settled.clone();
        for e in &self.state.tail {
            view.apply_at(e.block, &e.event);
        }
        self.view = view;
    }

    fn save(&mut self) -> Result<(), IndexerError> {
        self.unsaved = false;
        let err = |message: String| IndexerError::File {
            path: self.settings.path.clone(),
            message,
        };
        if let Some(dir) = self.settings.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let bytes = serde_json::to_vec(&self.state).map_err(|e| err(e.to_string()))?;
        atomic::write_atomic(&self.settings.path, &bytes).map_err(|e| err(e.to_string()))
    }
}

#[cfg(test)]
#[path = "indexer_tests.rs"]
mod tests;
