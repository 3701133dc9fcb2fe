//! The checkpoint: `orchestrator_state.json`, with a schema version and a content hash.
//!
//! The hash is keccak-256 of the canonical JSON of `state` (object keys sorted, no whitespace);
//! the chain side attests it. The previous good file is kept as `.bak`.

use super::atomic::{sibling, sync_dir, write_atomic};
use crate::domain::world::WorldState;
use alloy_primitives::{B256, keccak256};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope {
    schema_version: u32,
    content_hash: String,
    state: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(
        "checkpoint {path} cannot be used: {reason}.\n  Nothing was changed. To resume from the previous good checkpoint, run again with --from-backup \
         (it reads {backup}); to start from scratch, move {path} away."
    )]
    Corrupt { path: PathBuf, backup: PathBuf, reason: String },
    #[error("cannot read checkpoint {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write checkpoint {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// A checkpoint as read from disk.
pub struct Loaded {
    pub state: WorldState,
    pub hash: B256,
    pub bytes: usize,
}

/// keccak-256 of the canonical JSON of a state value.
pub fn content_hash(state: &serde_json::Value) -> B256 {
    keccak256(serde_json::to_vec(state).expect("JSON value serializes"))
}

/// Writes the checkpoint atomically, keeping the previous file as `.bak`. Returns (hash, bytes).
pub fn save(path: &Path, state: &WorldState) -> Result<(B256, usize), CheckpointError> {
    let write_err = |source| CheckpointError::Write { path: path.into(), source };
    // serde_json's default map is ordered by key, so this value serializes canonically.
    let value = serde_json::to_value(state).expect("world state serializes");
    let hash = content_hash(&value);
    let envelope = Envelope { schema_version: SCHEMA_VERSION, content_hash: hash.to_string(), state: value };
    let bytes = serde_json::to_vec(&envelope).expect("envelope serializes");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(write_err)?;
    }
    if path.exists() {
        let staged = sibling(path, ".bak.tmp");
        let _ = fs::remove_file(&staged);
        fs::hard_link(path, &staged).map_err(write_err)?;
        fs::rename(&staged, backup_path(path)).map_err(write_err)?;
    }
    write_atomic(path, &bytes).map_err(write_err)?;
    sync_dir(path).map_err(write_err)?;
    Ok((hash, bytes.len()))
}

pub fn backup_path(path: &Path) -> PathBuf {
    sibling(path, ".bak")
}

/// Reads and verifies a checkpoint; `None` when there is none.
pub fn load(path: &Path) -> Result<Option<Loaded>, CheckpointError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CheckpointError::Read { path: path.into(), source }),
    };
    let corrupt = |reason: String| CheckpointError::Corrupt { path: path.into(), backup: backup_path(path), reason };
    let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not valid checkpoint JSON ({e})")))?;
    if envelope.schema_version != SCHEMA_VERSION {
        return Err(corrupt(format!("schema version {} is not the supported {SCHEMA_VERSION}", envelope.schema_version)));
    }
    let hash = content_hash(&envelope.state);
    if hash.to_string() != envelope.content_hash {
        return Err(corrupt(format!("content hash {} does not match its content ({hash})", envelope.content_hash)));
    }
    let state = serde_json::from_value(envelope.state).map_err(|e| corrupt(format!("state does not fit the schema ({e})")))?;
    Ok(Some(Loaded { state, hash, bytes: bytes.len() }))
}

/// Verifies a checkpoint file's hash without building the state; returns the hash.
pub fn verify_file(path: &Path) -> Result<B256, CheckpointError> {
    let bytes = fs::read(path).map_err(|source| CheckpointError::Read { path: path.into(), source })?;
    let corrupt = |reason: String| CheckpointError::Corrupt { path: path.into(), backup: backup_path(path), reason };
    let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not valid checkpoint JSON ({e})")))?;
    let hash = content_hash(&envelope.state);
    if hash.to_string() != envelope.content_hash {
        return Err(corrupt(format!("content hash {} does not match its content ({hash})", envelope.content_hash)));
    }
    Ok(hash)
}
