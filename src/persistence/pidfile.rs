//! `omega.pid` in the reports folder: one running orchestrator per folder, and a way for the
//! console commands to tell whether one is running.

use std::path::Path;

/// The pid of a live orchestrator using this folder, if any.
pub fn running(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    alive(pid).then_some(pid)
}

fn alive(pid: u32) -> bool {
    // Signal 0 checks existence without delivering anything.
    pid != 0 && unsafe { libc::kill(pid as libc::pid_t, 0) } == 0
}

/// Claims the folder for this process; fails when another live process holds it.
pub fn claim(path: &Path) -> Result<PidGuard, String> {
    if let Some(pid) = running(path)
        && pid != std::process::id()
    {
        return Err(format!(
            "another orchestrator (pid {pid}) is running on this reports folder ({})",
            path.display()
        ));
    }
    std::fs::write(path, std::process::id().to_string())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(PidGuard {
        path: path.to_path_buf(),
    })
}

pub struct PidGuard {
    path: std::path::PathBuf,
}

impl Drop for PidGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
