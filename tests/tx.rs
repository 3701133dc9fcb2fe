//! The transaction layer against a real anvil: nothing it sends may be lost, whatever happens to
//! the node's pool and however many of Omega's tasks mine blocks at once.

mod common;

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::ext::{AnvilApi, TxPoolApi};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use common::{Sandbox, runtime};
use omega::chain::miner::Miner;
use omega::chain::tx::{Gas, TxError, TxHub, connect};
use std::time::{Duration, Instant};

/// Keys of anvil's public test mnemonic that Omega's default config does not use.
fn spare_key(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase("test test test test test test test test test test test junk")
        .index(20 + index)
        .unwrap()
        .build()
        .unwrap()
}

async fn fund(provider: &DynProvider, who: Address) {
    let ether = U256::from(10u64).pow(U256::from(20u64));
    provider.anvil_set_balance(who, ether).await.unwrap();
}

async fn pool_size(provider: &DynProvider) -> u64 {
    let status = provider.txpool_status().await.unwrap();
    status.pending + status.queued
}

/// Polls `cond` every 20 ms until it holds; fails the test after `timeout`.
async fn until<F: std::future::Future<Output = bool>>(
    what: &str,
    timeout: Duration,
    mut cond: impl FnMut() -> F,
) {
    let start = Instant::now();
    while !cond().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn mine(provider: &DynProvider) {
    provider.anvil_mine(Some(1), None).await.unwrap();
}

/// A plain transfer of 1 wei from `hub`'s signer `from`.
async fn transfer(hub: &TxHub, from: Address) -> bool {
    let to = Some(Address::repeat_byte(0x42));
    hub.send("transfer", from, to, Bytes::new(), Gas::Fixed(21_000))
        .await
        .expect("transfer mined")
        .status()
}

/// A funded spare key `i`, the devnet mining only when told, and a hub signing for that key.
async fn manual_mining_hub(net: &Sandbox, i: u32) -> (DynProvider, Address, TxHub) {
    let provider = connect(&net.rpc()).unwrap();
    let key = spare_key(i);
    let from = key.address();
    fund(&provider, from).await;
    provider.anvil_set_auto_mine(false).await.unwrap();
    let hub = TxHub::new(provider.clone(), [key]).await.unwrap();
    (provider, from, hub)
}

/// A transfer of 1 wei from `hub`'s signer `from`, sent on a task of its own.
fn spawn_transfer(
    hub: &TxHub,
    from: Address,
) -> tokio::task::JoinHandle<Result<TransactionReceipt, TxError>> {
    let hub = hub.clone();
    let to = Some(Address::repeat_byte(0x42));
    tokio::spawn(async move {
        hub.send("transfer", from, to, Bytes::new(), Gas::Fixed(21_000))
            .await
    })
}

/// The receipt of a spawned transfer, which must be mined.
async fn mined(
    task: tokio::task::JoinHandle<Result<TransactionReceipt, TxError>>,
) -> TransactionReceipt {
    task.await.unwrap().expect("transfer mined")
}

/// Mines a block every 100 ms, as a block builder would, until aborted.
fn keep_mining(provider: &DynProvider) -> tokio::task::JoinHandle<()> {
    let provider = provider.clone();
    tokio::spawn(async move {
        loop {
            mine(&provider).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

#[test]
fn a_transaction_dropped_from_the_pool_is_sent_again_and_mined() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let (provider, from, hub) = manual_mining_hub(&net, 0).await;
        let sending = tokio::spawn({
            let hub = hub.clone();
            async move { transfer(&hub, from).await }
        });

        let pool = &provider;
        until(
            "the transfer in the pool",
            Duration::from_secs(10),
            || async move { pool_size(pool).await > 0 },
        )
        .await;
        provider.anvil_drop_all_transactions().await.unwrap();
        assert_eq!(pool_size(&provider).await, 0, "the node forgot it");

        // The hub must notice and send its transaction again; then one block takes it.
        until(
            "the hub to send it again",
            Duration::from_secs(30),
            || async move { pool_size(pool).await > 0 },
        )
        .await;
        mine(&provider).await;
        let mined = tokio::time::timeout(Duration::from_secs(20), sending).await;
        assert!(mined.expect("mined").unwrap(), "mined with status 1");
        assert_eq!(provider.get_transaction_count(from).await.unwrap(), 1);
    });
}

/// A nonce gap no waiter mends: the sender of nonce N went away (its task was aborted) and the
/// node lost N, so N+1 is held but queued behind it. The hub notices that the chain's nonce does
/// not move and makes the nonces gap-free again: both are mined.
#[test]
fn a_transaction_queued_behind_a_lost_nonce_is_mined() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let (provider, from, hub) = manual_mining_hub(&net, 1).await;
        let first = tokio::spawn({
            let hub = hub.clone();
            async move { transfer(&hub, from).await }
        });
        let pool = &provider;
        until(
            "the first transfer in the pool",
            Duration::from_secs(10),
            || async move { pool_size(pool).await > 0 },
        )
        .await;
        first.abort();
        provider.anvil_drop_all_transactions().await.unwrap();

        let miner = Miner::start(provider.clone(), &net.path("miner.json"))
            .await
            .unwrap();
        let hub = hub.with_miner(miner);
        let second = tokio::time::timeout(Duration::from_secs(50), transfer(&hub, from)).await;
        assert!(second.expect("mined before the receipt timeout"));
        assert_eq!(provider.get_transaction_count(from).await.unwrap(), 2);
    });
}

/// A run starts on a devnet whose pool still holds a transaction of one of its signers behind a
/// nonce an earlier run lost: it is removed, never mined once this run's transactions fill the
/// nonce (it would act on a chain that may have changed since, e.g. job ids a reorg moved).
#[test]
fn a_leftover_behind_a_lost_nonce_is_removed_not_mined() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let provider = connect(&net.rpc()).unwrap();
        let key = spare_key(2);
        let from = key.address();
        fund(&provider, from).await;
        let payee = Address::repeat_byte(0x43);
        let stale = TransactionRequest::default()
            .with_from(from)
            .with_to(payee)
            .with_value(U256::from(7))
            .with_nonce(1) // the chain is at 0: it waits behind nonce 0
            .with_chain_id(provider.get_chain_id().await.unwrap())
            .with_gas_limit(21_000)
            .with_max_fee_per_gas(100_000_000_000)
            .with_max_priority_fee_per_gas(1_000_000_000);
        let signed = stale
            .build(&EthereumWallet::from(key.clone()))
            .await
            .unwrap();
        let _queued = provider
            .send_raw_transaction(&signed.encoded_2718())
            .await
            .unwrap();
        assert_eq!(pool_size(&provider).await, 1);

        let hub = TxHub::new(provider.clone(), [key]).await.unwrap();
        hub.drop_leftovers().await;
        assert_eq!(pool_size(&provider).await, 0, "the leftover is removed");
        assert!(transfer(&hub, from).await, "nonce 0 is mined");
        mine(&provider).await;
        assert_eq!(provider.get_transaction_count(from).await.unwrap(), 1);
        assert_eq!(provider.get_balance(payee).await.unwrap(), U256::ZERO);
    });
}

#[test]
fn many_senders_and_many_miners_at_once_lose_no_transaction() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let provider = connect(&net.rpc()).unwrap();
        let keys: Vec<PrivateKeySigner> = (0..3).map(spare_key).collect();
        for k in &keys {
            fund(&provider, k.address()).await;
        }
        let senders: Vec<Address> = keys.iter().map(|k| k.address()).collect();
        let miner = Miner::start(provider.clone(), &net.path("miner.json"))
            .await
            .unwrap();
        let hub = TxHub::new(provider.clone(), keys)
            .await
            .unwrap()
            .with_miner(miner.clone());

        // Besides the block builder, other tasks mine too (as warps and selections do).
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut miners = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (hub, stop) = (hub.clone(), stop.clone());
            miners.spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    hub.mine(1).await.unwrap();
                }
            });
        }
        let mut sends = tokio::task::JoinSet::new();
        for from in &senders {
            for _ in 0..100 {
                let (hub, from) = (hub.clone(), *from);
                sends.spawn(async move { transfer(&hub, from).await });
            }
        }
        while let Some(mined) = sends.join_next().await {
            assert!(mined.unwrap());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while miners.join_next().await.is_some() {}
        miner.stop().await.unwrap();
        for from in senders {
            assert_eq!(provider.get_transaction_count(from).await.unwrap(), 100);
        }
    });
}

/// `anvil_reorg` of the latest `depth` blocks, replaced by empty ones.
async fn reorg(provider: &DynProvider, depth: u64) {
    let options = alloy::rpc::types::anvil::ReorgOptions {
        depth,
        tx_block_pairs: vec![],
    };
    provider.anvil_reorg(options).await.unwrap();
}

/// Issue 18's in-run stall: a reorg takes a mined transaction of a signer while its next one
/// waits in the pool. Anvil does not put the reorged transaction back (a real node does), so
/// its nonce is left empty: the waiting one is dropped as invalid at the next block, and it
/// and every later one of that signer waited for ever behind the gap. Now the hub fills the
/// emptied nonce (an empty transfer: the reorged step is the mirror's to send again) and the
/// waiting transactions are mined, each once.
#[test]
fn a_reorg_under_a_waiting_transaction_leaves_no_nonce_gap() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let provider = connect(&net.rpc()).unwrap();
        let key = spare_key(1);
        let from = key.address();
        fund(&provider, from).await;
        provider.anvil_set_auto_mine(false).await.unwrap();
        let hub = TxHub::new(provider.clone(), [key]).await.unwrap();
        let pool = &provider;
        // The first is mined; the second waits in the pool when a reorg takes the first's block.
        let first = spawn_transfer(&hub, from);
        until(
            "the first in the pool",
            Duration::from_secs(10),
            || async move { pool_size(pool).await > 0 },
        )
        .await;
        mine(&provider).await;
        let first = mined(first).await;
        let second = spawn_transfer(&hub, from);
        until(
            "the second in the pool",
            Duration::from_secs(10),
            || async move { pool_size(pool).await > 0 },
        )
        .await;
        reorg(&provider, 1).await;
        assert_eq!(provider.get_transaction_count(from).await.unwrap(), 0);
        // A third intent after the reorg, then blocks as a block builder would mine them.
        let third = spawn_transfer(&hub, from);
        let mining = keep_mining(&provider);
        let both = async { (mined(second).await, mined(third).await) };
        let mined = tokio::time::timeout(Duration::from_secs(40), both).await;
        mining.abort();
        let Ok((second, third)) = mined else {
            let nonce = provider.get_transaction_count(from).await.unwrap();
            let pool = provider.txpool_status().await.unwrap();
            panic!("still unmined 40 s after the reorg: chain nonce {nonce}, pool {pool:?}");
        };
        assert!(second.status() && third.status());
        assert_eq!(provider.get_transaction_count(from).await.unwrap(), 3);
        let replayed = provider
            .get_transaction_receipt(first.transaction_hash)
            .await
            .unwrap();
        assert!(
            replayed.is_none(),
            "the reorged one is not replayed: its nonce was filled"
        );
        assert_eq!(pool_size(&provider).await, 0);
    });
}

/// After a reorg the mirror has noticed (`TxHub::after_reorg`), a transaction still waiting is
/// voided, not sent again as signed: on the chain the reorg left, a job id it names may be
/// another job's (the chaos harness saw an `applyForJob` land on the wrong job). Its nonce goes
/// to an empty transfer, it is never mined, and its waiter hears `Voided` once the chain is past
/// its nonce; the signer's next transaction follows without a gap.
#[test]
fn a_transaction_waiting_across_a_reorg_is_voided_not_replayed() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let (provider, from, hub) = manual_mining_hub(&net, 2).await;
        let pool = &provider;
        let first = spawn_transfer(&hub, from);
        let in_pool = || async move { pool_size(pool).await > 0 };
        until("the first in the pool", Duration::from_secs(10), in_pool).await;
        mine(&provider).await;
        first.await.unwrap().expect("the first is mined");
        let second = spawn_transfer(&hub, from);
        until("the second in the pool", Duration::from_secs(10), in_pool).await;
        reorg(&provider, 1).await;
        let mining = keep_mining(&provider);
        hub.after_reorg().await;
        let answer = tokio::time::timeout(Duration::from_secs(40), second).await;
        let outcome = answer.expect("the waiter answers").unwrap();
        let Err(TxError::Voided { hash, nonce, .. }) = outcome else {
            panic!("expected Voided, got {outcome:?}");
        };
        assert_eq!(nonce, 1);
        let receipt = provider.get_transaction_receipt(hash).await.unwrap();
        assert!(receipt.is_none(), "the voided one is never mined");
        assert_eq!(provider.get_transaction_count(from).await.unwrap(), 2);
        assert!(transfer(&hub, from).await, "the next intent is mined");
        mining.abort();
        assert_eq!(provider.get_transaction_count(from).await.unwrap(), 3);
        assert_eq!(pool_size(&provider).await, 0);
    });
}
