//! Fee markets against a real anvil: a transaction the market prices out (the base fee jumps
//! above its max fee) is replaced at the same nonce with higher fees and mined; with a cap below
//! what the market asks, nothing more is sent and the cap is counted.

mod common;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::ext::{AnvilApi, TxPoolApi};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use common::{Sandbox, runtime};
use omega::chain::tx::{Gas, TxHub, connect};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

const GWEI: u128 = 1_000_000_000;
/// Far above anything the devnet asked before: what a fee spike looks like.
const SPIKE: u128 = 200 * GWEI;

fn spare_key(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase("test test test test test test test test test test test junk")
        .index(30 + index)
        .unwrap()
        .build()
        .unwrap()
}

/// The hashes of `from`'s transactions waiting in the node's pool.
async fn pooled(provider: &DynProvider, from: Address) -> Vec<B256> {
    let content = provider.txpool_content().await.unwrap();
    [content.pending, content.queued]
        .iter()
        .filter_map(|part| part.get(&from))
        .flat_map(|by_nonce| by_nonce.values().map(|tx| *tx.inner.tx_hash()))
        .collect()
}

/// Mines one block whose base fee is `base` (None: as the chain would have it).
async fn mine_at(provider: &DynProvider, base: Option<u128>) {
    if let Some(base) = base {
        provider
            .anvil_set_next_block_base_fee_per_gas(base)
            .await
            .unwrap();
    }
    provider.anvil_mine(Some(1), None).await.unwrap();
}

/// A devnet with automine off, a funded spare key, and a hub that calls a transaction stuck
/// after 300 ms.
async fn stuck_market(
    net: &Sandbox,
    key: &PrivateKeySigner,
    max_fee: u128,
) -> (DynProvider, TxHub) {
    let provider = connect(&net.rpc()).unwrap();
    let ether = U256::from(10u64).pow(U256::from(21u64));
    provider
        .anvil_set_balance(key.address(), ether)
        .await
        .unwrap();
    provider.anvil_set_auto_mine(false).await.unwrap();
    let hub = TxHub::new(provider.clone(), [key.clone()])
        .await
        .unwrap()
        .with_stuck_after(Duration::from_millis(300))
        .with_max_fee(max_fee);
    (provider, hub)
}

fn transfer(hub: &TxHub, from: Address) -> tokio::task::JoinHandle<B256> {
    let hub = hub.clone();
    tokio::spawn(async move {
        let to = Some(Address::repeat_byte(0x42));
        let receipt = hub
            .send("transfer", from, to, Bytes::new(), Gas::Fixed(21_000))
            .await
            .expect("mined");
        assert!(receipt.status());
        receipt.transaction_hash
    })
}

/// Waits until the pool holds `from`'s transaction; returns its hash.
async fn first_in_pool(provider: &DynProvider, from: Address) -> B256 {
    let start = Instant::now();
    loop {
        if let Some(h) = pooled(provider, from).await.first() {
            return *h;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn a_priced_out_transaction_is_replaced_at_the_same_nonce_and_mined() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let key = spare_key(0);
        let from = key.address();
        let (provider, hub) = stuck_market(&net, &key, 10 * SPIKE).await;
        let sending = transfer(&hub, from);
        let first = first_in_pool(&provider, from).await;
        // Every block now costs more than the transaction offers, until it is replaced.
        let start = Instant::now();
        while !sending.is_finished() {
            assert!(start.elapsed() < Duration::from_secs(60), "never mined");
            mine_at(&provider, Some(SPIKE)).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mined = sending.await.unwrap();
        assert_ne!(mined, first, "the first transaction cannot have been mined");
        assert!(hub.stats.replaced.load(Relaxed) >= 1);
        let receipt = provider
            .get_transaction_receipt(mined)
            .await
            .unwrap()
            .unwrap();
        assert!(receipt.effective_gas_price >= SPIKE);
        assert_eq!(
            provider.get_transaction_count(from).await.unwrap(),
            1,
            "one transaction for one intent"
        );
        assert!(
            pooled(&provider, from).await.is_empty(),
            "nothing left behind"
        );
    });
}

#[test]
fn over_the_cap_nothing_more_is_sent_until_fees_fall() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let key = spare_key(1);
        let from = key.address();
        let (provider, hub) = stuck_market(&net, &key, 50 * GWEI).await;
        let sending = transfer(&hub, from);
        let first = first_in_pool(&provider, from).await;
        let start = Instant::now();
        while hub.stats.fee_capped.load(Relaxed) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the cap was never hit"
            );
            mine_at(&provider, Some(SPIKE)).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // (anvil may evict the priced-out transaction from its pool meanwhile: the hub then
        // sends the same bytes again, never a new transaction.)
        assert!(
            pooled(&provider, from).await.iter().all(|h| *h == first),
            "no replacement sent"
        );
        assert_eq!(hub.stats.replaced.load(Relaxed), 0);
        // The spike passes: blocks are cheap again, and the transaction (or, once the market
        // is under the cap, its replacement) is mined; one of them only.
        while !sending.is_finished() {
            assert!(start.elapsed() < Duration::from_secs(60), "never mined");
            mine_at(&provider, Some(1)).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sending.await.unwrap();
        assert_eq!(provider.get_transaction_count(from).await.unwrap(), 1);
    });
}
