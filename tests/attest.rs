//! `omega attest` / `omega verify` against a real anvil devnet.

use omega::persistence::checkpoint;
use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_omega");

struct Net {
    dir: tempfile::TempDir,
    port: u16,
}

impl Net {
    fn omega(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(self.dir.path().join("config.json"))
            .arg("--reports")
            .arg(self.reports())
            .env("OMEGA_DEVNET_PORT", self.port.to_string())
            .env("OMEGA_LOG_LEVEL", "warn")
            .env("OMEGA_STATUS_EVERY", "0")
            .env_remove("OMEGA_OWNER_KEY")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.omega(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.omega(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn reports(&self) -> PathBuf {
        self.dir.path().join("reports")
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = self.omega(&["devnet", "down"]);
    }
}

#[test]
fn attest_then_verify_and_fail_closed_on_divergence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        include_str!("../config/default_config.json"),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let net = Net { dir, port };
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
    let tampered = dir_file(&net, "tampered.json");
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
    let forged = dir_file(&net, "forged.json");
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

fn dir_file(net: &Net, name: &str) -> PathBuf {
    net.dir.path().join(name)
}
