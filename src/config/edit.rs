//! Atomic owner edits of the config file: the named keys change, every other key stays as it was.

use crate::persistence::atomic::write_atomic;
use serde_json::Value;
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

/// The config document with `edits` (JSON pointer, value) applied and the whole result
/// validated, plus the values they replace. Nothing is written.
fn edited(path: &Path, edits: &[(&str, Value)]) -> Result<(Value, Vec<Value>), EditError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| EditError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut doc: Value = serde_json::from_str(&text).map_err(|source| EditError::Parse {
        path: shown.clone(),
        source,
    })?;
    let mut old = Vec::with_capacity(edits.len());
    for (pointer, value) in edits {
        let slot = doc
            .pointer_mut(pointer)
            .ok_or_else(|| EditError::Invalid(format!("{shown} has no key {pointer}")))?;
        old.push(std::mem::replace(slot, value.clone()));
    }
    let config: super::Config = serde_json::from_value(doc.clone())
        .map_err(|e| EditError::Invalid(format!("{shown}: {e}")))?;
    config
        .validate()
        .map_err(|e| EditError::Invalid(format!("{shown}: {e}")))?;
    Ok((doc, old))
}

/// Checks that the edits give a valid config, without writing anything.
pub fn check_values(path: &Path, edits: &[(&str, Value)]) -> Result<(), EditError> {
    edited(path, edits).map(|_| ())
}

/// Applies every edit in one atomic replacement of the file, after validating the result.
/// Returns the previous values, in order.
pub fn set_values(path: &Path, edits: &[(&str, Value)]) -> Result<Vec<Value>, EditError> {
    let (doc, old) = edited(path, edits)?;
    let mut out = serde_json::to_string_pretty(&doc).expect("JSON value serializes");
    out.push('\n');
    write_atomic(path, out.as_bytes()).map_err(|source| EditError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(old)
}
