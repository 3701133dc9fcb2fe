//! Helpers shared by the integration tests: a sandbox folder with its own config, reports and
//! devnet port, running the real `omega` binary.
#![allow(dead_code)]

use omega::chain::manifest::Deployment;
use omega::domain::job::Job;
use omega::domain::world::WorldState;
use omega::persistence::{archive, checkpoint};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_omega");

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// A free loopback port for this sandbox's devnet.
    pub port: u16,
    chain_off: bool,
}

impl Sandbox {
    /// A temp folder with a copy of the default config, edited by `tweak`.
    pub fn new(tweak: impl FnOnce(&mut serde_json::Value)) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg: serde_json::Value =
            serde_json::from_str(include_str!("../../config/default_config.json")).unwrap();
        tweak(&mut cfg);
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::to_string_pretty(&cfg).unwrap() + "\n",
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Sandbox {
            dir,
            port,
            chain_off: false,
        }
    }

    /// `omega run` here mirrors to no chain (OMEGA_CHAIN=off).
    pub fn chain_off(mut self) -> Sandbox {
        self.chain_off = true;
        self
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    pub fn reports(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn rpc(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `omega ARGS --config … --reports …` with a clean, quiet environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .arg("--config")
            .arg(self.config())
            .arg("--reports")
            .arg(self.reports())
            .env("OMEGA_DEVNET_PORT", self.port.to_string())
            .env("OMEGA_STATUS_EVERY", "0")
            .env("OMEGA_LOG_LEVEL", "warn")
            .env_remove("OMEGA_CYCLES")
            .env_remove("OMEGA_OWNER_KEY")
            .env_remove("OMEGA_TARGET_CHAIN")
            .env_remove("OMEGA_CHAIN");
        if self.chain_off {
            cmd.env("OMEGA_CHAIN", "off");
        }
        cmd
    }

    pub fn omega(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn omega_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        success(&self.omega(args))
    }

    /// Runs and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.omega(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    pub fn state(&self) -> WorldState {
        checkpoint::load(&self.reports().join("orchestrator_state.json"))
            .unwrap()
            .expect("a checkpoint")
            .state
    }

    pub fn archived(&self) -> Vec<Job> {
        archive::read_all(&self.reports().join("jobs-archive.jsonl")).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.reports().join("orchestrator.log")).unwrap_or_default()
    }

    pub fn config_json(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.config()).unwrap()).unwrap()
    }

    pub fn deployment(&self) -> Deployment {
        Deployment::load(&self.reports().join("devnet/deployments.json")).unwrap()
    }

    /// The chain mirror's journal, one JSON value per line.
    pub fn journal(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.reports().join("chain/mirror.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Sandbox {
    /// Stops a devnet this sandbox started, if any.
    fn drop(&mut self) {
        if self.reports().join("devnet/anvil.json").exists() {
            let _ = self.command(&["devnet", "down"]).output();
        }
    }
}

/// Asserts that a finished command succeeded; returns its stdout.
pub fn success(out: &Output) -> String {
    assert!(
        out.status.success(),
        "omega failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `f` every 20 ms until it holds; fails the test after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM, then the orchestrator must exit cleanly (it writes its final checkpoint first).
pub fn sigterm(child: &mut Child) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(
        child.wait().unwrap().success(),
        "orchestrator exits cleanly on SIGTERM"
    );
}

/// A tokio runtime for reading the chain from a synchronous test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
