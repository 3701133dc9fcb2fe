//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::process::Child;
use std::time::{Duration, Instant};

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
