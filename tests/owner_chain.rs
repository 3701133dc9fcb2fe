//! `omega owner …` against a real anvil devnet: every lever round-trips to the chain, a non-owner
//! is refused, dry runs and bad values change nothing, and a running orchestrator picks changes up.

mod common;

use alloy::primitives::U256;
use common::levers::{assert_every_lever_pulled, pull_every_lever, read, validator_stake};
use common::{Sandbox, sigterm, wait_for};
use omega::chain::keys::Keys;
use std::time::Duration;

/// A sandbox with the devnet up.
fn up() -> Sandbox {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    net
}

#[test]
fn every_lever_round_trips_to_the_chain_and_the_config() {
    let net = up();
    pull_every_lever(&net);
    assert_every_lever_pulled(&read(&net));
    let cfg = net.config_json();
    assert_eq!(cfg["validators"]["quorum"], 2);
    assert_eq!(cfg["validators"]["penalty_ratio"], 0.4);
    assert_eq!(
        cfg["validators"]["commit_phase_seconds"], 0.6,
        "the engine's phases are not the chain's windows"
    );
    assert_eq!(cfg["validators"]["burn_ratio"], 0.07);
    assert_eq!(cfg["validators"]["min_stake"], 5);
    let log = std::fs::read_to_string(net.dir.path().join("reports/orchestrator.log")).unwrap();
    assert_eq!(log.matches("\"message\":\"owner_action\"").count(), 7);

    // set-pause needs a checkpoint, then reaches SystemPause.
    net.ok(&["run", "--chain", "off", "--cycles", "1", "--fast"]);
    net.ok(&["owner", "set-pause", "true"]);
    assert!(read(&net).paused);
    net.ok(&["owner", "set-pause", "false"]);
    assert!(!read(&net).paused);

    // governance-slash takes from a validator's stake.
    let keys = Keys::devnet(3, 5).unwrap();
    let victim = keys.validators[0].address();
    let before = validator_stake(&net, victim);
    net.ok(&[
        "owner",
        "governance-slash",
        &victim.to_string(),
        "validator",
        "1000",
    ]);
    assert_eq!(
        validator_stake(&net, victim),
        before - before / U256::from(10)
    );

    let params = net.ok(&["owner", "params"]);
    assert!(
        params.contains("requiredValidatorApprovals") && params.contains("none"),
        "{params}"
    );

    // Last: hand governance over.
    let heir = keys.employer.address();
    net.ok(&["owner", "transfer-governance", &heir.to_string()]);
    assert_eq!(read(&net).owners[0], heir);
}

#[test]
fn a_non_owner_dry_runs_and_bad_values_change_nothing() {
    let net = up();
    let config_before = std::fs::read(net.config()).unwrap();
    let chain_before = read(&net);
    let employer_key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let out = net.omega_env(
        &["owner", "set-fee-pct", "9"],
        &[("OMEGA_OWNER_KEY", employer_key)],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("OwnableUnauthorizedAccount") && err.contains("owner (governance) role"),
        "{err}"
    );
    for args in [
        vec!["owner", "set-fee-pct", "101"],
        vec!["owner", "set-quorum", "0"],
        vec!["owner", "set-quorum", "9"], // more than the committee
        vec!["owner", "set-approval", "0"],
        vec!["owner", "set-windows", "0", "10"],
        vec!["owner", "governance-slash", "0x1234", "validator", "10"],
        vec![
            "owner",
            "governance-slash",
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "wizard",
            "10",
        ],
        vec![
            "owner",
            "transfer-governance",
            "0x0000000000000000000000000000000000000000",
        ],
    ] {
        let out = net.omega(&args);
        assert!(!out.status.success(), "{args:?} was accepted");
    }
    let dry = net.ok(&["owner", "set-fee-pct", "9", "--dry-run"]);
    assert!(
        dry.contains("would succeed") && dry.contains("calldata"),
        "{dry}"
    );
    let calldata = net.ok(&["owner", "set-quorum", "2", "--calldata"]);
    assert!(
        calldata.contains(&net.deployment().validation_module.to_string())
            && calldata.contains("data: 0x"),
        "{calldata}"
    );
    assert_eq!(
        std::fs::read(net.config()).unwrap(),
        config_before,
        "the config changed"
    );
    assert_eq!(read(&net), chain_before, "the chain changed");
}

/// Anvil's public test keys stand in for the owner only on the reports folder's own devnet: the
/// same anvil reached by `--rpc-url` is "any chain", where a missing key is an error naming the
/// variable, and nothing is sent.
#[test]
fn test_keys_sign_only_on_the_local_devnet() {
    let net = up();
    net.ok(&["run", "--chain", "off", "--fast", "--cycles", "2"]); // a checkpoint to attest
    let chain_before = read(&net);
    let manifest = net.reports().join("devnet/deployments.json");
    let manifest = manifest.to_str().unwrap();
    let by_url = ["--rpc-url", &net.rpc(), "--deployments", manifest];
    for command in [
        vec!["owner", "set-fee-pct", "9"],
        vec!["owner", "set-quorum", "2", "--calldata"],
        vec!["attest"],
    ] {
        let args: Vec<&str> = command.iter().copied().chain(by_url).collect();
        let err = net.fails(&args);
        assert!(
            err.contains("OMEGA_OWNER_KEY is not set") && err.contains("own devnet"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(read(&net), chain_before, "the chain changed");
    // With the key given, the same command over the URL goes through.
    let owner_key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    let args: Vec<&str> = ["owner", "set-fee-pct", "9"]
        .into_iter()
        .chain(by_url)
        .collect();
    let out = net.omega_env(&args, &[("OMEGA_OWNER_KEY", owner_key)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&net).fee, U256::from(9));
}

/// Providers put API keys in RPC URLs: an error quoting the URL (here the HTTP client's, for a
/// node that does not answer) shows scheme, host and port only.
#[test]
fn an_rpc_url_secret_never_reaches_the_output() {
    let net = up();
    let manifest = net.reports().join("devnet/deployments.json");
    let owner_key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    let url = "http://user:pa55w0rd@127.0.0.1:1/v2/s3cr3tK3y?apikey=s3cr3tK3y";
    let out = net.omega_env(
        &[
            "owner",
            "set-fee-pct",
            "9",
            "--rpc-url",
            url,
            "--deployments",
            manifest.to_str().unwrap(),
        ],
        &[("OMEGA_OWNER_KEY", owner_key)],
    );
    assert!(!out.status.success());
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("http://127.0.0.1:1/<redacted>"), "{shown}");
    for secret in ["s3cr3tK3y", "pa55w0rd", "user:"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[test]
fn a_running_orchestrator_picks_up_an_owner_change() {
    let net = up();
    let mut child = net.spawn(&["run"]);
    wait_for("the first checkpoint", Duration::from_secs(30), || {
        net.log().contains("\"message\":\"checkpoint\"")
    });
    net.ok(&["owner", "set-fee-pct", "3"]);
    wait_for("the live parameter change", Duration::from_secs(10), || {
        net.log().contains("\"name\":\"burn_ratio\"")
    });
    assert_eq!(read(&net).fee, U256::from(3));
    sigterm(&mut child);
}
