//! A v2 gateway against an Omega devnet, as a gateway team would test theirs: it reads only
//! `reports/devnet/gateway.env`, speaks plain JSON-RPC through alloy with its own key and its own
//! minimal v2 interface (none of Omega's chain code), posts a job, and watches the chain until
//! Omega's agents have applied, submitted, been validated and the job is finalized.

mod common;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use alloy::sol;
use common::{Sandbox, sigterm};
use std::collections::HashMap;
use std::time::Duration;

sol! {
    #[sol(rpc)]
    interface Token {
        function approve(address spender, uint256 value) external returns (bool);
        function mint(address to, uint256 amount) external;
    }
    #[sol(rpc)]
    interface Registry {
        function createJob(uint256 reward, uint64 deadline, bytes32 specHash, string uri) external returns (uint256);
    }
}

const MNEMONIC: &str = "test test test test test test test test test test test junk";

fn key(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase(MNEMONIC)
        .index(index)
        .unwrap()
        .build()
        .unwrap()
}

fn gateway_env(net: &Sandbox) -> HashMap<String, String> {
    std::fs::read_to_string(net.reports().join("devnet/gateway.env"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The v2 lifecycle events seen so far for on-chain job `id`, by event name.
async fn lifecycle(rpc: &str, env: &HashMap<String, String>, id: U256) -> Vec<&'static str> {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let named = [
        ("AgentAssigned(uint256,address,string)", "applied"),
        (
            "ResultSubmitted(uint256,address,bytes32,string,string)",
            "submitted",
        ),
        (
            "ValidationRevealed(uint256,address,bool,bytes32,string)",
            "revealed",
        ),
        ("JobFinalized(uint256,address)", "finalized"),
    ];
    let from: u64 = env["DEPLOY_BLOCK"].parse().unwrap();
    let addresses: Vec<Address> = ["JOB_REGISTRY_ADDRESS", "VALIDATION_MODULE_ADDRESS"]
        .iter()
        .map(|k| env[*k].parse().unwrap())
        .collect();
    let filter = Filter::new()
        .address(addresses)
        .topic1(B256::from(id))
        .from_block(from);
    let logs = provider.get_logs(&filter).await.unwrap();
    named
        .iter()
        .filter(|(sig, _)| logs.iter().any(|l| l.topic0() == Some(&keccak256(sig))))
        .map(|(_, name)| *name)
        .collect()
}

#[test]
fn a_gateway_posts_a_job_and_omegas_agents_see_it_through() {
    let net = Sandbox::new(|c| c["generator"]["rate_per_cycle"] = 0.0.into());
    net.ok(&["devnet", "up"]);
    let env = gateway_env(&net);
    let rpc = env["RPC_URL"].clone();
    let rt = common::runtime();
    let id = rt.block_on(async {
        // The devnet's owner (anvil's public key 0) funds the gateway's employer.
        let gateway = key(17);
        let owner = ProviderBuilder::new()
            .wallet(EthereumWallet::from(key(0)))
            .connect_http(rpc.parse().unwrap());
        let ether = U256::from(10u64).pow(U256::from(20u64));
        owner
            .anvil_set_balance(gateway.address(), ether)
            .await
            .unwrap();
        let token: Address = env["AGIALPHA_TOKEN_ADDRESS"].parse().unwrap();
        let tokens = U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64));
        let as_owner = Token::new(token, &owner);
        let minted = as_owner
            .mint(gateway.address(), tokens)
            .send()
            .await
            .unwrap();
        minted.get_receipt().await.unwrap();

        let as_gateway = ProviderBuilder::new()
            .wallet(EthereumWallet::from(gateway))
            .connect_http(rpc.parse().unwrap());
        let stake_manager: Address = env["STAKE_MANAGER_ADDRESS"].parse().unwrap();
        let own_token = Token::new(token, &as_gateway);
        let approved = own_token
            .approve(stake_manager, tokens)
            .send()
            .await
            .unwrap();
        approved.get_receipt().await.unwrap();
        let now = common::chain_time(&as_gateway).await;
        let registry = Registry::new(env["JOB_REGISTRY_ADDRESS"].parse().unwrap(), &as_gateway);
        let reward = U256::from(5u64) * U256::from(10u64).pow(U256::from(18u64));
        let create = registry.createJob(
            reward,
            now + 86_400,
            keccak256("gateway job"),
            "ipfs://gw".into(),
        );
        let id = create.call().await.unwrap();
        create.send().await.unwrap().get_receipt().await.unwrap();
        id
    });

    let mut omega = net.spawn(&["run"]);
    net.wait_for(
        "the gateway's job finalized by Omega",
        Duration::from_secs(120),
        || {
            rt.block_on(lifecycle(&rpc, &env, id))
                .contains(&"finalized")
        },
    );
    sigterm(&mut omega);
    assert_eq!(
        rt.block_on(lifecycle(&rpc, &env, id)),
        ["applied", "submitted", "revealed", "finalized"]
    );
}
