//! One log line per domain event, as JSON written by hand for the events every job produces.
//!
//! serde_json's generic path (a serializer call per field, a scan of every string for escapes)
//! took most of the log thread's time, and at full speed the log thread shares a core with the
//! agents. The bytes are exactly serde_json's: the rare events still go through serde, and a test
//! holds every hand-written event to serde's output.

use crate::domain::amount::Amount;
use crate::domain::events::{DomainEvent, Name};
use crate::domain::job::JobId;
use serde::Serialize;

/// Appends one line per event, `{"timestamp":…,"level":…,"message":…,"context":{…}}` and a
/// newline, all with one timestamp (a cycle's): the start of a line, up to its context, is
/// written once per level and event name and then copied.
pub fn write_lines<'e>(
    out: &mut Vec<u8>,
    timestamp: &str,
    events: impl Iterator<Item = (&'static str, &'e DomainEvent)>,
) {
    let mut starts: Vec<(&'static str, &'static str, Vec<u8>)> = Vec::new();
    for (level, event) in events {
        let name = event.name();
        // Names and levels are static strings, so comparing addresses finds a start made for
        // the same ones (a miss only costs one more start).
        let same =
            |(l, n, _): &&(&str, &str, Vec<u8>)| std::ptr::eq(*l, level) && std::ptr::eq(*n, name);
        let start = match starts.iter().find(same) {
            Some((_, _, start)) => start,
            None => {
                starts.push((level, name, line_start(timestamp, level, name)));
                &starts.last().expect("just pushed").2
            }
        };
        out.extend_from_slice(start);
        context(out, event);
        out.extend_from_slice(b"}\n");
    }
}

fn line_start(timestamp: &str, level: &str, name: &'static str) -> Vec<u8> {
    let mut out = b"{\"timestamp\":".to_vec();
    string(&mut out, timestamp);
    out.extend_from_slice(b",\"level\":");
    string(&mut out, level);
    out.extend_from_slice(b",\"message\":");
    plain(&mut out, name);
    out.extend_from_slice(b",\"context\":");
    out
}

/// The event's fields as a JSON object, in declaration order (what `#[serde(untagged)]` writes).
#[allow(clippy::too_many_lines)] // a table: one arm per hand-written event kind
fn context(out: &mut Vec<u8>, event: &DomainEvent) {
    let mut o = Object::open(out);
    match event {
        DomainEvent::JobPosted {
            job,
            title,
            poster,
            reward,
            deadline_ms,
            parent,
            skills,
            external,
        } => {
            o.job("job", *job);
            o.string("title", title);
            o.string("poster", poster);
            o.amount("reward", *reward);
            o.number("deadline_ms", *deadline_ms);
            o.parent("parent", *parent);
            o.strings("skills", skills.iter().map(String::as_str));
            if let Some(external) = external {
                o.string("external", external);
            }
        }
        DomainEvent::JobAssigned { job, agent, stake } => {
            o.job("job", *job);
            o.string("agent", agent);
            o.amount("stake", *stake);
        }
        DomainEvent::AgentAllocation {
            job,
            agent,
            energy,
            compute,
            cost,
        } => {
            o.job("job", *job);
            o.string("agent", agent);
            o.serde("energy", energy);
            o.serde("compute", compute);
            o.amount("cost", *cost);
        }
        DomainEvent::DelegatedJob {
            parent,
            job,
            agent,
            reward,
        } => {
            o.job("parent", *parent);
            o.job("job", *job);
            o.string("agent", agent);
            o.amount("reward", *reward);
        }
        DomainEvent::JobSubmitted { job, agent, result } => {
            o.job("job", *job);
            o.string("agent", agent);
            if let Some(hash) = result {
                o.string("result", &hash.to_string());
            }
        }
        DomainEvent::ValidationStarted {
            job,
            nonce,
            committee,
            commit_deadline_ms,
            reveal_deadline_ms,
            conflicted,
        } => {
            o.job("job", *job);
            o.number("nonce", u64::from(*nonce));
            o.strings("committee", committee.iter().map(|n: &Name| &**n));
            o.number("commit_deadline_ms", *commit_deadline_ms);
            o.number("reveal_deadline_ms", *reveal_deadline_ms);
            if !conflicted.is_empty() {
                o.strings("conflicted", conflicted.iter().map(|n: &Name| &**n));
            }
        }
        DomainEvent::ValidatorVote {
            job,
            nonce,
            validator,
            approve,
            valid,
        } => {
            o.job("job", *job);
            o.number("nonce", u64::from(*nonce));
            o.string("validator", validator);
            o.boolean("approve", *approve);
            o.boolean("valid", *valid);
        }
        DomainEvent::JobCompleted {
            job,
            agent,
            reward,
            burned,
            approvals,
            rejections,
        } => {
            o.job("job", *job);
            o.string("agent", agent);
            o.amount("reward", *reward);
            o.amount("burned", *burned);
            o.number("approvals", u64::from(*approvals));
            o.number("rejections", u64::from(*rejections));
        }
        DomainEvent::JobFailed {
            job,
            agent,
            reason,
            slashed,
        } => {
            o.job("job", *job);
            match agent {
                Some(agent) => o.string("agent", agent),
                None => o.raw("agent", b"null"),
            }
            o.string("reason", reason);
            o.amount("slashed", *slashed);
        }
        DomainEvent::JobError { job, agent, reason } => {
            o.job("job", *job);
            o.string("agent", agent);
            o.string("reason", reason);
        }
        DomainEvent::ValidatorSlashed {
            job,
            validator,
            fault,
            amount,
        } => {
            o.job("job", *job);
            o.string("validator", validator);
            o.string("fault", fault.name());
            o.amount("amount", *amount);
        }
        // Rare events: serde writes the whole object.
        other => {
            o.out.pop(); // the `{` opened above
            serde_json::to_writer(&mut *o.out, other).expect("events serialize");
            return;
        }
    }
    o.close();
}

/// A JSON object being written: keys and values, commas between them.
pub(crate) struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, first: true }
    }

    pub(crate) fn key(&mut self, key: &'static str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        plain(self.out, key);
        self.out.push(b':');
    }

    pub(crate) fn raw(&mut self, key: &'static str, value: &[u8]) {
        self.key(key);
        self.out.extend_from_slice(value);
    }

    pub(crate) fn string(&mut self, key: &'static str, value: &str) {
        self.key(key);
        string(self.out, value);
    }

    pub(crate) fn number(&mut self, key: &'static str, value: u64) {
        self.raw(key, itoa::Buffer::new().format(value).as_bytes());
    }

    pub(crate) fn job(&mut self, key: &'static str, id: JobId) {
        self.number(key, id.0);
    }

    pub(crate) fn parent(&mut self, key: &'static str, id: Option<JobId>) {
        match id {
            Some(id) => self.job(key, id),
            None => self.raw(key, b"null"),
        }
    }

    /// Amounts are decimal strings (they exceed what JSON numbers carry exactly).
    pub(crate) fn amount(&mut self, key: &'static str, value: Amount) {
        self.key(key);
        self.out.push(b'"');
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value.0).as_bytes());
        self.out.push(b'"');
    }

    pub(crate) fn boolean(&mut self, key: &'static str, value: bool) {
        self.raw(key, if value { b"true" } else { b"false" });
    }

    pub(crate) fn strings<'s>(&mut self, key: &'static str, values: impl Iterator<Item = &'s str>) {
        self.key(key);
        self.out.push(b'[');
        for (i, v) in values.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            string(self.out, v);
        }
        self.out.push(b']');
    }

    /// Floats keep serde_json's formatting (shortest round-trip, `null` when not finite).
    pub(crate) fn serde(&mut self, key: &'static str, value: &impl Serialize) {
        self.key(key);
        serde_json::to_writer(&mut *self.out, value).expect("a value serializes");
    }

    pub(crate) fn close(self) {
        self.out.push(b'}');
    }
}

/// One of our own names (event names, field names): never anything to escape.
fn plain(out: &mut Vec<u8>, s: &'static str) {
    debug_assert!(s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// A JSON string: copied as is when nothing in it needs escaping, else escaped by serde_json.
fn string(out: &mut Vec<u8>, s: &str) {
    // One pass without an early exit, which the compiler turns into vector instructions: most
    // strings (names, titles, timestamps) have nothing to escape.
    let escapes = (s.bytes()).fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !escapes {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("a string serializes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::commit_reveal::{Fault, Sealed};
    use crate::domain::sim::SimSnapshot;
    use alloy_primitives::B256;

    /// One event's line.
    fn write_line(out: &mut Vec<u8>, timestamp: &str, level: &'static str, event: &DomainEvent) {
        write_lines(out, timestamp, std::iter::once((level, event)));
    }

    /// What serde_json writes for the same line.
    fn by_serde(timestamp: &str, level: &str, event: &DomainEvent) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            timestamp: &'a str,
            level: &'a str,
            message: &'a str,
            context: &'a DomainEvent,
        }
        let line = Line {
            timestamp,
            level,
            message: event.name(),
            context: event,
        };
        serde_json::to_string(&line).unwrap() + "\n"
    }

    #[allow(clippy::too_many_lines)] // a table: one value of every event kind
    fn every_event(text: &str) -> Vec<DomainEvent> {
        let name = |s: &str| Name::from(s);
        let job = JobId(u64::MAX);
        vec![
            DomainEvent::JobPosted {
                job,
                title: text.into(),
                poster: name(text),
                reward: Amount(u128::MAX),
                deadline_ms: 1_767_312_000_200,
                parent: Some(JobId(7)),
                skills: vec![text.to_string(), "energy".into()].into(),
                external: Some(format!("chain:{text}")),
            },
            DomainEvent::JobPosted {
                job: JobId(1),
                title: "t".into(),
                poster: name("steward"),
                reward: Amount(0),
                deadline_ms: 0,
                parent: None,
                skills: Vec::<String>::new().into(),
                external: None,
            },
            DomainEvent::JobAssigned {
                job,
                agent: name(text),
                stake: Amount(10_u128.pow(21)),
            },
            DomainEvent::AgentAllocation {
                job,
                agent: name(text),
                energy: 1234.5,
                compute: 1e21,
                cost: Amount(3),
            },
            DomainEvent::AgentAllocation {
                job,
                agent: name("a"),
                energy: 0.0,
                compute: f64::NAN,
                cost: Amount(3),
            },
            DomainEvent::DelegatedJob {
                parent: JobId(1),
                job,
                agent: name(text),
                reward: Amount(5),
            },
            DomainEvent::JobSubmitted {
                job,
                agent: name(text),
                result: None,
            },
            DomainEvent::JobSubmitted {
                job,
                agent: name(text),
                result: Some(alloy_primitives::B256::repeat_byte(0xab)),
            },
            DomainEvent::ValidationStarted {
                job,
                nonce: u32::MAX,
                committee: vec![name(text), name("v2"), name("v3")],
                commit_deadline_ms: 1,
                reveal_deadline_ms: 2,
                conflicted: vec![name(text)],
            },
            DomainEvent::ValidationStarted {
                job,
                nonce: 1,
                committee: vec![name("v2")],
                commit_deadline_ms: 1,
                reveal_deadline_ms: 2,
                conflicted: vec![],
            },
            DomainEvent::ValidationCommitted {
                job,
                nonce: 1,
                validator: name(text),
                commit_hash: B256::repeat_byte(0xab),
                sealed: Some(Sealed {
                    approve: true,
                    salt: B256::ZERO,
                }),
            },
            DomainEvent::ValidatorVote {
                job,
                nonce: 1,
                validator: name(text),
                approve: true,
                valid: false,
            },
            DomainEvent::JobCompleted {
                job,
                agent: name(text),
                reward: Amount(1),
                burned: Amount(2),
                approvals: 3,
                rejections: 0,
            },
            DomainEvent::JobFailed {
                job,
                agent: Some(name(text)),
                reason: text.into(),
                slashed: Amount(9),
            },
            DomainEvent::JobFailed {
                job,
                agent: None,
                reason: "deadline passed".into(),
                slashed: Amount(0),
            },
            DomainEvent::JobError {
                job,
                agent: name(text),
                reason: text.into(),
            },
            DomainEvent::JobCancelled {
                job,
                reason: text.into(),
            },
            DomainEvent::ValidatorSlashed {
                job,
                validator: name(text),
                fault: Fault::MismatchedReveal,
                amount: Amount(11),
            },
            DomainEvent::SimulationUpdate {
                snapshot: SimSnapshot {
                    energy: 1e12,
                    compute: 0.1,
                    gdp: 4.5e11,
                    innovation: 1.12,
                },
                energy_capacity: 1.0,
                compute_capacity: 2.5,
            },
            DomainEvent::Paused {
                source: text.into(),
            },
            DomainEvent::Resumed {
                source: text.into(),
            },
            DomainEvent::ParameterChanged {
                name: text.into(),
                old: "1".into(),
                new: "2".into(),
                source: text.into(),
            },
        ]
    }

    #[test]
    fn every_event_is_written_exactly_as_serde_writes_it() {
        let texts = [
            "StrategicMetaSynth-1",
            "",
            "a \"quoted\" back\\slash",
            "tab\tnew\nline\r\u{1}\u{1f} end",
            "ünïcödé ✓ / ∞",
        ];
        for text in texts {
            for event in every_event(text) {
                let mut ours = Vec::new();
                write_line(&mut ours, "2026-11-28T19:45:02.616Z", "INFO", &event);
                let expected = by_serde("2026-11-28T19:45:02.616Z", "INFO", &event);
                assert_eq!(
                    String::from_utf8(ours).unwrap(),
                    expected,
                    "{} with {text:?}",
                    event.name()
                );
            }
        }
    }

    #[test]
    fn a_batch_is_written_as_its_lines_one_by_one() {
        let events: Vec<DomainEvent> = ["A-1", "B \"2\""]
            .into_iter()
            .flat_map(every_event)
            .collect();
        let level = |i: usize| {
            if i.is_multiple_of(3) {
                "WARNING"
            } else {
                "INFO"
            }
        };
        let mut batch = Vec::new();
        write_lines(
            &mut batch,
            "2026-11-28T19:45:02.616Z",
            events.iter().enumerate().map(|(i, e)| (level(i), e)),
        );
        let mut one_by_one = Vec::new();
        for (i, e) in events.iter().enumerate() {
            write_line(&mut one_by_one, "2026-11-28T19:45:02.616Z", level(i), e);
        }
        assert_eq!(
            String::from_utf8(batch).unwrap(),
            String::from_utf8(one_by_one).unwrap()
        );
    }
}
