//! The "http" event sink: serializes each domain event once and broadcasts it to every
//! `/events` client. It never holds the engine back: with no client, or a slow one, events are
//! simply dropped for that client.

use super::state::StreamEvent;
use crate::domain::events::DomainEvent;
use crate::engine::seams::EventSink;
use serde_json::json;
use tokio::sync::broadcast;

pub struct HttpSink {
    events: broadcast::Sender<StreamEvent>,
}

impl HttpSink {
    pub fn new(events: broadcast::Sender<StreamEvent>) -> HttpSink {
        HttpSink { events }
    }
}

impl EventSink for HttpSink {
    fn name(&self) -> &str {
        "http"
    }

    fn deliver(&mut self, cycle: u64, now_ms: u64, events: &[DomainEvent]) -> eyre::Result<()> {
        if self.events.receiver_count() == 0 {
            return Ok(());
        }
        for e in events {
            let json = json!({"event": e.name(), "cycle": cycle, "time_ms": now_ms, "data": e});
            // A send error only means every client left in the meantime.
            let _ = self.events.send(StreamEvent {
                name: e.name().into(),
                json: json.to_string().into(),
            });
        }
        Ok(())
    }
}
