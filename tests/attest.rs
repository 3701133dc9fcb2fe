//! `omega attest` / `omega verify` against a real anvil devnet.

mod common;

use common::Sandbox;
use omega::persistence::checkpoint;

#[test]
fn attest_then_verify_and_fail_closed_on_divergence() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    net.ok(&[
        "run", "--chain", "off", "--fast", "--cycles", "5", "--seed", "1",
    ]);
    assert!(net.fails(&["verify"]).contains("not attested"));
    assert!(net.ok(&["attest"]).contains("attested checkpoint #"));
    assert!(net.ok(&["verify"]).contains("matches the chain"));
    assert!(net.ok(&["attest"]).contains("already attested"));

    // A tampered file fails its own hash before the chain is even asked.
    let state = net.reports().join("orchestrator_state.json");
    let original = std::fs::read(&state).unwrap();
    let tampered = net.path("tampered.json");
    std::fs::write(
        &tampered,
        String::from_utf8(original.clone()).unwrap().replacen(
            "\"paused\":false",
            "\"paused\":true",
            1,
        ),
    )
    .unwrap();
    assert!(
        net.fails(&["verify", "--checkpoint", tampered.to_str().unwrap()])
            .contains("content hash")
    );

    // A different state under an index already attested: verify says so, attest refuses to send.
    let mut other = checkpoint::load(&state).unwrap().unwrap().state;
    other.paused = true;
    let forged = net.path("forged.json");
    checkpoint::save(&forged, &other).unwrap();
    let err = net.fails(&["verify", "--checkpoint", forged.to_str().unwrap()]);
    assert!(err.contains("but the chain attests"), "{err}");
    checkpoint::save(&state, &other).unwrap();
    let err = net.fails(&["attest"]);
    assert!(
        err.contains("diverged") && err.contains("Nothing was sent"),
        "{err}"
    );

    // The next checkpoint gets the next index and attests normally.
    std::fs::write(&state, &original).unwrap();
    net.ok(&["run", "--chain", "off", "--fast", "--cycles", "5"]);
    assert!(net.fails(&["verify"]).contains("not attested"));
    net.ok(&["attest"]);
    net.ok(&["verify"]);
}

#[test]
fn every_nth_checkpoint_is_attested_automatically_and_reconciles() {
    let net = Sandbox::new(|c| {
        c["attest_every_checkpoints"] = 2.into();
        c["checkpoint_interval_seconds"] = 1.0.into();
    });
    let out = net.ok(&["run", "--cycles", "40"]);
    assert!(out.contains("attestations: "), "{out}");
    let journal = std::fs::read_to_string(net.reports().join("chain/attestations.jsonl")).unwrap();
    let intents: Vec<serde_json::Value> = journal
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["intent"] == "attest")
        .collect();
    assert!(intents.len() >= 2, "{journal}");
    // The indices are the checkpoints' sequence numbers, strictly increasing.
    let indices: Vec<u64> = intents
        .iter()
        .map(|v| v["index"].as_u64().unwrap())
        .collect();
    assert!(indices.windows(2).all(|w| w[0] < w[1]), "{indices:?}");
    // Every journaled attestation is on chain with the same hash: reconcile finds no drift.
    let report = net.ok(&["reconcile", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let onchain = report["chain"]["attestations"].as_object().unwrap();
    for v in &intents {
        let i = v["index"].as_u64().unwrap().to_string();
        assert_eq!(onchain[&i]["hash"], v["hash"], "checkpoint #{i}");
    }
}

/// A v2 deployment has no CheckpointRegistry (it is ours): `attest` and `verify` say so in one
/// line and exit non-zero, before asking for a key or the chain.
#[test]
fn without_a_checkpoint_registry_attestation_is_off() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    net.ok(&["run", "--chain", "off", "--fast", "--cycles", "3"]);
    let manifest = net.reports().join("devnet/deployments.json");
    let mut v2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(manifest).unwrap()).unwrap();
    assert!(
        v2.as_object_mut()
            .unwrap()
            .remove("checkpointRegistry")
            .is_some()
    );
    let v2_manifest = net.path("v2-deployments.json");
    std::fs::write(&v2_manifest, v2.to_string()).unwrap();
    for command in ["attest", "verify"] {
        let args = [
            command,
            "--rpc-url",
            &net.rpc(),
            "--deployments",
            v2_manifest.to_str().unwrap(),
        ];
        let err = net.fails(&args);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("no checkpointRegistry") && err.contains("attestation is off"),
            "{command}: {err}"
        );
    }
}
