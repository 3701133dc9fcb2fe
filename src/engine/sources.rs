//! Built-in input sources: the steward's control file (pause/resume) and the config file
//! (owner parameter changes), both watched so a running orchestrator reacts within one cycle.

use crate::config::Config;
use crate::domain::events::ExternalInput;
use crate::domain::governance::Params;
use crate::persistence::control::{self, Control};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Cheap change detection: a file is re-read only when its mtime or length changed.
#[derive(Default)]
struct Stamp(Option<(SystemTime, u64)>);

impl Stamp {
    fn changed(&mut self, path: &Path) -> bool {
        let now = std::fs::metadata(path)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        let changed = now != self.0;
        self.0 = now;
        changed
    }
}

pub struct ControlWatcher {
    path: PathBuf,
    stamp: Stamp,
}

impl ControlWatcher {
    pub fn new(path: PathBuf) -> Self {
        ControlWatcher {
            path,
            stamp: Stamp::default(),
        }
    }

    /// A control request newer than `applied_seq`, if the file holds one.
    pub fn poll(&mut self, applied_seq: u64) -> Option<Control> {
        if !self.stamp.changed(&self.path) {
            return None;
        }
        match control::read(&self.path) {
            Ok(Some(c)) if c.seq > applied_seq => Some(c),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
        }
    }
}

pub struct ConfigWatcher {
    path: PathBuf,
    stamp: Stamp,
    current: Params,
}

impl ConfigWatcher {
    pub fn new(path: PathBuf, config: &Config) -> Self {
        let mut stamp = Stamp::default();
        stamp.changed(&path);
        ConfigWatcher {
            path,
            stamp,
            current: config.params(),
        }
    }

    /// Parameter changes between the last good config and the file as it is now.
    pub fn poll(&mut self) -> Vec<ExternalInput> {
        if !self.stamp.changed(&self.path) {
            return Vec::new();
        }
        let next = match Config::load(&self.path) {
            Ok(c) => c.params(),
            Err(e) => {
                tracing::warn!("ignoring config change: {e}");
                return Vec::new();
            }
        };
        let changes = self
            .current
            .changes_to(&next)
            .into_iter()
            .map(|(name, value)| ExternalInput::SetParameter {
                name: name.to_string(),
                value,
                source: "config".into(),
            })
            .collect();
        self.current = next;
        changes
    }
}
