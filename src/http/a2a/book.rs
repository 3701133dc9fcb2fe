//! The tasks this process was sent, and how a task meets its job.
//!
//! A task's job is posted through the engine's input seam (`A2aSource`), so its id is known only
//! once the cycle that takes the input has run: the job carries the reference `a2a:<task id>`
//! (its origin, kept in checkpoints and the archive), and `A2aSink` notes the id from the
//! `JobPosted` event. The source polls at the start of a cycle and the sink's `tick` runs at its
//! end, so an input taken without a `JobPosted` by then was refused by the rules.

use super::wire::Message;
use crate::domain::events::{DomainEvent, ExternalInput};
use crate::domain::job::JobId;
use crate::engine::seams::{EventSink, InputSource};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Prefix of the job reference (`JobOrigin::External`) of a job posted as an A2A task.
pub const REFERENCE_PREFIX: &str = "a2a:";

pub fn reference(task_id: &str) -> String {
    format!("{REFERENCE_PREFIX}{task_id}")
}

/// One task sent to this process.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    pub context_id: String,
    /// The message that asked for it (the task's history).
    pub message: Message,
    /// The engine's job, once posted.
    pub job: Option<JobId>,
    /// The input was handed to the engine.
    pub taken: bool,
    /// The rules refused the job.
    pub refused: bool,
    /// The validators' revealed votes on the job, every round.
    pub votes: Vec<Vote>,
    /// (approvals, rejections) of the round that completed it.
    pub tally: Option<(u32, u32)>,
    /// Where a `CancelTask` stands.
    pub cancel: Cancel,
}

/// A task's cancellation: asked for, handed to the engine, then done or refused by the rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cancel {
    #[default]
    None,
    /// Queued for the next cycle.
    Asked,
    /// Handed to the engine this cycle.
    Taken,
    /// The job was cancelled (or the task withdrawn before its job was posted).
    Done,
    /// The rules refused it (an agent had taken the job by then).
    Refused,
}

impl TaskRecord {
    pub fn new(context_id: String, message: Message) -> TaskRecord {
        TaskRecord {
            context_id,
            message,
            job: None,
            taken: false,
            refused: false,
            votes: Vec::new(),
            tally: None,
            cancel: Cancel::None,
        }
    }
}

/// One revealed vote, for the verdict (a job's round is gone once it settles).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Vote {
    pub validator: String,
    pub approve: bool,
    pub round: u32,
}

#[derive(Default)]
pub struct Book {
    tasks: HashMap<String, TaskRecord>,
    /// Task ids by job, once posted.
    by_job: HashMap<JobId, String>,
    queue: Vec<(String, ExternalInput)>,
}

pub type SharedBook = Arc<Mutex<Book>>;

impl Book {
    /// Records a task and queues its job for the next cycle.
    pub fn submit(&mut self, id: String, record: TaskRecord, input: ExternalInput) {
        self.tasks.insert(id.clone(), record);
        self.queue.push((id, input));
    }

    pub fn get(&self, id: &str) -> Option<TaskRecord> {
        self.tasks.get(id).cloned()
    }

    /// Withdraws task `id` if its job is still queued (not handed to the engine): true if so.
    pub fn withdraw(&mut self, id: &str) -> bool {
        let before = self.queue.len();
        self.queue.retain(|(task, input)| {
            !(task == id && matches!(input, ExternalInput::AdoptJob { .. }))
        });
        let withdrawn = self.queue.len() < before;
        if withdrawn && let Some(t) = self.tasks.get_mut(id) {
            t.cancel = Cancel::Done;
        }
        withdrawn
    }

    /// Queues the cancellation of task `id`'s job `job` for the next cycle.
    pub fn ask_cancel(&mut self, id: &str, job: JobId) {
        let Some(t) = self.tasks.get_mut(id) else {
            return;
        };
        t.cancel = Cancel::Asked;
        let input = ExternalInput::CancelJob {
            job,
            reference: reference(id),
        };
        self.queue.push((id.to_string(), input));
    }
}

/// Hands queued jobs to the engine, once per cycle.
pub struct A2aSource(pub SharedBook);

impl InputSource for A2aSource {
    fn name(&self) -> &str {
        "a2a"
    }

    fn poll(&mut self) -> Vec<ExternalInput> {
        let mut book = self.0.lock().expect("a2a book");
        let queued = std::mem::take(&mut book.queue);
        queued
            .into_iter()
            .map(|(id, input)| {
                if let Some(t) = book.tasks.get_mut(&id) {
                    match input {
                        ExternalInput::CancelJob { .. } => t.cancel = Cancel::Taken,
                        _ => t.taken = true,
                    }
                }
                input
            })
            .collect()
    }
}

/// Learns each task's job id from the `JobPosted` events, and which inputs were refused.
pub struct A2aSink(pub SharedBook);

impl EventSink for A2aSink {
    fn name(&self) -> &str {
        "a2a"
    }

    fn deliver(&mut self, _cycle: u64, _now_ms: u64, events: &[DomainEvent]) -> eyre::Result<()> {
        let mut guard = self.0.lock().expect("a2a book");
        let book = &mut *guard;
        for e in events {
            if let DomainEvent::JobPosted {
                job,
                external: Some(reference),
                ..
            } = e
                && let Some(id) = reference.strip_prefix(REFERENCE_PREFIX)
                && let Some(t) = book.tasks.get_mut(id)
            {
                t.job = Some(*job);
                book.by_job.insert(*job, id.to_string());
                continue;
            }
            let Some(job) = e.job() else { continue };
            let Some(t) = (book.by_job.get(&job)).and_then(|id| book.tasks.get_mut(id)) else {
                continue;
            };
            match e {
                DomainEvent::ValidatorVote {
                    validator,
                    approve,
                    nonce,
                    ..
                } => t.votes.push(Vote {
                    validator: validator.to_string(),
                    approve: *approve,
                    round: *nonce,
                }),
                DomainEvent::JobCompleted {
                    approvals,
                    rejections,
                    ..
                } => t.tally = Some((*approvals, *rejections)),
                DomainEvent::JobCancelled { .. } => t.cancel = Cancel::Done,
                _ => {}
            }
        }
        Ok(())
    }

    fn tick(&mut self, _now_ms: u64) {
        let mut book = self.0.lock().expect("a2a book");
        for t in book.tasks.values_mut() {
            if t.taken && t.job.is_none() {
                t.refused = true;
            }
            if t.cancel == Cancel::Taken {
                t.cancel = Cancel::Refused;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::amount::Amount;
    use crate::domain::events::Name;
    use crate::domain::job::Skills;

    fn record() -> TaskRecord {
        let message = serde_json::json!(
            {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]}
        );
        TaskRecord::new("ctx".into(), serde_json::from_value(message).unwrap())
    }

    fn adopt(reference: String) -> ExternalInput {
        ExternalInput::AdoptJob {
            reference,
            title: "t".into(),
            reward: Amount::from_tokens(1.0),
            skills: None,
        }
    }

    #[test]
    fn a_posted_job_is_found_and_an_input_without_one_is_refused() {
        let book = SharedBook::default();
        let (mut source, mut sink) = (A2aSource(book.clone()), A2aSink(book.clone()));
        book.lock()
            .unwrap()
            .submit("a".into(), record(), adopt(reference("a")));
        book.lock()
            .unwrap()
            .submit("b".into(), record(), adopt(reference("b")));
        assert_eq!(source.poll().len(), 2);
        assert!(source.poll().is_empty());
        let posted = posted(7, "a");
        let vote = DomainEvent::ValidatorVote {
            job: JobId(7),
            nonce: 1,
            validator: Name::intern("SentinelValidator-1"),
            approve: true,
            valid: true,
        };
        sink.deliver(1, 0, &[posted, vote]).unwrap();
        sink.tick(0);
        let b = book.lock().unwrap();
        let (a, bb) = (b.get("a").unwrap(), b.get("b").unwrap());
        assert_eq!((a.job, a.refused), (Some(JobId(7)), false));
        assert_eq!((bb.job, bb.refused), (None, true));
        assert_eq!(a.votes.len(), 1);
        assert!(a.votes[0].approve && bb.votes.is_empty());
    }

    fn posted(job: u64, task: &str) -> DomainEvent {
        DomainEvent::JobPosted {
            job: JobId(job),
            title: "t".into(),
            poster: Name::intern("steward"),
            reward: Amount::from_tokens(1.0),
            deadline_ms: 0,
            parent: None,
            skills: Skills::from(vec!["x".to_string()]),
            external: Some(reference(task)),
        }
    }

    /// A queued job is withdrawn at once; a posted one is asked of the engine, and its answer
    /// (a `JobCancelled`, or none by the cycle's end) is the cancellation's.
    #[test]
    fn a_cancellation_is_withdrawn_or_handed_to_the_engine_and_answered() {
        let book = SharedBook::default();
        let (mut source, mut sink) = (A2aSource(book.clone()), A2aSink(book.clone()));
        let submit = |id: &str| {
            let mut b = book.lock().unwrap();
            b.submit(id.into(), record(), adopt(reference(id)));
        };
        submit("queued");
        assert!(book.lock().unwrap().withdraw("queued"));
        assert!(
            source.poll().is_empty(),
            "withdrawn: never handed to the engine"
        );
        assert_eq!(
            book.lock().unwrap().get("queued").unwrap().cancel,
            Cancel::Done
        );

        submit("a");
        submit("b");
        assert_eq!(source.poll().len(), 2);
        assert!(!book.lock().unwrap().withdraw("a"), "taken already");
        sink.deliver(1, 0, &[posted(7, "a"), posted(8, "b")])
            .unwrap();
        sink.tick(0);
        book.lock().unwrap().ask_cancel("a", JobId(7));
        book.lock().unwrap().ask_cancel("b", JobId(8));
        assert_eq!(book.lock().unwrap().get("a").unwrap().cancel, Cancel::Asked);
        let inputs = source.poll();
        assert!(matches!(
            &inputs[..],
            [ExternalInput::CancelJob { job: JobId(7), reference: r }, ExternalInput::CancelJob { .. }]
                if *r == reference("a")
        ));
        assert_eq!(book.lock().unwrap().get("a").unwrap().cancel, Cancel::Taken);
        let cancelled = DomainEvent::JobCancelled {
            job: JobId(7),
            reason: "by its poster".into(),
        };
        sink.deliver(2, 0, &[cancelled]).unwrap();
        sink.tick(0);
        let b = book.lock().unwrap();
        assert_eq!(b.get("a").unwrap().cancel, Cancel::Done);
        assert_eq!(
            b.get("b").unwrap().cancel,
            Cancel::Refused,
            "no JobCancelled for job 8"
        );
    }
}
