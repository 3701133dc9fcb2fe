//! Atomic owner edits of the config file: one key changes, every other key stays as it was.

use crate::persistence::atomic::write_atomic;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Checks that setting every (pointer, value) gives a valid config, without writing anything.
pub fn check_values(path: &Path, edits: &[(&str, serde_json::Value)]) -> Result<(), EditError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| EditError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| EditError::Parse {
            path: shown.clone(),
            source,
        })?;
    for (pointer, value) in edits {
        *doc.pointer_mut(pointer)
            .ok_or_else(|| EditError::Invalid(format!("{shown} has no key {pointer}")))? =
            value.clone();
    }
    let config: super::Config =
        serde_json::from_value(doc).map_err(|e| EditError::Invalid(format!("{shown}: {e}")))?;
    config
        .validate()
        .map_err(|e| EditError::Invalid(format!("{shown}: {e}")))
}

/// Sets `pointer` (e.g. `/validators/stake_ratio`) to `value`, validates the whole resulting
/// config, and only then replaces the file atomically. Returns the previous value.
pub fn set_value(
    path: &Path,
    pointer: &str,
    value: serde_json::Value,
) -> Result<serde_json::Value, EditError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| EditError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| EditError::Parse {
            path: shown.clone(),
            source,
        })?;
    let slot = doc
        .pointer_mut(pointer)
        .ok_or_else(|| EditError::Invalid(format!("{shown} has no key {pointer}")))?;
    let old = std::mem::replace(slot, value);
    let config: super::Config = serde_json::from_value(doc.clone())
        .map_err(|e| EditError::Invalid(format!("{shown}: {e}")))?;
    config
        .validate()
        .map_err(|e| EditError::Invalid(format!("{shown}: {e}")))?;
    let mut out = serde_json::to_string_pretty(&doc).expect("JSON value serializes");
    out.push('\n');
    write_atomic(path, out.as_bytes()).map_err(|source| EditError::Write {
        path: shown,
        source,
    })?;
    Ok(old)
}
