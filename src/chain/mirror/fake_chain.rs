//! A fake chain for the unit tests: one job's state, scripted reverts, and a record of what was
//! sent, so the actions run their real decisions without anvil.

use super::chain_io::{ChainReads, ChainWrites, Landed, Sent, SignedCreate, Votes};
use crate::chain::send::{OnSigned, SignedTx};
use crate::chain::tx::{Gas, TxError};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, Bytes, LogData, U256};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// The addresses and windows the mirror's unit tests share.
pub(super) mod fixtures {
    use crate::chain::mirror::schedule::Windows;
    use alloy::primitives::Address;

    pub const POSTER: Address = Address::repeat_byte(1);
    pub const AGENT: Address = Address::repeat_byte(2);
    pub const V1: Address = Address::repeat_byte(0x11);
    pub const V2: Address = Address::repeat_byte(0x12);
    pub const WINDOWS: Windows = Windows {
        commit_s: 60,
        reveal_s: 60,
        force_finalize_grace_s: 30,
    };
}

/// Runs a future to its end on a runtime of its own (the unit tests are synchronous).
pub(super) fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(f)
}

#[derive(Default)]
pub(super) struct Fake {
    /// The job's v2 state and success flag.
    pub meta: (u8, bool),
    /// The job's deadline.
    pub deadline: u64,
    /// The DisputeModule's record (raised at; 0 = none) and window; a raise opens it now.
    pub dispute: (u64, u64),
    pub committee: Vec<Address>,
    /// The latest block's timestamp (every block has it).
    pub time: u64,
    pub paused: bool,
    /// Reverts of sends, by label: the reason.
    pub reverts: HashMap<&'static str, String>,
    /// Sends the node fails (no answer after retries), by label.
    pub unreachable: HashSet<&'static str>,
    /// Sends that were mined but raced by another transaction of their block.
    pub raced: HashSet<&'static str>,
    /// Reverts of the next dry runs, in order (then they pass).
    pub dry_reverts: VecDeque<String>,
    /// The job state a successful send leaves, by label.
    pub moves: HashMap<&'static str, (u8, bool)>,
    /// The logs a successful send emits, by label.
    pub logs: HashMap<&'static str, Vec<LogData>>,
    /// Every send that went through: (label, from).
    pub sent: Vec<(&'static str, Address)>,
    /// Every send that went through: (label, to, calldata).
    pub calls: Vec<(&'static str, Address, Bytes)>,
    pub mined: u64,
    /// The job's spec hash, the commits and reveals on chain, and the head block.
    pub spec_hash: B256,
    pub votes: Votes,
    pub head: u64,
    /// What `create_landed` answers (`Gone` when unset), and the transactions it was asked of.
    pub landed: Option<Landed>,
    pub asked_landed: Vec<SignedCreate>,
    /// What `find_created` answers, and the spec hashes it was asked for.
    pub found: Option<U256>,
    pub asked_found: Vec<B256>,
}

#[derive(Clone, Default)]
pub(super) struct FakeChain(pub Arc<Mutex<Fake>>);

impl FakeChain {
    pub fn with(f: impl FnOnce(&mut Fake)) -> FakeChain {
        let chain = FakeChain::default();
        f(&mut chain.get());
        chain
    }

    pub fn get(&self) -> std::sync::MutexGuard<'_, Fake> {
        self.0.lock().expect("fake chain")
    }

    pub fn sent(&self) -> Vec<&'static str> {
        self.get().sent.iter().map(|(label, _)| *label).collect()
    }
}

impl ChainReads for FakeChain {
    async fn meta(&self, _id: U256) -> eyre::Result<(u8, bool)> {
        Ok(self.get().meta)
    }

    async fn deadline(&self, _id: U256) -> eyre::Result<u64> {
        Ok(self.get().deadline)
    }

    async fn dispute(&self, _module: Address, _id: U256) -> eyre::Result<(u64, u64)> {
        Ok(self.get().dispute)
    }

    async fn committee(&self, _id: U256) -> eyre::Result<Vec<Address>> {
        Ok(self.get().committee.clone())
    }

    async fn job_nonce(&self, _id: U256) -> eyre::Result<U256> {
        Ok(U256::from(1))
    }

    async fn block_time(&self, _block: BlockNumberOrTag) -> eyre::Result<u64> {
        Ok(self.get().time)
    }

    async fn paused(&self) -> eyre::Result<bool> {
        Ok(self.get().paused)
    }

    async fn job_record(&self, _id: U256) -> eyre::Result<(u8, B256)> {
        let f = self.get();
        Ok((f.meta.0, f.spec_hash))
    }

    async fn votes(&self, _id: U256) -> eyre::Result<Votes> {
        Ok(self.get().votes.clone())
    }

    async fn head(&self) -> eyre::Result<u64> {
        Ok(self.get().head)
    }

    async fn latest(&self) -> eyre::Result<(u64, u64)> {
        let chain = self.get();
        Ok((chain.head, chain.time))
    }

    async fn find_created(&self, spec_hash: B256, _poster: Address) -> eyre::Result<Option<U256>> {
        let mut f = self.get();
        f.asked_found.push(spec_hash);
        Ok(f.found)
    }
}

impl ChainWrites for FakeChain {
    fn chain_id(&self) -> u64 {
        31337
    }

    async fn dry_run(
        &self,
        label: &'static str,
        _from: Address,
        _to: Address,
        _input: Bytes,
    ) -> Result<(), TxError> {
        match self.get().dry_reverts.pop_front() {
            Some(reason) => Err(TxError::Reverted {
                label: label.into(),
                reason,
            }),
            None => Ok(()),
        }
    }

    async fn send(
        &self,
        label: &'static str,
        from: Address,
        to: Address,
        input: Bytes,
        _gas: Gas,
    ) -> Result<Sent, TxError> {
        let mut f = self.get();
        if let Some(reason) = f.reverts.get(label) {
            return Err(TxError::Reverted {
                label: label.into(),
                reason: reason.clone(),
            });
        }
        if f.unreachable.contains(label) {
            let (label, attempts) = (label.into(), 3);
            let message = "HTTP error 502".into();
            return Err(TxError::Rpc {
                label,
                attempts,
                message,
            });
        }
        if f.raced.contains(label) {
            let (hash, block) = (B256::ZERO, 1);
            let label = label.into();
            return Err(TxError::Raced { label, hash, block });
        }
        f.sent.push((label, from));
        f.calls.push((label, to, input));
        if let Some(m) = f.moves.get(label) {
            f.meta = *m;
        }
        Ok(Sent {
            block: 1,
            logs: f.logs.get(label).cloned().unwrap_or_default(),
        })
    }

    /// The signed transaction shown is the call's hash at nonce 0 (the fake signs nothing).
    async fn send_recorded(
        &self,
        label: &'static str,
        from: Address,
        to: Address,
        input: Bytes,
        gas: Gas,
        on_signed: Option<OnSigned>,
    ) -> Result<Sent, TxError> {
        if let Some(on_signed) = on_signed {
            let (hash, nonce, raw) = (alloy::primitives::keccak256(&input), 0, &input);
            on_signed(SignedTx { hash, nonce, raw }).map_err(|e| TxError::Unrecorded {
                label: label.into(),
                message: format!("{e:#}"),
            })?;
        }
        self.send(label, from, to, input, gas).await
    }

    async fn create_landed(&self, _poster: Address, txs: &[SignedCreate]) -> eyre::Result<Landed> {
        let mut f = self.get();
        f.asked_landed.extend_from_slice(txs);
        Ok(f.landed.clone().unwrap_or(Landed::Gone))
    }

    async fn mine(&self, n: u64) -> eyre::Result<()> {
        self.get().mined += n;
        Ok(())
    }
}
