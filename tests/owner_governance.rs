//! `omega owner …` in reference mode (`omega devnet up --governance system-pause`): JobRegistry,
//! StakeManager and ValidationModule belong to SystemPause, as on real v2 deployments. Every lever
//! goes through `SystemPause.executeGovernanceCall` and is read back on chain; the `--calldata`
//! output, executed with `cast` from the governance address, has the same effect; a direct owner
//! call reverts on chain, and a key that is not the governance is refused before anything is sent.

mod common;

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use common::Sandbox;
use common::levers::{assert_every_lever_pulled, pull_every_lever, read, validator_stake};
use omega::chain::bindings::JobRegistry;
use omega::chain::keys::Keys;
use std::process::Command;

/// Anvil's key 0 (its public test mnemonic): the devnet's owner, SystemPause's governance.
const GOVERNANCE_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Anvil's key 1: the devnet's employer, not the governance.
const EMPLOYER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// A sandbox with the devnet up in reference mode.
fn up() -> Sandbox {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up", "--governance", "system-pause"]);
    net
}

/// `cast send` from anvil's key 0; its output, and whether it succeeded.
fn cast_send(net: &Sandbox, to: &str, data: &str) -> (bool, String) {
    let cast = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
    );
    let out = Command::new(cast)
        .args([
            "send",
            "--rpc-url",
            &net.rpc(),
            "--private-key",
            GOVERNANCE_KEY,
        ])
        .args([to, data])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The value after `key:` on each line of `--calldata`'s output.
fn field<'a>(output: &'a str, key: &str) -> Vec<&'a str> {
    output
        .lines()
        .filter_map(|l| l.trim().strip_prefix(key))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect()
}

#[test]
fn every_lever_goes_through_system_pause_and_reads_back() {
    let net = up();
    let d = net.deployment();
    let owner = Keys::devnet(3, 5).unwrap().owner.address();
    let sp = d.system_pause;
    assert_eq!(read(&net).owners, [sp, sp, sp, owner], "reference topology");

    let outputs = pull_every_lever(&net);
    let fee = &outputs[4];
    assert!(fee.contains("topology: system-pause"), "{fee}");
    assert_every_lever_pulled(&read(&net));
    let log = net.log().to_lowercase();
    assert_eq!(log.matches("\"message\":\"owner_action\"").count(), 7);
    let to_system_pause = format!("\"target\":\"{sp}\"").to_lowercase();
    assert_eq!(log.matches(&to_system_pause).count(), 7, "{log}");

    net.ok(&["run", "--chain", "off", "--cycles", "1", "--fast"]);
    net.ok(&["owner", "set-pause", "true"]);
    assert!(read(&net).paused);
    net.ok(&["owner", "set-pause", "false"]);
    assert!(!read(&net).paused);

    let victim = Keys::devnet(3, 5).unwrap().validators[0].address();
    let before = validator_stake(&net, victim);
    let v = victim.to_string();
    net.ok(&["owner", "governance-slash", &v, "validator", "1000"]);
    assert_eq!(
        validator_stake(&net, victim),
        before - before / U256::from(10)
    );

    // params reads the reference's getter names too, and names the topology.
    let params = net.ok(&["owner", "params"]);
    let slashing = params
        .lines()
        .find(|l| l.trim_start().starts_with("validatorSlashingPct"))
        .unwrap_or_default();
    assert!(slashing.ends_with(" 40"), "{params}");
    assert!(params.contains("topology: system-pause"), "{params}");
    assert!(params.contains("none"), "no drift: {params}");

    // Handing governance over moves SystemPause (the modules follow it) and the registries.
    let heir = Keys::devnet(3, 5).unwrap().employer.address();
    net.ok(&["owner", "transfer-governance", &heir.to_string()]);
    assert_eq!(read(&net).owners, [sp, sp, sp, heir]);
    let check = net.ok(&["owner", "set-fee-pct", "2", "--calldata"]);
    assert!(check.contains(&format!("from: {heir}")), "{check}");
}

#[test]
fn the_printed_calldata_executed_by_the_governance_has_the_same_effect() {
    let net = up();
    let d = net.deployment();
    let out = net.ok(&["owner", "set-fee-pct", "9", "--calldata"]);
    assert!(
        out.contains("topology: system-pause") && out.contains("executeGovernanceCall"),
        "{out}"
    );
    let (to, data) = (field(&out, "to:"), field(&out, "data:"));
    assert_eq!(to, [d.system_pause.to_string()], "{out}");
    assert!(data[0].starts_with("0xa64cfe10"), "{out}");
    let (sent, text) = cast_send(&net, to[0], data[0]);
    assert!(sent, "{text}");
    assert_eq!(read(&net).fee, U256::from(9));

    // Windows take one setter with two arguments; the same holds.
    let out = net.ok(&["owner", "set-windows", "200", "100", "--calldata"]);
    let (sent, text) = cast_send(&net, field(&out, "to:")[0], field(&out, "data:")[0]);
    assert!(sent, "{text}");
    let c = read(&net);
    assert_eq!((c.commit, c.reveal), (U256::from(200), U256::from(100)));

    // The plain setter, sent directly by the same governance, is refused by the module.
    let wraps = out.lines().find(|l| l.contains("wraps:")).unwrap();
    let inner = wraps.rsplit("data ").next().unwrap().trim();
    let (sent, text) = cast_send(&net, &d.validation_module.to_string(), inner);
    assert!(
        !sent && (text.contains("0x118cdaa7") || text.contains("OwnableUnauthorizedAccount")),
        "{text}"
    );

    // A dry run simulates the wrapped call and changes nothing.
    let before = read(&net);
    let dry = net.ok(&["owner", "set-approval", "80", "--dry-run"]);
    assert!(
        dry.contains("would succeed") && dry.contains("executeGovernanceCall"),
        "{dry}"
    );
    assert_eq!(read(&net), before);
}

#[test]
fn a_key_that_is_not_the_governance_is_refused_before_sending() {
    let net = up();
    let config_before = std::fs::read(net.config()).unwrap();
    let before = read(&net);
    let out = net.omega_env(
        &["owner", "set-slash-pct", "30"],
        &[("OMEGA_OWNER_KEY", EMPLOYER_KEY)],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("belongs to SystemPause") && err.contains("governance"),
        "{err}"
    );
    assert_eq!(read(&net), before, "the chain changed");
    assert_eq!(std::fs::read(net.config()).unwrap(), config_before);
}

#[test]
fn the_default_topology_can_be_restored_by_devnet_up() {
    let net = up();
    let owner = Keys::devnet(3, 5).unwrap().owner.address();
    net.ok(&["devnet", "up", "--governance", "owner"]);
    assert_eq!(read(&net).owners, [owner; 4]);
    let out = net.ok(&["owner", "set-fee-pct", "4", "--calldata"]);
    assert!(out.contains("topology: owner") && !out.contains("executeGovernanceCall"));
}

/// In reference mode a rejected job's dispute is resolved through the DisputeModule (the only
/// resolver once the JobRegistry names one, even for governance), so rejected jobs still end
/// Finalized on chain while the modules belong to SystemPause.
#[test]
fn the_mirror_resolves_disputes_through_the_dispute_module_under_system_pause() {
    use alloy::rpc::types::Filter;
    use alloy::sol_types::SolEvent;
    use omega::chain::bindings::DisputeModule;
    let net = Sandbox::new(|c| {
        for a in c["agents"].as_array_mut().unwrap() {
            a["bad_work_rate"] = 1.0.into();
        }
        c["generator"]["rate_per_cycle"] = 0.0.into();
    });
    net.ok(&["devnet", "up", "--governance", "system-pause"]);
    let stderr = net.ok_stderr(&["run", "--cycles", "40"]);
    assert!(!stderr.contains("detached"), "{stderr}");
    assert!(net.log().contains("rejected by validators"));
    let d = net.deployment();
    assert_eq!(
        read(&net).owners[0],
        d.system_pause,
        "run kept the topology"
    );
    let count = |address: Address, signature| {
        common::runtime().block_on(async {
            let p = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
            let filter = Filter::new()
                .address(address)
                .event_signature(signature)
                .from_block(d.deploy_block);
            p.get_logs(&filter).await.unwrap().len()
        })
    };
    let dm = d
        .dispute_module
        .expect("the devnet deploys a DisputeModule");
    let resolved = count(d.job_registry, JobRegistry::DisputeResolved::SIGNATURE_HASH);
    let by_module = count(dm, DisputeModule::DisputeResolved::SIGNATURE_HASH);
    let finalized = count(d.job_registry, JobRegistry::JobFinalized::SIGNATURE_HASH);
    assert!(resolved > 0, "no dispute resolved on chain");
    assert_eq!(
        by_module, resolved,
        "every resolution went through the DisputeModule"
    );
    assert!(finalized >= resolved, "resolved jobs are finalized");
}
