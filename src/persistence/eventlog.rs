//! The JSON-lines log `orchestrator.log`: one object per line with `timestamp` (ISO-8601 UTC),
//! `level`, `message` (the event name) and `context`.
//!
//! Lines are formatted and written on a thread of their own, so the cycle loop never waits for
//! serialization or the disk; the queue is bounded, so a slow disk slows the loop instead of
//! growing memory. `flush` waits until everything sent so far is on disk.

use super::event_json;
use crate::domain::events::DomainEvent;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

enum Msg {
    Events {
        timestamp: String,
        events: Vec<DomainEvent>,
    },
    Line {
        timestamp: String,
        level: &'static str,
        message: &'static str,
        context: serde_json::Value,
    },
    Flush(SyncSender<io::Result<()>>),
}

pub struct EventLog {
    tx: Option<SyncSender<Msg>>,
    writer: Option<JoinHandle<()>>,
    /// Event buffers the writer has emptied, for the engine to fill again.
    spare: Receiver<Vec<DomainEvent>>,
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
        let (tx, rx) = sync_channel(64);
        let (spare_tx, spare) = sync_channel(2);
        let writer = std::thread::Builder::new()
            .name("omega-log".into())
            .spawn(move || write_loop(file, rx, spare_tx))?;
        Ok(EventLog {
            tx: Some(tx),
            writer: Some(writer),
            spare,
        })
    }

    pub fn now() -> String {
        humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
    }

    /// An emptied event buffer to reuse, if the writer has one to give back.
    pub fn spare(&self) -> Vec<DomainEvent> {
        self.spare.try_recv().unwrap_or_default()
    }

    /// Queues one cycle's events.
    pub fn events(&mut self, timestamp: String, events: Vec<DomainEvent>) -> io::Result<()> {
        self.send(Msg::Events { timestamp, events })
    }

    /// A line outside the domain vocabulary (checkpoint, state_saved, state_restored, …).
    pub fn line(
        &mut self,
        level: &'static str,
        message: &'static str,
        context: serde_json::Value,
    ) -> io::Result<()> {
        self.send(Msg::Line {
            timestamp: Self::now(),
            level,
            message,
            context,
        })
    }

    /// Returns once every line queued so far is written and flushed to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        let (ack_tx, ack_rx) = sync_channel(1);
        self.send(Msg::Flush(ack_tx))?;
        ack_rx.recv().map_err(|_| gone())?
    }

    fn send(&self, msg: Msg) -> io::Result<()> {
        self.tx
            .as_ref()
            .ok_or_else(gone)?
            .send(msg)
            .map_err(|_| gone())
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

fn gone() -> io::Error {
    io::Error::other("the log writer stopped (see the error above)")
}

fn write_loop(mut file: File, rx: Receiver<Msg>, spare: SyncSender<Vec<DomainEvent>>) {
    // Each message is formatted into `lines` and written with one call: a cycle's events are
    // about a megabyte, so a BufWriter in between would only copy every byte once more.
    let mut lines = Vec::new();
    let mut failed: Option<io::Error> = None;
    while let Ok(msg) = rx.recv() {
        lines.clear();
        match msg {
            Msg::Events {
                timestamp,
                mut events,
            } => {
                event_json::write_lines(&mut lines, &timestamp, loggable(&events));
                events.clear();
                let _ = spare.try_send(events); // when the engine has enough, it is freed
            }
            Msg::Line {
                timestamp,
                level,
                message,
                context,
            } => write_line(
                &mut lines,
                &Line {
                    timestamp: &timestamp,
                    level,
                    message,
                    context,
                },
            ),
            Msg::Flush(ack) => {
                let _ = ack.send(failed.take().map_or(Ok(()), Err));
                continue;
            }
        };
        if let Err(e) = file.write_all(&lines) {
            tracing::error!("cannot write the event log: {e}");
            failed.get_or_insert(e);
        }
    }
}

/// The events that get a line, each with its level.
fn loggable(events: &[DomainEvent]) -> impl Iterator<Item = (&'static str, &DomainEvent)> {
    // Commitments are opaque until revealed; each `validator_vote` line says whether the reveal
    // matched its commitment, so the log skips the commit lines (sinks still get them).
    let shown = |e: &&DomainEvent| !matches!(e, DomainEvent::ValidationCommitted { .. });
    let level = |e: &DomainEvent| if e.is_warning() { "WARNING" } else { "INFO" };
    events.iter().filter(shown).map(move |e| (level(e), e))
}

fn write_line<C: Serialize>(out: &mut Vec<u8>, line: &Line<'_, C>) {
    serde_json::to_writer(&mut *out, line).expect("a log line serializes");
    out.push(b'\n');
}
