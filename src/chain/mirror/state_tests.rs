//! Unit tests of `state.rs`: journal replay, the gate's view, and forgetting final jobs.

use super::*;
use alloy::primitives::Bytes;
use std::time::{Duration, Instant};

const REGISTRY: Address = Address::repeat_byte(0xaa);
const POSTER: Address = Address::repeat_byte(1);
const AGENT: Address = Address::repeat_byte(2);
const V1: Address = Address::repeat_byte(0x11);

fn header(registry: Address, first_job: u64) -> Entry {
    Entry::Header {
        registry,
        run_id: B256::repeat_byte(7),
        first_job,
    }
}

fn done(job: u64, step: &str) -> Entry {
    Entry::Done {
        job,
        step: step.into(),
    }
}

/// One job created, applied, submitted, selected and finished; another only intended.
fn journal() -> Vec<Entry> {
    vec![
        header(REGISTRY, 3),
        Entry::CreateIntent {
            job: 3,
            spec_hash: B256::repeat_byte(3),
            poster: POSTER,
            reward: U256::from(5),
            deadline_s: 99,
        },
        signed(3, 1),
        Entry::Created {
            job: 3,
            onchain: U256::from(40),
        },
        done(3, &format!("apply:{AGENT}")),
        done(3, "submit"),
        done(3, "select:1234"),
        Entry::Salt {
            job: 3,
            validator: V1,
            approve: false,
            salt: B256::repeat_byte(9),
        },
        done(3, "finish:false"),
        Entry::CreateIntent {
            job: 4,
            spec_hash: B256::repeat_byte(4),
            poster: POSTER,
            reward: U256::ZERO,
            deadline_s: 0,
        },
        signed(4, 2),
        signed(4, 3),
    ]
}

fn signed(job: u64, n: u8) -> Entry {
    Entry::CreateSigned {
        job,
        nonce: n.into(),
        hash: B256::repeat_byte(n),
        raw: Bytes::from(vec![n]),
    }
}

/// The state a journal replays into, and the gate's view it publishes.
fn replayed(entries: &[Entry]) -> (MirrorState, View) {
    let mut s = MirrorState::default();
    s.replay(entries, REGISTRY);
    let mut v = View {
        first_job: 3,
        ..Default::default()
    };
    s.publish(&mut v);
    (s, v)
}

#[test]
fn replay_restores_records_and_pending_creates() {
    let mut s = MirrorState::default();
    assert_eq!(s.replay(&journal(), REGISTRY), Some(B256::repeat_byte(7)));
    assert_eq!(s.header, Some((REGISTRY, 3)));
    let r = &s.recs[&JobId(3)];
    assert_eq!(r.onchain, Some(U256::from(40)));
    assert_eq!((r.poster, r.spec_hash), (POSTER, B256::repeat_byte(3)));
    assert_eq!((r.reward, r.deadline_s), (U256::from(5), 99));
    assert!(r.assigned && r.applied && r.submitted && r.finished);
    assert_eq!(r.agent, Some(AGENT));
    assert_eq!(r.selected_at, 1234);
    assert_eq!(r.outcome, Some(false));
    assert_eq!(r.votes[&V1], (false, B256::repeat_byte(9), false));
    // Job 4's createJob may have been sent: recovery looks for it on chain.
    let pending: Vec<_> = s.pending_creates.keys().copied().collect();
    assert_eq!(pending, vec![JobId(4)]);
    assert_eq!(s.recs[&JobId(4)].onchain, None);
    // With the transactions it signed, in order; job 3's were settled when it was created.
    let nonces: Vec<u64> = s.create_txs[&JobId(4)].iter().map(|t| t.nonce).collect();
    assert_eq!(nonces, vec![2, 3]);
    assert!(!s.create_txs.contains_key(&JobId(3)));
}

#[test]
fn replay_is_idempotent() {
    let render = |s: &MirrorState| format!("{:?} {:?} {:?}", s.header, s.recs, s.pending_creates);
    let mut once = MirrorState::default();
    once.replay(&journal(), REGISTRY);
    let mut again = MirrorState::default();
    again.replay(&journal(), REGISTRY);
    again.replay(&journal(), REGISTRY);
    assert_eq!(render(&once), render(&again));
    // An entry seen twice (a step journaled again after a restart) changes nothing either.
    let doubled: Vec<Entry> = journal().into_iter().flat_map(|e| [e.clone(), e]).collect();
    let mut twice = MirrorState::default();
    twice.replay(&doubled, REGISTRY);
    assert_eq!(render(&once), render(&twice));
}

#[test]
fn a_journal_of_another_deployment_is_forgotten() {
    let mut entries = journal();
    entries.push(header(Address::repeat_byte(0xbb), 9));
    let mut s = MirrorState::default();
    assert_eq!(s.replay(&entries, REGISTRY), None);
    assert!(s.header.is_none() && s.recs.is_empty() && s.pending_creates.is_empty());
}

#[test]
fn replay_restores_commits_and_reveals() {
    // After a restart a journaled commit or reveal is not sent again (it used to be, and
    // the chain's `AlreadyCommitted`/`AlreadyRevealed` marked it done, a wasted transaction).
    let mut entries = journal();
    entries.push(done(3, &format!("commit:{V1}")));
    entries.push(done(3, &format!("reveal:{V1}")));
    let mut s = MirrorState::default();
    s.replay(&entries, REGISTRY);
    let r = &s.recs[&JobId(3)];
    assert!(r.votes[&V1].2, "the commit is restored");
    assert!(r.revealed.contains(&V1), "the reveal is restored");
}

#[test]
fn publish_tells_the_gate_what_the_journal_knows() {
    let (_, v) = replayed(&journal());
    for step in [Step::Assign, Step::Submit, Step::Settle] {
        assert!(v.allows(JobId(3), step), "{step:?}");
        assert!(!v.allows(JobId(4), step), "{step:?}");
    }
    assert_eq!(v.outcomes.get(&JobId(3)), Some(&false));
    // The committee is the chain's, read again after a restart: not from the journal. Job 3 is
    // finished on chain, so its round starts without one (and settles by the chain's verdict).
    assert!(v.committees.is_empty());
    assert!(v.allows(JobId(3), Step::Commit) && !v.allows(JobId(4), Step::Commit));
}

#[test]
fn the_gate_refuses_a_step_until_the_chain_confirmed_the_one_before() {
    let job = JobId(5);
    let mut v = View {
        first_job: 5,
        ..Default::default()
    };
    let refused = |v: &View| {
        [Step::Assign, Step::Submit, Step::Commit, Step::Settle]
            .into_iter()
            .filter(|s| !v.allows(job, *s))
            .count()
    };
    assert_eq!(refused(&v), 4);
    assert!(
        v.allows(job, Step::Reveal),
        "reveals follow commits, not the chain"
    );
    v.created.insert(job);
    assert!(v.allows(job, Step::Assign) && !v.allows(job, Step::Submit));
    v.applied.insert(job);
    assert!(v.allows(job, Step::Submit) && !v.allows(job, Step::Commit));
    v.committees.insert(job, vec![AccountId(1)]);
    assert!(v.allows(job, Step::Commit) && !v.allows(job, Step::Settle));
    v.finished.insert(job);
    assert_eq!(refused(&v), 0);
    // Finished on chain, without a committee in this run (a restart): its round may start.
    v.committees.remove(&job);
    assert_eq!(refused(&v), 0);
    // Jobs from before the mirror attached, and detached jobs, are never held.
    assert!(v.allows(JobId(4), Step::Settle));
    v.detached.insert(JobId(6));
    assert!(v.allows(JobId(6), Step::Assign) && !v.allows(JobId(7), Step::Assign));
}

#[test]
fn a_final_job_is_forgotten_and_only_the_gate_hears_of_it_after_a_restart() {
    let (mut s, mut v) = replayed(&journal());
    // Finished on chain, but the engine has not settled it, its finish is not deep yet, or its
    // time has not come: kept.
    let (t0, later) = (Instant::now(), Duration::from_secs(30));
    let due = |s: &MirrorState, head: u64, at: Instant| s.due_to_forget(head, at);
    s.recs.get_mut(&JobId(3)).unwrap().forget_at = Some((20, t0 + later));
    assert!(
        due(&s, 99, t0 + later).is_empty(),
        "the engine has not settled it"
    );
    s.recs.get_mut(&JobId(3)).unwrap().engine_settled = true;
    s.recs.get_mut(&JobId(3)).unwrap().watch_until = Some(9);
    assert!(due(&s, 99, t0 + later).is_empty(), "still watched");
    s.recs.get_mut(&JobId(3)).unwrap().watch_until = None;
    assert!(due(&s, 19, t0 + later).is_empty(), "not deep enough");
    assert!(due(&s, 20, t0).is_empty(), "too recent");
    assert_eq!(due(&s, 20, t0 + later), vec![JobId(3)]);
    s.forget(JobId(3), &mut v);
    assert!(!s.recs.contains_key(&JobId(3)) && !v.finished.contains(&JobId(3)));

    // The journal says final: a restart keeps no record, and later entries of the job
    // (none are written, but a torn history must not revive it) are ignored.
    let mut entries = journal();
    entries.push(done(3, FINAL));
    entries.push(done(3, &format!("reveal:{V1}")));
    let (s, v) = replayed(&entries);
    assert!(!s.recs.contains_key(&JobId(3)) && s.recs.contains_key(&JobId(4)));
    assert!(s.finals.is_empty(), "told to the gate once, then dropped");
    // An engine restored from before the job settled walks it through the gate again.
    for step in [Step::Assign, Step::Submit, Step::Commit, Step::Settle] {
        assert!(v.allows(JobId(3), step), "{step:?}");
    }
    assert_eq!(v.outcomes.get(&JobId(3)), Some(&false));
}

#[test]
fn only_the_usual_path_is_ever_final() {
    let settled = Rec {
        onchain: Some(U256::from(1)),
        forget_at: Some((1, Instant::now())),
        submitted: true,
        finished: true,
        engine_settled: true,
        ..Default::default()
    };
    assert!(settled.is_final());
    let not = [
        Rec {
            busy: 1,
            ..settled.clone()
        },
        Rec {
            detached: true,
            ..settled.clone()
        },
        Rec {
            cancelled: true,
            ..settled.clone()
        },
        Rec {
            release: true,
            ..settled.clone()
        },
        Rec {
            adopted: true,
            ..settled.clone()
        },
        Rec {
            engine_done: true,
            ..settled.clone()
        },
        Rec {
            submitted: false,
            ..settled.clone()
        },
        Rec {
            finished: false,
            ..settled.clone()
        },
        Rec {
            engine_settled: false,
            ..settled.clone()
        },
        Rec {
            watch_until: Some(0),
            ..settled.clone()
        },
        Rec {
            forget_at: None,
            ..settled.clone()
        },
    ];
    for r in not {
        assert!(!r.is_final(), "{r:?}");
    }
}

#[test]
fn a_job_that_failed_before_submission_is_released_unless_adopted() {
    let mut s = MirrorState::default();
    s.recs.entry(JobId(1)).or_default();
    s.recs.entry(JobId(2)).or_default().submit_seen = true;
    s.recs.entry(JobId(4)).or_default().adopted = true;
    assert!(
        s.failed(JobId(1)),
        "journaled: a restart must still release it"
    );
    assert!(!s.failed(JobId(1)), "said once");
    assert!(!s.failed(JobId(2)));
    assert!(!s.failed(JobId(3)));
    assert!(!s.failed(JobId(4)));
    assert!(s.recs[&JobId(1)].release && !s.recs[&JobId(1)].finished);
    assert!(
        !s.recs[&JobId(2)].release && !s.recs[&JobId(2)].finished,
        "submitted work still settles on chain"
    );
    assert!(!s.recs.contains_key(&JobId(3)));
    assert!(
        s.recs[&JobId(4)].finished && !s.recs[&JobId(4)].release,
        "an adopted job is its employer's to release"
    );
    let mut r = Rec::default();
    replay_done(&mut r, "failed");
    assert!(r.release);
    replay_done(&mut r, "expire");
    assert_eq!((r.finished, r.outcome), (true, Some(false)));
}
