//! Unit tests of `reconcile.rs`.

use super::*;
use crate::chain::view::JobView;
use alloy::primitives::U256;

fn chain_job(state: JobState, success: Option<bool>) -> JobView {
    JobView {
        employer: Address::repeat_byte(1),
        reward: U256::from(1),
        spec_hash: B256::ZERO,
        state,
        agent: None,
        success,
        validators: vec![],
        commits: 0,
        reveals: 0,
        since_block: 0,
    }
}

fn engine(jobs: &[(u64, JobStatus)]) -> EngineSide {
    let mut e = EngineSide {
        first_job: 1,
        ..Default::default()
    };
    for (id, status) in jobs {
        e.jobs.insert(
            *id,
            EngineJob {
                status: *status,
                adopted_from: None,
            },
        );
        e.mapping.insert(*id, id + 100);
    }
    e.employers.insert(Address::repeat_byte(1));
    e
}

#[test]
fn each_engine_status_has_its_chain_states() {
    use JobStatus as E;
    let cases = [
        (E::Pending, JobState::Created, None, None),
        (
            E::Active,
            JobState::Created,
            None,
            Some(Side::OffChainAhead),
        ),
        (E::Active, JobState::Applied, None, None),
        (E::Validating, JobState::Disputed, None, None),
        (E::Validating, JobState::Finalized, Some(true), None),
        (E::Active, JobState::Submitted, None, Some(Side::ChainAhead)),
        (E::Failed, JobState::Applied, None, None),
        (
            E::Failed,
            JobState::Submitted,
            None,
            Some(Side::OffChainAhead),
        ),
        (E::Completed, JobState::Finalized, Some(true), None),
        (
            E::Completed,
            JobState::Finalized,
            Some(false),
            Some(Side::Conflict),
        ),
        (E::Failed, JobState::Finalized, Some(false), None),
        (
            E::Completed,
            JobState::Completed,
            Some(true),
            Some(Side::OffChainAhead),
        ),
        (E::Cancelled, JobState::Cancelled, None, None),
        (E::Failed, JobState::Cancelled, None, None),
        (
            E::Failed,
            JobState::Created,
            None,
            Some(Side::OffChainAhead),
        ),
        (E::Cancelled, JobState::Applied, None, Some(Side::Conflict)),
    ];
    for (status, state, success, want) in cases {
        assert_eq!(
            judge(status, Some((state, success)), false),
            want,
            "{status:?} vs {state:?}"
        );
    }
    assert_eq!(
        judge(JobStatus::Pending, None, false),
        Some(Side::OffChainAhead)
    );
    assert_eq!(judge(JobStatus::Cancelled, None, false), None);
}

#[test]
fn unmapped_chain_jobs_pause_and_attestations_are_drift() {
    let e = engine(&[(1, JobStatus::Completed)]);
    let mut c = ChainView::default();
    c.jobs
        .insert(101, chain_job(JobState::Finalized, Some(true)));
    assert!(reconcile(&e, &c).clean());
    c.jobs.insert(7, chain_job(JobState::Created, None));
    c.paused
        .insert(crate::chain::events::Module::JobRegistry, true);
    let mut e2 = e.clone();
    e2.attestations.insert(3, B256::repeat_byte(3));
    let r = reconcile(&e2, &c);
    let subjects: Vec<_> = r
        .drift
        .iter()
        .map(|d| (d.subject.as_str(), d.side))
        .collect();
    assert_eq!(
        subjects,
        [
            ("chain job #7", Side::ChainAhead),
            ("pause", Side::ChainAhead),
            ("attestation #3", Side::OffChainAhead)
        ]
    );
}

#[test]
fn a_mapped_id_holding_another_jobs_spec_is_a_conflict() {
    let mut e = engine(&[(1, JobStatus::Pending)]);
    let mut c = ChainView::default();
    c.jobs.insert(101, chain_job(JobState::Created, None));
    e.spec_hashes.insert(1, B256::ZERO);
    assert!(reconcile(&e, &c).clean());
    e.spec_hashes.insert(1, B256::repeat_byte(9));
    let r = reconcile(&e, &c);
    assert_eq!(r.in_sync, 0);
    assert_eq!(
        (r.drift[0].side, r.drift[0].onchain.as_str()),
        (Side::Conflict, "#101 holds another job")
    );
}

/// A second chain job with an engine job's spec is a second `createJob` of it: drift even when
/// the journal maps it (to another engine job, whose own conflict is reported too).
#[test]
fn a_second_chain_job_with_a_jobs_spec_is_a_duplicate() {
    let mut e = engine(&[(1, JobStatus::Pending), (2, JobStatus::Pending)]);
    e.spec_hashes.insert(1, B256::repeat_byte(1));
    e.spec_hashes.insert(2, B256::repeat_byte(2));
    let mut c = ChainView::default();
    let with_spec = |byte: u8| JobView {
        spec_hash: B256::repeat_byte(byte),
        ..chain_job(JobState::Created, None)
    };
    c.jobs.insert(101, with_spec(1));
    c.jobs.insert(102, with_spec(2));
    assert!(reconcile(&e, &c).clean());
    c.jobs.insert(103, with_spec(1));
    let r = reconcile(&e, &c);
    let drift: Vec<_> = r.drift.iter().map(|d| d.onchain.as_str()).collect();
    assert_eq!(drift, ["created (a second createJob of job 1)"]);
    assert_eq!(r.drift[0].offchain, "job 1 is #101");
    // Job 2 journaled as #103 (which holds job 1): both sides are told.
    e.mapping.insert(2, 103);
    let r = reconcile(&e, &c);
    let subjects: Vec<_> = r.drift.iter().map(|d| d.subject.as_str()).collect();
    assert_eq!(subjects, ["job 2", "chain job #102", "chain job #103"]);
}

#[test]
fn a_job_standing_still_past_the_limit_is_stalled_drift() {
    let e = engine(&[
        (1, JobStatus::Validating),
        (2, JobStatus::Validating),
        (3, JobStatus::Active),
    ]);
    let mut c = ChainView::default();
    c.jobs.insert(101, chain_job(JobState::Submitted, None));
    c.jobs.insert(102, chain_job(JobState::Submitted, None));
    c.jobs.insert(103, chain_job(JobState::Applied, None));
    let mut r = reconcile(&e, &c);
    assert!(r.clean(), "validating meets submitted: in sync");
    let clock = StallClock {
        now: 10_000,
        moved_at: [(101, 1_000), (102, 9_000), (103, 0)].into(),
        limit_s: StallClock::limit(300, 300, 3600),
    };
    assert_eq!(clock.limit_s, 4_800);
    stalled(&mut r, &e, &c, &clock);
    let got: Vec<_> = r
        .drift
        .iter()
        .map(|d| (d.subject.as_str(), d.side))
        .collect();
    // Job 2 moved recently; job 3 is Active (its agent is working): neither is stalled.
    assert_eq!(got, [("job 1", Side::Stalled)]);
    assert_eq!(r.in_sync, 2);
    assert!(
        r.drift[0].onchain.contains("no committee"),
        "{:?}",
        r.drift[0]
    );
    assert_eq!(
        stall_candidates(&e, &c).keys().copied().collect::<Vec<_>>(),
        [101, 102]
    );
}
