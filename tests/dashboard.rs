//! The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core from
//! node_modules): it renders what `/status` says, and its Pause button pauses the running
//! orchestrator. `scripts/test.sh` installs the browser; run `scripts/setup-browser.sh` first when
//! running this test alone.

mod common;

use common::{Sandbox, get, sigterm, wait_for, wait_for_http};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "dashboard-token-51c2";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Chromium and playwright-core, as `scripts/setup-browser.sh` and `scripts/setup.sh` install
/// them (the test installs nothing itself: no apt or npm from inside `cargo test`). `None` when
/// they are missing: the test is then skipped loudly, and in CI, where `CI` is set, it fails.
fn browser() -> Option<PathBuf> {
    let chromium = std::env::var_os("OMEGA_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    let driver = root().join("node_modules/playwright-core/package.json");
    let missing: Vec<String> = [chromium.as_path(), driver.as_path()]
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some(chromium);
    }
    let why = format!(
        "dashboard browser test cannot run: missing {} (run scripts/setup-browser.sh for Debian's chromium, scripts/setup.sh for playwright-core)",
        missing.join(" and ")
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("\n!!!!!!!!!! SKIPPED: {why} !!!!!!!!!!\n");
    None
}

#[test]
fn the_dashboard_shows_the_status_and_its_pause_button_pauses_the_run() {
    let Some(chromium) = browser() else {
        return;
    };
    let sb = Sandbox::new(|_| {}).chain_off();
    let (mut run, port) = sb.spawn_http(&["run"], &[("OMEGA_CONTROL_TOKEN", TOKEN)]);
    wait_for_http(port, Duration::from_secs(30));
    assert_eq!(get(port, "/status").json()["paused"], false);

    let out = Command::new("node")
        .arg(root().join("tests/browser/dashboard.mjs"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(TOKEN)
        .env("OMEGA_CHROMIUM", &chromium)
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"ok\":true"), "{stdout}");

    // The click reached the orchestrator: the API, the control file and the final checkpoint agree.
    wait_for("the run to pause", Duration::from_secs(10), || {
        get(port, "/status").json()["paused"] == true
    });
    let control = std::fs::read_to_string(sb.reports().join("control.json")).unwrap();
    assert!(control.contains("\"source\": \"http\""), "{control}");
    sigterm(&mut run);
    assert!(sb.state().paused, "the checkpoint records the pause");
    assert!(!sb.log().contains(TOKEN), "the token reached the log");
}
