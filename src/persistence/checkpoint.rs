//! The checkpoint: `orchestrator_state.json`, with a schema version and a content hash.
//!
//! The file is `{"schema_version":1,"content_hash":"0x…","state":{…}}`. The content hash is
//! keccak-256 of the exact bytes of `state` as written: compact JSON, struct fields in schema
//! order, every map ordered by key, amounts as decimal strings. Those bytes are the canonical form
//! the chain side attests; `omega verify` (or anyone) recomputes the hash from the file alone.
//! The previous good file is kept as `.bak`.

use super::atomic::{Staged, sibling, stage};
use crate::domain::world::WorldState;
use alloy_primitives::{B256, keccak256};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fs;
use std::path::{Path, PathBuf};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Deserialize)]
struct Envelope<'a> {
    schema_version: u32,
    content_hash: String,
    #[serde(borrow)]
    state: &'a RawValue,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(
        "checkpoint {path} cannot be used: {reason}.\n  Nothing was changed. To resume from the previous good checkpoint, run again with --from-backup \
         (it reads {backup}); to start from scratch, move {path} away."
    )]
    Corrupt {
        path: PathBuf,
        backup: PathBuf,
        reason: String,
    },
    #[error("cannot read checkpoint {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write checkpoint {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A checkpoint as read from disk.
#[derive(Debug)]
pub struct Loaded {
    pub state: WorldState,
    pub hash: B256,
    pub bytes: usize,
}

/// The canonical bytes of a state and their keccak-256.
pub fn canonical(state: &WorldState) -> (Vec<u8>, B256) {
    let bytes = serde_json::to_vec(state).expect("world state serializes");
    let hash = keccak256(&bytes);
    (bytes, hash)
}

/// Writes the checkpoint atomically, keeping the previous file as `.bak`. Returns (hash, bytes).
pub fn save(path: &Path, state: &WorldState) -> Result<(B256, usize), CheckpointError> {
    encode(state).write(path)
}

/// A checkpoint file's bytes, ready to be written.
pub struct Encoded {
    file: Vec<u8>,
    hash: B256,
}

/// Encodes `state` as the checkpoint file (the part of `save` that is CPU, not disk).
pub fn encode(state: &WorldState) -> Encoded {
    let (body, hash) = canonical(state);
    let mut file = Vec::with_capacity(body.len() + 128);
    file.extend_from_slice(
        format!("{{\"schema_version\":{SCHEMA_VERSION},\"content_hash\":\"{hash}\",\"state\":")
            .as_bytes(),
    );
    file.extend_from_slice(&body);
    file.extend_from_slice(b"}\n");
    Encoded { file, hash }
}

impl Encoded {
    /// Writes the file atomically, keeping the previous one as `.bak`. Returns (hash, bytes).
    pub fn write(self, path: &Path) -> Result<(B256, usize), CheckpointError> {
        self.stage(path)?.place()
    }

    /// Writes and fsyncs the file beside its place (see `atomic::Staged`).
    pub fn stage(self, path: &Path) -> Result<StagedCheckpoint, CheckpointError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| write_error(path, e))?;
        }
        let staged = stage(path, &self.file).map_err(|e| write_error(path, e))?;
        Ok(StagedCheckpoint {
            staged,
            path: path.to_path_buf(),
            hash: self.hash,
            bytes: self.file.len(),
        })
    }
}

/// A checkpoint on disk beside its place, not yet the one a restart loads.
pub struct StagedCheckpoint {
    staged: Staged,
    path: PathBuf,
    hash: B256,
    bytes: usize,
}

impl StagedCheckpoint {
    /// Keeps the current checkpoint as `.bak` and puts this one in its place.
    /// Returns (hash, bytes).
    pub fn place(self) -> Result<(B256, usize), CheckpointError> {
        let path = &self.path;
        if path.exists() {
            let staged = sibling(path, ".bak.tmp");
            let _ = fs::remove_file(&staged);
            fs::hard_link(path, &staged).map_err(|e| write_error(path, e))?;
            fs::rename(&staged, backup_path(path)).map_err(|e| write_error(path, e))?;
        }
        self.staged.place().map_err(|e| write_error(path, e))?;
        Ok((self.hash, self.bytes))
    }
}

fn write_error(path: &Path, source: std::io::Error) -> CheckpointError {
    CheckpointError::Write {
        path: path.into(),
        source,
    }
}

pub fn backup_path(path: &Path) -> PathBuf {
    sibling(path, ".bak")
}

/// Reads and verifies a checkpoint; `None` when there is none.
pub fn load(path: &Path) -> Result<Option<Loaded>, CheckpointError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CheckpointError::Read {
                path: path.into(),
                source,
            });
        }
    };
    let (envelope, hash) = verified(path, &bytes)?;
    let state = serde_json::from_str(envelope.state.get())
        .map_err(|e| corrupt(path, format!("state does not fit the schema ({e})")))?;
    Ok(Some(Loaded {
        state,
        hash,
        bytes: bytes.len(),
    }))
}

/// Verifies a checkpoint file's hash without building the state; returns the hash.
pub fn verify_file(path: &Path) -> Result<B256, CheckpointError> {
    let bytes = fs::read(path).map_err(|source| CheckpointError::Read {
        path: path.into(),
        source,
    })?;
    verified(path, &bytes).map(|(_, hash)| hash)
}

fn verified<'a>(path: &Path, bytes: &'a [u8]) -> Result<(Envelope<'a>, B256), CheckpointError> {
    let envelope: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(path, format!("not valid checkpoint JSON ({e})")))?;
    if envelope.schema_version != SCHEMA_VERSION {
        return Err(corrupt(
            path,
            format!(
                "schema version {} is not the supported {SCHEMA_VERSION}",
                envelope.schema_version
            ),
        ));
    }
    let hash = keccak256(envelope.state.get().as_bytes());
    if hash.to_string() != envelope.content_hash {
        return Err(corrupt(
            path,
            format!(
                "content hash {} does not match its content ({hash})",
                envelope.content_hash
            ),
        ));
    }
    Ok((envelope, hash))
}

fn corrupt(path: &Path, reason: String) -> CheckpointError {
    CheckpointError::Corrupt {
        path: path.into(),
        backup: backup_path(path),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> WorldState {
        crate::domain::world::World::genesis(&crate::domain::setup::sample(), 1, 0)
            .0
            .state
    }

    #[test]
    fn round_trips_and_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let (h1, _) = save(&path, &state()).unwrap();
        let mut second = state();
        second.cycle = 9;
        let (h2, _) = save(&path, &second).unwrap();
        let loaded = load(&path).unwrap().unwrap();
        assert_eq!((loaded.state, loaded.hash), (second, h2));
        assert_eq!(verify_file(&backup_path(&path)).unwrap(), h1);
        assert_eq!(
            canonical(&state()).1,
            h1,
            "the hash is over the canonical bytes"
        );
    }

    #[test]
    fn truncation_and_tampering_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        save(&path, &state()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, &text[..text.len() - 10]).unwrap();
        assert!(
            load(&path)
                .unwrap_err()
                .to_string()
                .contains("--from-backup")
        );
        fs::write(&path, text.replacen("\"cycle\":0", "\"cycle\":1", 1)).unwrap();
        assert!(
            load(&path)
                .unwrap_err()
                .to_string()
                .contains("content hash")
        );
        assert!(load(&dir.path().join("none.json")).unwrap().is_none());
    }
}
