//! Unit tests of `schedule.rs`.

use super::*;
use crate::chain::mirror::state::MirrorState;
use crate::domain::events::Step;
use alloy::primitives::B256;

const JOB: JobId = JobId(7);
use crate::chain::mirror::fake_chain::fixtures::{AGENT, POSTER, V1, V2, WINDOWS};

/// A schedule, one job's record, the gate's view, the totals and the journal so far.
struct World {
    sched: Schedule,
    rec: Rec,
    view: View,
    stats: MirrorStats,
    journal: Vec<Entry>,
}

impl World {
    fn new() -> World {
        World {
            sched: Schedule::new(WINDOWS),
            rec: Rec {
                poster: POSTER,
                ..Default::default()
            },
            view: View::default(),
            stats: MirrorStats::default(),
            journal: Vec::new(),
        }
    }

    fn next(&self) -> Vec<Action> {
        self.sched.next_actions(&self.rec)
    }

    fn recs(&self) -> BTreeMap<JobId, Rec> {
        BTreeMap::from([(JOB, self.rec.clone())])
    }

    /// The action was started (as the worker does) and came back with `outcome`.
    fn outcome(&mut self, outcome: Outcome, committee: Vec<AccountId>) {
        self.rec.busy += 1;
        let (view, stats) = (&mut self.view, &self.stats);
        let entry = self
            .sched
            .apply(JOB, &mut self.rec, outcome, committee, view, stats);
        self.journal.extend(entry);
    }
}

#[test]
fn a_job_walks_its_lifecycle_as_outcomes_arrive() {
    let mut w = World::new();
    assert_eq!(w.next(), vec![Action::Create]);
    w.outcome(Outcome::Created(U256::from(40)), vec![]);
    assert!(w.view.allows(JOB, Step::Assign) && !w.view.allows(JOB, Step::Submit));
    assert_eq!(w.next(), vec![], "waits for the engine to assign");
    (w.rec.assigned, w.rec.agent) = (true, Some(AGENT));
    assert_eq!(w.next(), vec![Action::Apply]);
    w.outcome(Outcome::Applied, vec![]);
    assert!(w.view.allows(JOB, Step::Submit) && !w.view.allows(JOB, Step::Commit));
    assert_eq!(w.next(), vec![], "waits for the engine's submission");
    w.rec.submit_seen = true;
    assert_eq!(w.next(), vec![Action::Submit]);
    w.outcome(Outcome::Submitted, vec![]);
    assert_eq!(w.next(), vec![Action::Select]);
    w.outcome(
        Outcome::Selected(vec![V1, V2], 1000),
        vec![AccountId(3), AccountId(4)],
    );
    assert!(w.view.allows(JOB, Step::Commit) && !w.view.allows(JOB, Step::Settle));
    assert_eq!(w.next(), vec![], "waits for the engine's commits");
    for v in [V1, V2] {
        w.rec.votes.insert(v, (true, B256::repeat_byte(5), false));
    }
    assert_eq!(w.next(), vec![Action::Commit(V1), Action::Commit(V2)]);
    w.outcome(Outcome::Committed(V1), vec![]);
    w.outcome(Outcome::Committed(V2), vec![]);
    w.rec.reveal_wanted.extend([V1, V2]);
    w.sched.chain_now = 1000 + WINDOWS.commit_s;
    assert_eq!(
        w.next(),
        vec![],
        "reveals wait for the commit window to close"
    );
    w.sched.chain_now += 1;
    assert_eq!(w.next(), vec![Action::Reveal(V1), Action::Reveal(V2)]);
    w.outcome(Outcome::Revealed(V1), vec![]);
    assert_eq!(w.next(), vec![Action::Reveal(V2)]);
    w.outcome(Outcome::Revealed(V2), vec![]);
    assert_eq!(w.next(), vec![Action::Finish { force: false }]);
    w.outcome(Outcome::Finished(true), vec![]);
    assert_eq!(w.next(), vec![]);
    assert!(w.view.allows(JOB, Step::Settle));
    assert_eq!(w.view.outcomes.get(&JOB), Some(&true));
    assert_eq!(w.rec.busy, 0);
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(
        (
            w.stats.created.load(Relaxed),
            w.stats.finalized.load(Relaxed)
        ),
        (1, 1)
    );
    let steps: Vec<String> = w
        .journal
        .iter()
        .map(|e| match e {
            Entry::Done { step, .. } => step.clone(),
            Entry::Created { onchain, .. } => format!("created:{onchain}"),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let apply = format!("apply:{AGENT}");
    let (c1, c2, r1, r2) = (
        format!("commit:{V1}"),
        format!("commit:{V2}"),
        format!("reveal:{V1}"),
        format!("reveal:{V2}"),
    );
    let expected = [
        "created:40",
        &apply,
        "submit",
        "select:1000",
        &c1,
        &c2,
        &r1,
        &r2,
        "finish:true",
    ];
    assert_eq!(steps, expected);
}

#[test]
fn the_journal_an_outcome_writes_replays_into_the_same_record() {
    let mut w = World::new();
    w.rec.spec_hash = B256::repeat_byte(3);
    w.outcome(Outcome::Created(U256::from(40)), vec![]);
    (w.rec.assigned, w.rec.agent) = (true, Some(AGENT));
    w.outcome(Outcome::Applied, vec![]);
    w.outcome(Outcome::Submitted, vec![]);
    w.outcome(Outcome::Selected(vec![V1], 1000), vec![]);
    w.outcome(Outcome::Finished(false), vec![]);
    let mut s = MirrorState::default();
    s.replay(&w.journal, Address::ZERO);
    let r = &s.recs[&JOB];
    assert_eq!(r.onchain, w.rec.onchain);
    assert_eq!((r.applied, r.agent), (true, Some(AGENT)));
    assert!(r.submitted && r.finished);
    assert_eq!((r.selected_at, r.outcome), (1000, Some(false)));
}

#[test]
fn a_committee_selected_again_after_a_restart_keeps_its_time() {
    let mut w = World::new();
    w.outcome(Outcome::Selected(vec![V1], 1000), vec![AccountId(3)]);
    w.sched.now_ms = 99;
    w.outcome(
        Outcome::Selected(vec![V1, V2], 5000),
        vec![AccountId(3), AccountId(4)],
    );
    assert_eq!(w.rec.selected_at, 1000);
    assert_eq!(w.rec.selected_engine_ms, 0);
    assert_eq!(w.journal.len(), 1, "the selection is journaled once");
    assert_eq!(w.rec.committee, Some(vec![V1, V2]));
}

#[test]
fn the_committee_from_the_chain_replaces_the_engines() {
    let mut w = World::new();
    (w.rec.onchain, w.rec.applied, w.rec.submitted) = (Some(U256::from(1)), true, true);
    w.rec.assigned = true;
    // The engine chose V1 and V2; the chain chose V2 and V3.
    let v3 = Address::repeat_byte(0x13);
    w.rec.offchain_committee = vec![V1, V2];
    let actors = crate::chain::mirror::Actors {
        by_account: vec![POSTER, AGENT, V1, V2, v3],
        owner: POSTER,
        validators: vec![V1, V2, v3],
        registry_via: None,
        dispute_via: None,
    };
    let accounts = [V2, v3]
        .iter()
        .filter_map(|a| actors.account_of(*a))
        .collect();
    w.outcome(Outcome::Selected(vec![V2, v3], 1000), accounts);
    assert_eq!(w.view.committees[&JOB], vec![AccountId(3), AccountId(4)]);
    // Only the chain's committee commits: V1's sealed vote stays off chain.
    for v in [V1, V2] {
        w.rec.votes.insert(v, (true, B256::ZERO, false));
    }
    assert_eq!(w.next(), vec![Action::Commit(V2)]);
}

#[test]
fn a_pause_blocks_every_action_until_it_is_lifted() {
    let mut w = World::new();
    assert_eq!(w.sched.due(&w.recs()), vec![(JOB, Action::Create)]);
    w.outcome(Outcome::ChainPaused, vec![]);
    assert!(w.sched.paused && w.sched.paused_by_chain.is_some());
    assert_eq!(w.sched.due(&w.recs()), vec![]);
    w.sched.paused = false;
    assert_eq!(w.sched.due(&w.recs()), vec![(JOB, Action::Create)]);
    w.rec.busy = 1;
    assert_eq!(
        w.sched.due(&w.recs()),
        vec![],
        "a busy job waits for its action"
    );
}

#[test]
fn a_permanent_refusal_detaches_the_job() {
    let mut w = World::new();
    w.view.first_job = JOB.0;
    w.outcome(Outcome::Failed("Create: reverted: Nope".into()), vec![]);
    assert!(w.rec.detached);
    assert_eq!(w.sched.due(&w.recs()), vec![]);
    assert!(w.sched.idle(&w.recs()));
    assert!(
        w.view.allows(JOB, Step::Settle),
        "the engine carries on without the chain"
    );
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(w.stats.detached.load(Relaxed), 1);
    assert!(w.journal.is_empty());
}

#[test]
fn selection_waits_for_free_validators_and_runs_a_few_at_once() {
    let mut w = World::new();
    for _ in 0..SELECTS_IN_FLIGHT {
        assert!(w.sched.admit(Action::Select));
    }
    assert!(!w.sched.admit(Action::Select));
    assert!(
        w.sched.admit(Action::Create),
        "other actions are not counted"
    );
    w.sched.ended(Action::Select);
    assert!(w.sched.admit(Action::Select));
    w.sched.selecting = 0;
    w.outcome(Outcome::NotYetSelected { too_early: false }, vec![]);
    assert!(!w.sched.admit(Action::Select), "no validator is free");
    // Another job settled: its committee's stake is free again.
    w.outcome(Outcome::Finished(true), vec![]);
    assert!(w.sched.admit(Action::Select));
    w.outcome(Outcome::NotYetSelected { too_early: true }, vec![]);
    assert!(
        !w.sched.selection_waits(),
        "too early is a matter of blocks, not stake"
    );
}

#[test]
fn a_selection_that_waits_says_why_once_a_minute_not_at_every_retry() {
    let mut w = World::new();
    assert!(w.sched.select_wait_said.is_none());
    w.outcome(Outcome::NotYetSelected { too_early: false }, vec![]);
    let said = w.sched.select_wait_said.expect("the wait is said");
    w.outcome(Outcome::NotYetSelected { too_early: false }, vec![]);
    assert_eq!(
        w.sched.select_wait_said,
        Some(said),
        "not said again at once"
    );
    w.outcome(Outcome::Selected(vec![V1], 7), vec![]);
    assert!(
        w.sched.select_wait_said.is_none(),
        "a later wait is news again"
    );
}

#[test]
fn a_missed_vote_stays_off_chain() {
    let mut w = World::new();
    w.rec.votes.insert(V1, (true, B256::ZERO, true));
    w.rec.reveal_wanted.insert(V1);
    w.outcome(Outcome::Missed(V1), vec![]);
    assert!(w.rec.votes.is_empty() && w.rec.reveal_wanted.is_empty());
    assert!(w.journal.is_empty());
}

#[test]
fn a_commit_the_chain_lost_is_sent_again_before_the_reveal() {
    let mut w = revealing();
    w.sched.chain_now = 1000 + WINDOWS.commit_s + 1;
    assert_eq!(w.sched.next_actions(&w.rec), vec![Action::Reveal(V1)]);
    w.outcome(Outcome::CommitLost(V1), vec![]);
    assert_eq!(w.sched.next_actions(&w.rec), vec![Action::Commit(V1)]);
    assert!(
        w.rec.reveal_wanted.contains(&V1),
        "the vote still wants its reveal"
    );
    assert!(w.journal.is_empty());
}

/// A job selected at 1000 whose validator committed and wants to reveal.
fn revealing() -> World {
    let mut w = World::new();
    (w.rec.onchain, w.rec.assigned, w.rec.agent) = (Some(U256::from(1)), true, Some(AGENT));
    (w.rec.applied, w.rec.submitted) = (true, true);
    (w.rec.committee, w.rec.selected_at) = (Some(vec![V1]), 1000);
    w.rec.votes.insert(V1, (true, B256::ZERO, true));
    w.rec.reveal_wanted.insert(V1);
    (w.sched.now_ms, w.sched.chain_now) = (20_000, 1010);
    w
}

#[test]
fn time_moves_to_the_end_of_the_commit_window_unless_another_job_needs_it() {
    let w = revealing();
    assert_eq!(
        w.sched.time_needed(&w.rec),
        Some(1000 + WINDOWS.commit_s + 1)
    );
    assert_eq!(w.sched.warp_target(&w.recs()), Some(1061));
    // Another job's round is live (its engine commit deadline is ahead): its commit window
    // closes first (at 1050) and must stay open.
    let mut other = w.rec.clone();
    other.votes.clear();
    other.reveal_wanted.clear();
    other.selected_at = 990;
    other.offchain_commit_deadline_ms = 30_000;
    let mut recs = w.recs();
    recs.insert(JobId(8), other.clone());
    assert_eq!(w.sched.time_limit(&recs), 990 + WINDOWS.commit_s);
    assert_eq!(w.sched.warp_target(&recs), None);
    // Once the engine's round is over and nothing is left to commit, time may move.
    let mut sched = Schedule::new(WINDOWS);
    (sched.now_ms, sched.chain_now) = (30_000, 1010);
    assert_eq!(sched.warp_target(&recs), Some(1061));
    // A busy job waits for its action, not for time.
    let mut busy = w.rec.clone();
    busy.busy = 1;
    assert_eq!(w.sched.time_needed(&busy), None);
}

#[test]
fn a_reveal_that_can_never_come_does_not_hold_the_clock() {
    // After a restart the engine re-ran the round: its commits missed the chain's window (the
    // votes are gone) but it wants their reveals. Validation then closes after the reveal
    // deadline, which the job itself must let time reach.
    let mut w = revealing();
    w.outcome(Outcome::Missed(V1), vec![]);
    w.rec.reveal_wanted.insert(V1);
    let reveal_deadline = 1000 + WINDOWS.commit_s + WINDOWS.reveal_s;
    w.outcome(Outcome::WaitUntil(reveal_deadline + 1, false), vec![]);
    assert_eq!(w.sched.time_limit(&w.recs()), u64::MAX);
    assert_eq!(w.sched.warp_target(&w.recs()), Some(reveal_deadline + 1));
    // A committed vote still to reveal holds it at the reveal deadline.
    let w = revealing();
    assert_eq!(w.sched.time_limit(&w.recs()), reveal_deadline);
}

#[test]
fn a_fresh_committee_holds_the_clock_for_its_round_until_the_run_drains() {
    // Job 7 waits for chain time (a dispute window ends at 1500); job 8's committee was just
    // selected at 1010, and the engine's round for it has not started yet.
    let mut w = revealing();
    w.outcome(Outcome::Revealed(V1), vec![]);
    w.outcome(Outcome::WaitUntil(1500, false), vec![]);
    w.rec.votes_deep_at = None; // its reveal is deep: holds nothing
    let mut fresh = w.rec.clone();
    fresh.votes.clear();
    fresh.reveal_wanted.clear();
    fresh.finish_wait = None;
    (fresh.selected_at, fresh.selected_engine_ms) = (1010, w.sched.now_ms);
    let mut recs = w.recs();
    recs.insert(JobId(8), fresh);
    assert_eq!(w.sched.time_limit(&recs), 1010 + WINDOWS.commit_s);
    assert_eq!(w.sched.warp_target(&recs), None);
    // Draining, the engine's clock stands still and no round starts in this run any more.
    w.sched.draining = true;
    assert_eq!(w.sched.warp_target(&recs), Some(1500));
}

#[test]
fn a_closing_validation_waits_until_the_chain_says_then_forces() {
    let mut w = revealing();
    w.outcome(Outcome::Revealed(V1), vec![]);
    assert_eq!(w.next(), vec![Action::Finish { force: false }]);
    w.outcome(Outcome::WaitUntil(1200, true), vec![]);
    assert_eq!(w.next(), vec![]);
    assert_eq!(w.sched.time_needed(&w.rec), Some(1200));
    w.sched.chain_now = 1200;
    assert_eq!(w.next(), vec![Action::Finish { force: true }]);
    assert_eq!(w.sched.time_needed(&w.rec), None);
}

#[test]
fn validation_is_ready_to_finish_once_the_engines_reveal_phase_is_over() {
    let mut w = revealing();
    w.rec.committee = Some(vec![V1, V2]);
    w.rec.offchain_reveal_deadline_ms = 5_000;
    w.sched.now_ms = 9_000;
    assert!(!w.sched.ready_to_finish(&w.rec), "V1's reveal is pending");
    w.rec.revealed.insert(V1);
    assert!(
        w.sched.ready_to_finish(&w.rec),
        "V2 never voted: the engine is done"
    );
    w.sched.now_ms = 4_999;
    assert!(!w.sched.ready_to_finish(&w.rec), "V2 may still reveal");
    w.rec.revealed.insert(V2);
    assert!(w.sched.ready_to_finish(&w.rec), "everyone revealed");
}

#[test]
fn a_cancelled_job_is_cancelled_on_chain_unless_assigned() {
    let mut w = World::new();
    (w.rec.onchain, w.rec.cancel_seen) = (Some(U256::from(1)), true);
    assert_eq!(w.next(), vec![Action::Cancel]);
    w.outcome(Outcome::Cancelled, vec![]);
    assert_eq!(w.next(), vec![]);
    assert!(w.sched.idle(&w.recs()));
    let mut w = World::new();
    (w.rec.onchain, w.rec.cancel_seen, w.rec.assigned) = (Some(U256::from(1)), true, true);
    assert_eq!(
        w.next(),
        vec![],
        "assigned to an agent without a key: nothing to send"
    );
}

#[test]
fn a_job_failed_before_submission_is_cancelled_or_expired_after_its_deadline() {
    let mut w = World::new();
    w.rec.release = true;
    assert!(w.next().is_empty(), "not on chain: nothing to release");
    w.rec.onchain = Some(U256::from(3));
    assert_eq!(w.next(), [Action::Release]);
    // Applied on chain: the chain refuses expiry before the deadline, so the job waits for it.
    w.sched.chain_now = 100;
    w.outcome(Outcome::WaitUntil(500, false), vec![]);
    assert!(w.next().is_empty() && w.journal.is_empty());
    assert!(
        w.sched.idle(&w.recs()),
        "a release waiting for its deadline holds nothing up"
    );
    w.sched.chain_now = 500;
    assert_eq!(w.next(), [Action::Release]);
    w.outcome(Outcome::Expired, vec![]);
    assert!(w.next().is_empty());
    assert_eq!((w.rec.finished, w.rec.outcome), (true, Some(false)));
    assert!(matches!(&w.journal[..], [Entry::Done { step, .. }] if step == "expire"));
}

#[test]
fn a_job_whose_node_failed_waits_a_little_before_its_next_try() {
    let mut w = World::new();
    w.rec.onchain = Some(U256::from(3));
    w.rec.assigned = true;
    w.rec.agent = Some(AGENT);
    assert_eq!(w.sched.due(&w.recs()), [(JOB, Action::Apply)]);
    w.outcome(Outcome::Unreachable("HTTP error 502".into()), vec![]);
    assert!(!w.rec.detached);
    assert!(w.sched.due(&w.recs()).is_empty(), "held for a retry");
    w.rec.retry_at = Some(std::time::Instant::now());
    assert_eq!(w.sched.due(&w.recs()), [(JOB, Action::Apply)]);
}

#[test]
fn a_selection_in_flight_holds_the_clock_from_when_it_was_sent() {
    // Job 7 wants its reveal (time to 1061). Job 8's selection was sent at chain time 1003 and
    // may be mined already: its window ends at 1063 at the earliest, and its commits, on their
    // way once the worker hears of it, need the margin after a jump. Sent at 1004, time may
    // move; and once the selection's outcome is in, the committee's own window rules.
    let w = revealing();
    let mut selecting = World::new();
    (selecting.rec.onchain, selecting.rec.submitted) = (Some(U256::from(2)), true);
    selecting.rec.selecting_since = Some(1003);
    let mut recs = w.recs();
    recs.insert(JobId(8), selecting.rec.clone());
    assert_eq!(w.sched.time_limit(&recs), 1003 + WINDOWS.commit_s);
    assert_eq!(w.sched.warp_target(&recs), None);
    recs.get_mut(&JobId(8)).unwrap().selecting_since = Some(1004);
    assert_eq!(w.sched.warp_target(&recs), Some(1061));
    selecting.outcome(Outcome::NotYetSelected { too_early: true }, vec![]);
    assert_eq!(selecting.rec.selecting_since, None);
    recs.insert(JobId(8), selecting.rec);
    let job_7_reveals_by = 1000 + WINDOWS.commit_s + WINDOWS.reveal_s;
    assert_eq!(w.sched.time_limit(&recs), job_7_reveals_by);
}

#[test]
fn a_vote_within_a_reorgs_reach_holds_its_window_until_it_is_deep() {
    // Job 7's commit was just mined (head unknown yet): it holds its commit window, whose end
    // its own reveal waits for; the worker then reads the head (100) and mines the blocks that
    // put the commit out of a reorg's reach, and time may move.
    let mut w = revealing();
    w.rec.votes.insert(V1, (true, B256::ZERO, false));
    w.outcome(Outcome::Committed(V1), vec![]);
    assert_eq!(w.rec.votes_deep_at, Some(0));
    w.sched.head = 100;
    assert_eq!(w.sched.time_limit(&w.recs()), 1000 + WINDOWS.commit_s);
    assert_eq!(
        w.sched.blocks_to_deepen(&w.recs()),
        0,
        "not known how deep yet"
    );
    w.rec.votes_deep_at = Some(100 + REORG_REACH_BLOCKS);
    assert_eq!(w.sched.warp_target(&w.recs()), None);
    assert_eq!(w.sched.blocks_to_deepen(&w.recs()), REORG_REACH_BLOCKS);
    w.sched.head = 100 + REORG_REACH_BLOCKS;
    assert_eq!(w.sched.warp_target(&w.recs()), Some(1061));
    assert_eq!(w.sched.blocks_to_deepen(&w.recs()), 0);

    // Job 8 finished early (every reveal in) 12 blocks ago: a reorg may still take its reveals,
    // so the clock stays short of its reveal window's end (945 + 60 + 60).
    let mut finished = revealing().rec;
    (finished.selected_at, finished.finished) = (945, true);
    finished.revealed.insert(V1);
    finished.votes_deep_at = Some(120);
    let mut recs = w.recs();
    recs.insert(JobId(8), finished.clone());
    assert_eq!(w.sched.warp_target(&recs), Some(1061), "before it: free");
    // Job 7, revealed, waits for time past it (a dispute window, say).
    let job_7 = recs.get_mut(&JOB).unwrap();
    job_7.revealed.insert(V1);
    job_7.finish_wait = Some((1200, true));
    assert_eq!(w.sched.time_limit(&recs), 1065);
    assert_eq!(w.sched.warp_target(&recs), None);
    assert_eq!(w.sched.blocks_to_deepen(&recs), 4);
    w.sched.head = 120;
    assert_eq!(w.sched.warp_target(&recs), Some(1200));
    // A window still in use is not released by depth: nothing to mine for it.
    w.sched.head = 116;
    let mut live = revealing().rec;
    live.selected_at = 1100; // its commit window ends at 1160, its commit is still to come
    live.votes.insert(V1, (true, B256::ZERO, false));
    live.votes_deep_at = None;
    recs.insert(JobId(9), live);
    assert_eq!(w.sched.blocks_to_deepen(&recs), 0);
}

#[test]
fn a_replayed_vote_is_held_as_if_just_mined() {
    let mut state = MirrorState::default();
    let entries = [
        Entry::Done {
            job: JOB.0,
            step: format!("reveal:{V1}"),
        },
        Entry::Done {
            job: 8,
            step: "submit".into(),
        },
    ];
    let _ = state.replay(&entries, Address::ZERO);
    let held = |job: u64| state.recs.get(&JobId(job)).and_then(|r| r.votes_deep_at);
    assert_eq!(held(7), Some(0));
    assert_eq!(held(8), None);
}
