//! One archive line per terminal job, as JSON written by hand.
//!
//! serde_json's generic path took most of a checkpoint's time once tens of thousands of jobs had
//! settled since the last one, and the last checkpoint of a run is written while the run waits.
//! The bytes are exactly serde_json's (a test holds them to it), so the archive reads back with
//! serde as before. Rare parts (an external origin, a validation round) still go through serde.

use super::event_json::Object;
use crate::domain::job::{Job, JobId, JobOrigin};

/// Appends the job's JSON object (fields in declaration order, as serde writes them) to `out`.
pub fn write_job(out: &mut Vec<u8>, job: &Job) {
    let mut o = Object::open(out);
    o.job("id", job.id);
    o.string("title", &job.title);
    o.amount("reward", job.reward);
    o.amount("burn_fee", job.burn_fee);
    o.number("deadline_ms", job.deadline_ms);
    o.serde("energy", &job.energy);
    o.serde("compute", &job.compute);
    o.strings("skills", job.skills.iter().map(String::as_str));
    o.number("poster", job.poster.0.into());
    o.parent("parent", job.parent);
    ids(&mut o, "lineage", &job.lineage);
    ids(&mut o, "children", &job.children);
    match &job.origin {
        JobOrigin::Local => o.raw("origin", b"\"local\""),
        external => o.serde("origin", external),
    }
    o.string("status", job.status.name());
    o.number("posted_at_ms", job.posted_at_ms);
    match job.assignee {
        Some(a) => o.number("assignee", a.0.into()),
        None => o.raw("assignee", b"null"),
    }
    o.amount("stake", job.stake);
    o.number("work_done", job.work_done.into());
    match job.quality_ok {
        Some(ok) => o.boolean("quality_ok", ok),
        None => o.raw("quality_ok", b"null"),
    }
    match &job.round {
        None => o.raw("round", b"null"),
        round => o.serde("round", round),
    }
    o.number("validation_rounds", job.validation_rounds.into());
    match &job.outcome {
        Some(outcome) => o.string("outcome", outcome),
        None => o.raw("outcome", b"null"),
    }
    if let Some(result) = &job.result {
        o.serde("result", result);
    }
    if let Some(input) = &job.input {
        o.serde("input", input);
    }
    o.close();
}

fn ids(o: &mut Object<'_>, key: &'static str, ids: &[JobId]) {
    let mut buf = itoa::Buffer::new();
    let mut text = Vec::with_capacity(2 + ids.len() * 8);
    text.push(b'[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            text.push(b',');
        }
        text.extend_from_slice(buf.format(id.0).as_bytes());
    }
    text.push(b']');
    o.raw(key, &text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::amount::Amount;
    use crate::domain::commit_reveal::Round;
    use crate::domain::job::{JobBook, JobSpec, JobStatus};
    use crate::domain::ledger::AccountId;

    fn spec(title: &str, parent: Option<JobId>, origin: JobOrigin) -> JobSpec {
        JobSpec {
            title: title.into(),
            reward: Amount(u128::MAX / 3),
            deadline_ms: 1_767_312_000_200,
            energy: 4076.5,
            compute: 1e-7,
            skills: vec!["energy".to_string(), "a \"b\"\n".to_string()].into(),
            poster: AccountId(7),
            parent,
            origin,
            input: None,
        }
    }

    /// Jobs in every shape the archive sees: settled each way, with lineage and children, an
    /// external origin, a round left on, escapes in strings.
    fn jobs() -> Vec<Job> {
        let mut book = JobBook::new();
        let root = book
            .post(spec("root", None, JobOrigin::Local), Amount(2), 5)
            .unwrap();
        let child = book
            .post(spec("child ✓", Some(root), JobOrigin::Local), Amount(0), 6)
            .unwrap();
        let external = JobOrigin::External {
            reference: "chain:0x\\12".into(),
        };
        let adopted = book
            .post(spec("tab\there", Some(child), external), Amount(1), 7)
            .unwrap();
        let given = serde_json::json!({"numbers": [1, 2], "text": "a \"b\""});
        let with_input = JobSpec {
            input: Some(given.into()),
            ..spec("sub-job", Some(root), JobOrigin::Local)
        };
        book.post(with_input, Amount(1), 9).unwrap();
        let cancelled = book
            .post(spec("", None, JobOrigin::Local), Amount(1), 8)
            .unwrap();
        book.assign(root, AccountId(3), Amount(10)).unwrap();
        book.submit(root, AccountId(3), true, None).unwrap();
        book.settle(root, JobStatus::Validating, true, "approved by validators")
            .unwrap();
        book.assign(child, AccountId(4), Amount(11)).unwrap();
        book.submit(child, AccountId(4), false, None).unwrap();
        book.get_mut(child).unwrap().round = Some(Round::new(1, &[AccountId(1)], 0, 10, 10));
        book.cancel(cancelled, "deadline \"passed\"").unwrap();
        let mut jobs: Vec<Job> = book.iter().cloned().collect();
        jobs.push(book.get(adopted).unwrap().clone());
        jobs
    }

    #[test]
    fn every_job_is_written_exactly_as_serde_writes_it() {
        for job in jobs() {
            let mut ours = Vec::new();
            write_job(&mut ours, &job);
            let expected = serde_json::to_string(&job).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), expected, "job {}", job.id);
        }
    }
}
