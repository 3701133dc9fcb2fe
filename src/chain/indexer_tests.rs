//! Unit tests of `indexer.rs`.

use super::*;
use crate::chain::bindings::JobRegistry;
use alloy::primitives::{U256, keccak256};
use alloy::sol_types::SolEvent;
use std::sync::Mutex;

/// A scripted chain: block n has a hash and maybe one JobCreated (and, in `cancels`, one
/// JobCancelled); forks replace its tail.
struct Scripted {
    registry: Address,
    blocks: Mutex<Vec<(B256, Option<u64>)>>,
    max_range: u64,
    /// Block → the job cancelled in it.
    cancels: std::collections::BTreeMap<u64, u64>,
}

impl Scripted {
    fn new(registry: Address, jobs_at: &[(u64, u64)], len: u64, salt: u8) -> Scripted {
        let blocks = (0..=len)
            .map(|n| {
                (
                    Self::hash(n, salt),
                    jobs_at.iter().find(|(b, _)| *b == n).map(|(_, j)| *j),
                )
            })
            .collect();
        Scripted {
            registry,
            blocks: Mutex::new(blocks),
            max_range: u64::MAX,
            cancels: Default::default(),
        }
    }

    fn hash(n: u64, salt: u8) -> B256 {
        keccak256([&n.to_be_bytes()[..], &[salt]].concat())
    }

    /// Replaces blocks from `from` on with a fork of `len` blocks holding `jobs_at`.
    fn fork(&self, from: u64, len: u64, jobs_at: &[(u64, u64)]) {
        let mut b = self.blocks.lock().unwrap();
        b.truncate(from as usize);
        for n in from..from + len {
            b.push((
                Self::hash(n, 9),
                jobs_at.iter().find(|(x, _)| *x == n).map(|(_, j)| *j),
            ));
        }
    }
}

impl LogSource for Scripted {
    async fn head(&self) -> Result<u64, SourceError> {
        Ok(self.blocks.lock().unwrap().len() as u64 - 1)
    }
    async fn block_hash(&self, n: u64) -> Result<Option<B256>, SourceError> {
        Ok(self.blocks.lock().unwrap().get(n as usize).map(|b| b.0))
    }
    async fn logs(&self, from: u64, to: u64, _: &[Address]) -> Result<Vec<Log>, SourceError> {
        if to - from + 1 > self.max_range {
            return Err(SourceError::classify("block range too large".into()));
        }
        let blocks = self.blocks.lock().unwrap();
        let mut out = Vec::new();
        for n in from..=to.min(blocks.len() as u64 - 1) {
            let (hash, job) = blocks[n as usize];
            let log = |data| Log {
                inner: alloy::primitives::Log {
                    address: self.registry,
                    data,
                },
                block_hash: Some(hash),
                block_number: Some(n),
                log_index: Some(1),
                ..Default::default()
            };
            if let Some(job) = self.cancels.get(&n) {
                let event = JobRegistry::JobCancelled {
                    jobId: U256::from(*job),
                };
                out.push(log(event.encode_log_data()));
            }
            let Some(job) = job else { continue };
            let event = JobRegistry::JobCreated {
                jobId: U256::from(job),
                employer: Address::repeat_byte(1),
                agent: Address::ZERO,
                reward: U256::from(1),
                stake: U256::ZERO,
                fee: U256::ZERO,
                specHash: B256::repeat_byte(job as u8),
                uri: String::new(),
            };
            let mut created = log(event.encode_log_data());
            created.log_index = Some(0);
            out.push(created);
        }
        Ok(out)
    }
}

fn deployment() -> Deployment {
    Deployment {
        chain_id: 1,
        deploy_block: 1,
        token: Address::repeat_byte(0x10),
        stake_manager: Address::repeat_byte(0x11),
        job_registry: Address::repeat_byte(0x12),
        validation_module: Address::repeat_byte(0x13),
        identity_registry: Address::repeat_byte(0x14),
        system_pause: Address::repeat_byte(0x15),
        checkpoint_registry: Some(Address::repeat_byte(0x16)),
        dispute_module: None,
        owner: Address::repeat_byte(0x17),
    }
}

fn indexer(dir: &Path, window: u64, chunk: u64) -> Indexer {
    let mut s = IndexerSettings::new(dir, 0);
    s.window = window;
    s.chunk = chunk;
    Indexer::open(&deployment(), s).unwrap()
}

fn jobs(i: &Indexer) -> Vec<u64> {
    i.view().jobs.keys().copied().collect()
}

#[tokio::test]
async fn a_fork_inside_the_window_is_rewound_and_the_new_branch_applied() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Scripted::new(
        deployment().job_registry,
        &[(3, 1), (10, 2), (18, 3)],
        20,
        0,
    );
    let mut idx = indexer(dir.path(), 64, 4);
    idx.sync(&chain).await.unwrap();
    assert_eq!(jobs(&idx), [1, 2, 3]);
    chain.fork(15, 10, &[(16, 4)]); // job 3 is reorged out, job 4 appears
    idx.sync(&chain).await.unwrap();
    assert_eq!((jobs(&idx), idx.state.reorgs), (vec![1, 2, 4], 1));
    // The rewound state was saved: a reopened indexer has the same view and cursor.
    let again = indexer(dir.path(), 64, 4);
    assert_eq!((again.view(), again.state.block), (idx.view(), 24));
}

/// A job final in a block older than the window leaves the state file for the archive; the full
/// view (what `reconcile` reads) still has it, after a reopen too; a re-index from the deploy
/// block starts the archive again.
#[tokio::test]
async fn final_jobs_past_the_window_move_to_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Scripted::new(deployment().job_registry, &[(2, 1), (3, 2), (4, 3)], 40, 0);
    chain.cancels.insert(10, 1); // settled by block 40 (window 5)
    chain.cancels.insert(38, 2); // still in the window
    let mut idx = indexer(dir.path(), 5, 8);
    idx.sync(&chain).await.unwrap();
    assert_eq!((jobs(&idx), idx.state.archived), (vec![2, 3], 1));
    let file = std::fs::read_to_string(dir.path().join("chain/indexer.json")).unwrap();
    assert!(
        !file.contains(&format!("{}", B256::repeat_byte(1))),
        "{file}"
    );
    let full = idx.full_view().unwrap();
    assert_eq!(full.jobs.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(full.jobs[&1].state, JobState::Cancelled);
    let again = indexer(dir.path(), 5, 8);
    assert_eq!(
        (again.full_view().unwrap(), again.state.archived),
        (full, 1)
    );
    chain.fork(1, 45, &[(20, 7)]);
    idx.sync(&chain).await.unwrap();
    assert_eq!((jobs(&idx), idx.state.archived), (vec![7], 0));
    assert_eq!(idx.full_view().unwrap().jobs.len(), 1);
}

#[tokio::test]
async fn a_fork_deeper_than_the_window_reindexes_from_the_deploy_block() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Scripted::new(deployment().job_registry, &[(2, 1), (30, 2)], 40, 0);
    let mut idx = indexer(dir.path(), 5, 8);
    idx.sync(&chain).await.unwrap();
    chain.fork(1, 45, &[(20, 7)]); // everything since block 1 replaced
    idx.sync(&chain).await.unwrap();
    assert_eq!((jobs(&idx), idx.state.reorgs), (vec![7], 1));
}

#[tokio::test]
async fn chunks_halve_on_a_range_limit_and_the_result_is_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Scripted::new(
        deployment().job_registry,
        &[(5, 1), (77, 2), (150, 3)],
        200,
        0,
    );
    chain.max_range = 10;
    let mut idx = indexer(dir.path(), 64, 2_000);
    idx.sync(&chain).await.unwrap();
    assert_eq!(jobs(&idx), [1, 2, 3]);
    // 2,000 → 7 takes eight halvings; each success doubles it again (and the limit halves it).
    assert!(idx.state.halvings >= 8, "{}", idx.state.halvings);
    chain.max_range = u64::MAX;
    let other = tempfile::tempdir().unwrap();
    let mut unlimited = indexer(other.path(), 64, 2_000);
    unlimited.sync(&chain).await.unwrap();
    assert_eq!(unlimited.view(), idx.view());
    assert_eq!(unlimited.state.halvings, 0);
}

#[tokio::test]
async fn a_backfill_reports_its_progress_up_to_the_safe_head() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Scripted::new(deployment().job_registry, &[(5, 1), (150, 2)], 200, 0);
    let mut idx = indexer(dir.path(), 64, 10);
    let first = idx.state.block;
    let mut seen = Vec::new();
    idx.sync_with(&chain, &mut |b| seen.push(b)).await.unwrap();
    let last = *seen.last().expect("progress was reported");
    assert_eq!(last.scanned, idx.state.block - first);
    assert_eq!(last.scanned, last.total);
    assert!(
        seen.len() >= 19,
        "one report per range of 10 blocks: {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0].scanned < w[1].scanned),
        "{seen:?}"
    );
}

#[test]
fn provider_limit_messages_are_retried_smaller() {
    for m in [
        "query returned more than 10000 results",
        "block range is too large",
        "Log response size exceeded",
        "eth_getLogs is limited to a 1000 blocks range",
    ] {
        assert!(
            matches!(SourceError::classify(m.into()), SourceError::TooLarge(_)),
            "{m}"
        );
    }
    assert!(matches!(
        SourceError::classify("connection refused".into()),
        SourceError::Other(_)
    ));
}
