//! The steward's control file (`control.json`): pause and resume requests for a running (or the
//! next) orchestrator. Each request has a higher sequence number; the orchestrator applies a
//! request once and records its number in the checkpoint, so it persists across restarts.

use super::atomic::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    pub seq: u64,
    pub paused: bool,
    pub requested_at: String,
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control file {path} is unreadable ({reason}); delete it and issue the command again")]
    Corrupt { path: String, reason: String },
    #[error("cannot write control file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

pub fn read(path: &Path) -> Result<Option<Control>, ControlError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ControlError::Corrupt {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ControlError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Records a new pause/resume request with the next sequence number.
pub fn request(path: &Path, paused: bool, source: &str) -> Result<Control, ControlError> {
    let seq = read(path)?.map(|c| c.seq).unwrap_or(0) + 1;
    let control = Control {
        seq,
        paused,
        requested_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        source: source.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ControlError::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    let bytes = serde_json::to_vec_pretty(&control).expect("control serializes");
    write_atomic(path, &bytes).map_err(|source| ControlError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(control)
}
