//! `omega chain preflight` and `provision` on a half-provisioned deployment: the devnet's
//! contracts reached by URL, with one agent and one validator replaced by fresh keys that hold ETH
//! and tokens but have no allowance, no stake and no identity. Preflight names every missing
//! item; provision fixes what the keys may (and, without the owner key, refuses the allowlisting
//! with the reason); then preflight passes.

mod common;

use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi;
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use alloy::sol_types::SolCall;
use common::{Sandbox, runtime};
use omega::chain::bindings::AGIALPHA;
use omega::chain::keys::Keys;
use omega::chain::tx::{Gas, TxHub, connect};
use std::collections::BTreeSet;

fn key(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase("test test test test test test test test test test test junk")
        .index(index)
        .unwrap()
        .build()
        .unwrap()
}

fn hex_key(k: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(k.to_bytes()))
}

/// ETH and tokens for a fresh key, from anvil and the devnet token's owner.
fn fund(net: &Sandbox, who: Address) {
    let d = net.deployment();
    runtime().block_on(async {
        let provider = connect(&net.rpc()).unwrap();
        let ether = U256::from(10u64).pow(U256::from(19u64));
        provider.anvil_set_balance(who, ether).await.unwrap();
        let owner = Keys::devnet(0, 0).unwrap().owner;
        let from = owner.address();
        let hub = TxHub::new(provider, [owner]).await.unwrap();
        let amount = U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18u64));
        let mint = AGIALPHA::mintCall { to: who, amount }.abi_encode();
        hub.send("mint", from, Some(d.token), mint.into(), Gas::Estimate)
            .await
            .unwrap();
    });
}

/// (who, item) of every missing check.
fn missing(report: &serde_json::Value) -> BTreeSet<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| {
            (
                c["who"].as_str().unwrap().into(),
                c["item"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn preflight_names_what_is_missing_and_provision_fixes_it() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    let config = omega::config::Config::load(&net.config()).unwrap();
    let (agents, validators) = omega::cli::devnet::workforce(&config);
    let devnet = Keys::devnet(agents, validators).unwrap();
    let (fresh_agent, fresh_validator) = (key(60), key(61));
    fund(&net, fresh_agent.address());
    fund(&net, fresh_validator.address());
    let mut agent_keys: Vec<String> = devnet.agents.iter().map(hex_key).collect();
    let mut validator_keys: Vec<String> = devnet.validators.iter().map(hex_key).collect();
    agent_keys[0] = hex_key(&fresh_agent);
    validator_keys[0] = hex_key(&fresh_validator);
    let (agent_keys, validator_keys) = (agent_keys.join(","), validator_keys.join(","));
    let workforce = [
        ("OMEGA_EMPLOYER_KEY", hex_key(&devnet.employer)),
        ("OMEGA_AGENT_KEYS", agent_keys),
        ("OMEGA_VALIDATOR_KEYS", validator_keys),
    ];
    let env: Vec<(&str, &str)> = workforce.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let manifest = net.reports().join("devnet/deployments.json");
    let rpc = net.rpc();
    let by_url = [
        "--rpc-url",
        &rpc,
        "--deployments",
        manifest.to_str().unwrap(),
    ];
    let run = |command: &str, extra: &[&str], env: &[(&str, &str)]| {
        let args: Vec<&str> = ["chain", command]
            .into_iter()
            .chain(by_url)
            .chain(extra.iter().copied())
            .collect();
        net.omega_env(&args, env)
    };

    let first = run("preflight", &["--json"], &env);
    assert!(
        !first.status.success(),
        "a half-provisioned deployment fails preflight"
    );
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    // The fresh keys stand in for the first worker and the first validator, in config order.
    use omega::domain::agent::Role;
    let first = |validator: bool| {
        config
            .agent_profiles()
            .into_iter()
            .find(|p| (p.role == Role::Validator) == validator)
            .unwrap()
            .name
    };
    let (agent, validator) = (first(false), first(true));
    let expected: BTreeSet<(String, String)> = [
        (&agent, "agent stake"),
        (&agent, "agent identity"),
        (&agent, "allowance to the StakeManager"),
        (&validator, "agent stake"),
        (&validator, "validator stake"),
        (&validator, "agent identity"),
        (&validator, "validator identity"),
        (&validator, "allowance to the StakeManager"),
    ]
    .into_iter()
    .map(|(w, i)| (w.clone(), i.to_string()))
    .collect();
    assert_eq!(missing(&report), expected, "{report:#}");

    // Without the owner key the allowlisting is refused, with the reason; the rest is done.
    let partial = run("provision", &[], &env);
    assert!(!partial.status.success());
    let out = String::from_utf8_lossy(&partial.stdout);
    assert!(
        out.contains("refused") && out.contains("OMEGA_OWNER_KEY"),
        "{out}"
    );
    let after: serde_json::Value =
        serde_json::from_slice(&run("preflight", &["--json"], &env).stdout).unwrap();
    assert!(
        missing(&after)
            .iter()
            .all(|(_, item)| item.contains("identity")),
        "{after:#}"
    );

    let owner = hex_key(&devnet.owner);
    let with_owner: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .chain([("OMEGA_OWNER_KEY", owner.as_str())])
        .collect();
    let done = run("provision", &[], &with_owner);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let last = run("preflight", &["--json"], &env);
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stdout)
    );
}
