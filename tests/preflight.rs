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

/// External agents' keys come from their `key_env` on a deployment reached by URL: preflight
/// checks each one as its role needs (a worker stakes and may post sub-jobs; a validator only
/// stakes as one) under the agent's name and the variable, provision fixes them, and a key that
/// is missing, bad or not configured is an error naming the variable. On this folder's own devnet
/// no variable is read (anvil's test keys stand in, already provisioned).
#[test]
fn external_agents_keys_come_from_their_key_env() {
    let externals = serde_json::json!([
        {"name": "ExtWorker", "card_url": "http://127.0.0.1:9/.well-known/agent-card.json",
         "role": "worker", "skills": ["energy"], "stake": 250000, "key_env": "EXT_WORKER_KEY"},
        {"name": "ExtValidator", "card_url": "http://127.0.0.1:9/.well-known/agent-card.json",
         "role": "validator", "skills": ["validation"], "stake": 250000, "key_env": "EXT_VALIDATOR_KEY"},
    ]);
    let net = Sandbox::new(|cfg| cfg["external_agents"] = externals);
    net.ok(&["devnet", "up"]);
    let local = net.omega(&["chain", "preflight", "--json"]);
    assert!(
        local.status.success(),
        "the devnet provisions external agents: {}",
        String::from_utf8_lossy(&local.stdout)
    );

    let config = omega::config::Config::load(&net.config()).unwrap();
    let (agents, validators) = omega::cli::devnet::workforce(&config);
    let devnet = Keys::devnet(agents, validators).unwrap();
    let (ext_worker, ext_validator) = (key(62), key(63));
    fund(&net, ext_worker.address());
    fund(&net, ext_validator.address());
    // The simulated agents' keys: the devnet's, without the last ones (the external agents').
    let join = |keys: &[PrivateKeySigner]| keys.iter().map(hex_key).collect::<Vec<_>>().join(",");
    let vars = [
        ("OMEGA_EMPLOYER_KEY", hex_key(&devnet.employer)),
        ("OMEGA_AGENT_KEYS", join(&devnet.agents[..agents - 1])),
        (
            "OMEGA_VALIDATOR_KEYS",
            join(&devnet.validators[..validators - 1]),
        ),
        ("EXT_WORKER_KEY", hex_key(&ext_worker)),
        ("EXT_VALIDATOR_KEY", hex_key(&ext_validator)),
    ];
    let env = |skip: &str, extra: &[(&'static str, String)]| with(&vars, skip, extra);
    let run = |command: &str, env: &[(&'static str, String)]| by_url(&net, command, env);
    bad_key_envs_are_errors_naming_the_variable(&net, &vars);

    // Fresh keys: what each role needs is missing, under the agent's name and variable.
    let first = run("preflight", &env("", &[]));
    assert!(!first.status.success());
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let (w, v) = (
        "ExtWorker (EXT_WORKER_KEY)",
        "ExtValidator (EXT_VALIDATOR_KEY)",
    );
    let expected: BTreeSet<(String, String)> = [
        (w, "agent stake"),
        (w, "agent identity"),
        (w, "allowance to the StakeManager"),
        (v, "validator stake"),
        (v, "validator identity"),
        (v, "allowance to the StakeManager"),
    ]
    .into_iter()
    .map(|(who, item)| (who.to_string(), item.to_string()))
    .collect();
    assert_eq!(missing(&report), expected, "{report:#}");
    let owner = ("OMEGA_OWNER_KEY", hex_key(&devnet.owner));
    let provisioned = run("provision", &env("", &[owner]));
    let steps = String::from_utf8_lossy(&provisioned.stdout);
    assert!(provisioned.status.success(), "{steps}");
    assert!(steps.contains(w) && steps.contains(v), "{steps}");
    let last = run("preflight", &env("", &[]));
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stdout)
    );
}

/// `vars` without `skip`, with `extra`.
fn with(
    vars: &[(&'static str, String)],
    skip: &str,
    extra: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    (vars.iter())
        .filter(|(k, _)| *k != skip)
        .chain(extra)
        .cloned()
        .collect()
}

/// `omega chain COMMAND --json` on the devnet's contracts reached by URL (as any deployment).
fn by_url(net: &Sandbox, command: &str, env: &[(&'static str, String)]) -> std::process::Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (rpc, manifest) = (net.rpc(), net.reports().join("devnet/deployments.json"));
    let args = [
        "chain",
        command,
        "--json",
        "--rpc-url",
        &rpc,
        "--deployments",
    ];
    let mut args: Vec<&str> = args.to_vec();
    args.push(manifest.to_str().unwrap());
    net.omega_env(&args, &env)
}

/// An external agent's key that is unset, not a key, or not configured (no `key_env`): each an
/// error naming the agent and the variable, before anything is read or sent.
fn bad_key_envs_are_errors_naming_the_variable(net: &Sandbox, vars: &[(&'static str, String)]) {
    let not_set = by_url(net, "preflight", &with(vars, "EXT_WORKER_KEY", &[]));
    let bad_key = [("EXT_WORKER_KEY", "0x1234".to_string())];
    let bad = by_url(net, "preflight", &with(vars, "EXT_WORKER_KEY", &bad_key));
    let mut without = net.config_json();
    without["external_agents"][1]
        .as_object_mut()
        .unwrap()
        .remove("key_env");
    let original = std::fs::read(net.config()).unwrap();
    std::fs::write(net.config(), without.to_string()).unwrap();
    let unconfigured = by_url(net, "provision", vars);
    std::fs::write(net.config(), original).unwrap();
    for (out, expected) in [
        (
            &not_set,
            "external agent \"ExtWorker\": its key_env EXT_WORKER_KEY is not set",
        ),
        (
            &bad,
            "external agent \"ExtWorker\": EXT_WORKER_KEY holds a value that is not a private key",
        ),
        (
            &unconfigured,
            "external agent \"ExtValidator\" needs an on-chain key: set key_env",
        ),
    ] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(expected),
            "{stderr}"
        );
    }
}
