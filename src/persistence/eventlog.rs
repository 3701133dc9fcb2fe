//! The JSON-lines log `orchestrator.log`: one object per line with `timestamp` (ISO-8601 UTC),
//! `level`, `message` (the event name) and `context`.

use crate::domain::events::DomainEvent;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

pub struct EventLog {
    out: BufWriter<File>,
}

#[derive(Serialize)]
struct Line<'a, C: Serialize> {
    timestamp: &'a str,
    level: &'a str,
    message: &'a str,
    context: C,
}

impl EventLog {
    pub fn open(path: &Path) -> io::Result<EventLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(EventLog { out: BufWriter::with_capacity(1 << 20, file) })
    }

    pub fn now() -> String {
        humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
    }

    pub fn event(&mut self, timestamp: &str, event: &DomainEvent) -> io::Result<()> {
        let level = if event.is_warning() { "WARNING" } else { "INFO" };
        self.line(timestamp, level, event.name(), event)
    }

    /// A line outside the domain vocabulary (checkpoint, state_saved, state_restored, …).
    pub fn line<C: Serialize>(&mut self, timestamp: &str, level: &str, message: &str, context: C) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &Line { timestamp, level, message, context })?;
        self.out.write_all(b"\n")
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
