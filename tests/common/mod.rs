//! Helpers shared by the integration tests: a sandbox folder with its own config, reports and
//! devnet, running the real `omega` binary.
//!
//! Ports are never chosen here and handed to a child (another test could take the port in
//! between): the devnet runs with `OMEGA_DEVNET_PORT=0` (anvil takes a free port; its address is
//! read from `reports/devnet/anvil.json`), and `--http 127.0.0.1:0` reports its bound address in
//! `reports/http.addr` (see `spawn_http`).
#![allow(dead_code)]

pub mod levers;

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
    chain_off: bool,
    /// The devnet's deploy-time profile (`friendly`, the default, or `reference`).
    profile: &'static str,
    /// Processes started by `spawn`: killed when the sandbox goes, should a failed test leave
    /// one running (it would hold the test's output pipe open and spin against a dead devnet).
    spawned: std::cell::RefCell<Vec<u32>>,
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
        Sandbox {
            dir,
            chain_off: false,
            profile: "friendly",
            spawned: Default::default(),
        }
    }

    /// The devnet here is deployed with the reference v2 rules (`--profile reference`).
    pub fn reference(mut self) -> Sandbox {
        self.profile = "reference";
        self
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

    /// The devnet's RPC URL, as `omega` recorded it when it started anvil.
    pub fn rpc(&self) -> String {
        let path = self.reports().join("devnet/anvil.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("no devnet here yet ({}: {e})", path.display()));
        let process: serde_json::Value = serde_json::from_str(&text).unwrap();
        process["rpc_url"].as_str().expect("rpc_url").to_string()
    }

    /// `omega ARGS --config … --reports …` with a clean, quiet environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .arg("--config")
            .arg(self.config())
            .arg("--reports")
            .arg(self.reports())
            .env("OMEGA_DEVNET_PORT", "0")
            .env("OMEGA_DEVNET_PROFILE", self.profile)
            .env("OMEGA_STATUS_EVERY", "0")
            .env("OMEGA_LOG_LEVEL", log_level())
            .env_remove("OMEGA_CYCLES")
            .env_remove("OMEGA_OWNER_KEY")
            .env_remove("OMEGA_TARGET_CHAIN")
            .env_remove("OMEGA_CHAIN")
            .env_remove("OMEGA_HTTP")
            .env_remove("OMEGA_CONTROL_TOKEN");
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

    /// Runs and asserts success; returns stderr (where the console log goes: a mirror that
    /// detaches a job says so there, not in `orchestrator.log`, which holds domain events).
    pub fn ok_stderr(&self, args: &[&str]) -> String {
        let out = self.omega(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "omega {args:?} failed:\n{stderr}");
        stderr
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

    /// Starts a long-running command; its stderr goes to `omega.stderr` in the sandbox (appended)
    /// so that a failing test can show it (see `stderr`).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.spawn_env(args, &[])
    }

    /// `spawn` with extra environment variables.
    pub fn spawn_env(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("omega.stderr"))
            .unwrap();
        let child = self
            .command(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        self.spawned.borrow_mut().push(child.id());
        child
    }

    /// `spawn_env` with `--http 127.0.0.1:0` added; returns the port it bound (from
    /// `reports/http.addr`, removed first so that an earlier process's address is not read).
    pub fn spawn_http(&self, args: &[&str], env: &[(&str, &str)]) -> (Child, u16) {
        let file = self.reports().join("http.addr");
        let _ = std::fs::remove_file(&file);
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--http", "127.0.0.1:0"])
            .collect();
        let child = self.spawn_env(&args, env);
        let mut port = None;
        self.wait_for(
            "the bound address in http.addr",
            // Written once the run is set up: on the devnet, after anvil starts and deploys.
            Duration::from_secs(120),
            || {
                port = std::fs::read_to_string(&file).ok().and_then(|a| {
                    let addr: std::net::SocketAddr = a.trim().parse().ok()?;
                    Some(addr.port())
                });
                port.is_some()
            },
        );
        (child, port.expect("waited for"))
    }

    /// The devnet's `txpool_content` and latest block number, as text.
    pub fn txpool(&self) -> String {
        use alloy::providers::{Provider, ProviderBuilder, ext::TxPoolApi};
        let provider = ProviderBuilder::new().connect_http(self.rpc().parse().unwrap());
        runtime().block_on(async {
            let pool = provider.txpool_content().await;
            let block = provider.get_block_number().await;
            format!("block {block:?}, pool {pool:?}")
        })
    }

    /// What spawned commands wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.path("omega.stderr")).unwrap_or_default()
    }

    /// `wait_for`, but a timeout also prints the spawned commands' stderr and the tail of the
    /// chain mirror's journal, so that a failure on CI can be read.
    pub fn wait_for(&self, what: &str, timeout: Duration, f: impl FnMut() -> bool) {
        if !holds_within(timeout, f) {
            self.print_diagnostics();
            panic!("timed out waiting for {what}");
        }
    }

    /// The spawned commands' stderr, the mirror journal's tail, the devnet's pool and anvil's
    /// warnings.
    fn print_diagnostics(&self) {
        let journal = self.journal();
        let tail = &journal[journal.len().saturating_sub(40)..];
        eprintln!("--- omega stderr ---\n{}", self.stderr());
        eprintln!("--- chain mirror journal (last {} lines) ---", tail.len());
        tail.iter().for_each(|l| eprintln!("{l}"));
        if !self.reports().join("devnet/anvil.json").exists() {
            return;
        }
        eprintln!("--- devnet txpool ---\n{}", self.txpool());
        let anvil =
            std::fs::read_to_string(self.reports().join("devnet/anvil.log")).unwrap_or_default();
        eprintln!("--- anvil.log warnings ---");
        anvil
            .lines()
            .filter(|l| {
                let l = l.to_lowercase();
                l.contains("warn") || l.contains("error") || l.contains("invalid")
            })
            .for_each(|l| eprintln!("{l}"));
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
    /// Kills what `spawn` started and is still running here, then stops this sandbox's devnet
    /// (whose folder stays, when a test failed and `OMEGA_TEST_KEEP` is set).
    fn drop(&mut self) {
        let dir = self.dir.path().to_string_lossy().into_owned();
        for pid in self.spawned.borrow().iter() {
            // Only if that pid is still one of ours (pids get reused).
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&dir) {
                unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
            }
        }
        if self.reports().join("devnet/anvil.json").exists() {
            let _ = self.command(&["devnet", "down"]).output();
        }
        if std::thread::panicking() && std::env::var_os("OMEGA_TEST_KEEP").is_some() {
            // OMEGA_TEST_KEEP: a failed test's folder (reports, journal, console logs) stays.
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
            eprintln!("sandbox kept: {}", kept.keep().display());
        }
    }
}

/// The console log level of the commands run: warnings, unless `OMEGA_TEST_LOG_LEVEL` says
/// otherwise (e.g. `warn,omega::chain=debug` to read a failing chaos run).
fn log_level() -> String {
    std::env::var("OMEGA_TEST_LOG_LEVEL").unwrap_or_else(|_| "warn".into())
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
pub fn wait_for(what: &str, timeout: Duration, f: impl FnMut() -> bool) {
    assert!(holds_within(timeout, f), "timed out waiting for {what}");
}

/// Polls `f` every 20 ms; false if it still does not hold after `timeout`.
fn holds_within(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !f() {
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
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

/// The seed of a test's random choices: `OMEGA_TEST_SEED` when set, else a fresh one. Printed
/// either way, so that a failure can be replayed with `OMEGA_TEST_SEED=<seed> cargo test …`.
pub fn test_seed(test: &str) -> u64 {
    let seed = match std::env::var("OMEGA_TEST_SEED") {
        Ok(s) => s.parse().expect("OMEGA_TEST_SEED is a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    };
    eprintln!("{test}: seed {seed} (replay with OMEGA_TEST_SEED={seed})");
    seed
}

/// A number in `range`, drawn from `seed` (the same seed gives the same number).
pub fn seeded_pick(seed: u64, range: std::ops::Range<u64>) -> u64 {
    use rand::{Rng, SeedableRng};
    rand_chacha::ChaCha8Rng::seed_from_u64(seed).random_range(range)
}

/// A response from the tiny HTTP/1.1 client below.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end. Enough
/// for the status API, and no HTTP client dependency.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    try_http(port, method, path, headers)
        .unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"))
}

pub fn try_http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    try_http_body(port, method, path, headers, "")
}

/// `http` with a request body (sent as `application/json`).
pub fn http_body(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    try_http_body(port, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"))
}

pub fn try_http_body(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Response> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(Response {
        status,
        head: head.to_string(),
        body,
    })
}

pub fn get(port: u16, path: &str) -> Response {
    http(port, "GET", path, &[])
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Waits until the status API on `port` answers `/healthz`. The port is bound before the
/// orchestrator starts (and, on the devnet, before anvil is up) but answers only once it runs.
pub fn wait_for_http(port: u16, timeout: Duration) {
    wait_for("the status API", timeout, || {
        try_http(port, "GET", "/healthz", &[]).is_ok_and(|r| r.status == 200)
    });
}

/// The on-chain job `id`: (employer, agent, v2 state).
pub async fn job_state(
    rpc: &str,
    d: &Deployment,
    id: alloy::primitives::U256,
) -> (alloy::primitives::Address, alloy::primitives::Address, u8) {
    let provider = alloy::providers::ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let registry = omega::chain::bindings::JobRegistry::new(d.job_registry, &provider);
    let job = registry.jobs(id).call().await.unwrap();
    let meta = registry
        .decodeJobMetadata(job.packedMetadata)
        .call()
        .await
        .unwrap();
    (job.employer, job.agent, meta.state)
}

/// The timestamp of the latest block (the chain's clock, which the devnet may have moved on).
pub async fn chain_time(provider: &impl alloy::providers::Provider) -> u64 {
    let block = provider
        .get_block_by_number(Default::default())
        .await
        .unwrap();
    block.expect("a latest block").header.timestamp
}
