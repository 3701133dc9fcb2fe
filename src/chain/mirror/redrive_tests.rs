//! Unit tests of `redrive.rs`: what a reorg took is reset, sent again with the journal's votes,
//! and nothing the chain still holds is sent twice.

use super::*;
use crate::chain::mirror::MirrorStats;
use crate::chain::mirror::actions::Ctx;
use crate::chain::mirror::fake_chain::fixtures::{AGENT, POSTER, V1, V2, WINDOWS};
use crate::chain::mirror::fake_chain::{FakeChain, block_on};
use crate::chain::mirror::schedule::{Action, Schedule};
use alloy::primitives::{B256, U256};

const SELECTED_AT: u64 = 1_000;
const SALT1: B256 = B256::repeat_byte(0x51);
const SALT2: B256 = B256::repeat_byte(0x52);

/// A job the engine settled: created, applied, submitted, two commits and reveals, finalized.
fn settled() -> Rec {
    let mut r = Rec {
        poster: POSTER,
        reward: U256::from(10),
        deadline_s: 5_000,
        spec_hash: B256::repeat_byte(3),
        onchain: Some(U256::from(40)),
        agent: Some(AGENT),
        assigned: true,
        applied: true,
        submitted: true,
        selected_at: SELECTED_AT,
        finished: true,
        outcome: Some(true),
        ..Default::default()
    };
    r.votes.insert(V1, (true, SALT1, true));
    r.votes.insert(V2, (false, SALT2, true));
    r.revealed.extend([V1, V2]);
    r
}

/// The chain after a reorg: state, committee and the votes it still holds.
fn chain(
    state: u8,
    committee: &[Address],
    committed: &[Address],
    revealed: &[Address],
) -> FakeChain {
    FakeChain::with(|f| {
        f.meta = (state, false);
        f.spec_hash = B256::repeat_byte(3);
        f.committee = committee.to_vec();
        f.votes.committed = committed.iter().copied().collect();
        f.votes.revealed = revealed.iter().copied().collect();
        f.time = SELECTED_AT + WINDOWS.commit_s + 1;
    })
}

/// Reads the fake chain and resets `r`; returns what came back.
fn redrive(chain: &FakeChain, r: &mut Rec) -> Vec<String> {
    let now = chain.get().time;
    let held = block_on(held(chain, r, now)).expect("fake reads");
    reset_lost(r, &held)
}

/// Runs the schedule's actions against the fake chain until the job has none left.
fn drive(chain: &FakeChain, r: &mut Rec) {
    let mut sched = Schedule::new(WINDOWS);
    sched.chain_now = chain.get().time;
    let (mut view, stats) = (View::default(), MirrorStats::default());
    for _ in 0..20 {
        let actions = sched.next_actions(r);
        if actions.is_empty() {
            return;
        }
        for action in actions {
            let ctx = Ctx {
                chain: chain.clone(),
                job_registry: Address::repeat_byte(0xaa),
                validation_module: Address::repeat_byte(0xbb),
                owner: Address::repeat_byte(9),
                dispute_module: None,
                registry_via: None,
                dispute_via: None,
                devnet: false,
                windows: WINDOWS,
                chain_now: sched.chain_now,
                rec: r.clone(),
                on_signed: None,
                signed_before: Vec::new(),
            };
            let outcome = block_on(ctx.perform(action));
            sched.apply(JobId(1), r, outcome, vec![], &mut view, &stats);
        }
    }
    panic!("the job never finished: next {:?}", sched.next_actions(r));
}

#[test]
fn lost_reveals_and_finalize_of_a_settled_job_come_back_with_the_journaled_votes() {
    let c = chain(STATE_SUBMITTED, &[V1, V2], &[V1, V2], &[]);
    c.get()
        .moves
        .insert("ValidationModule.finalize", (STATE_COMPLETED, true));
    c.get()
        .moves
        .insert("JobRegistry.finalize", (STATE_FINALIZED, true));
    let mut r = settled();
    assert_eq!(redrive(&c, &mut r), ["2 reveal(s)", "finalize"]);
    assert!(!r.finished && r.engine_done && r.revealed.is_empty());
    assert_eq!(r.reveal_wanted, [V1, V2].into_iter().collect());
    // The same votes and salts, and the commits stay done.
    assert_eq!(r.votes[&V1], (true, SALT1, true));
    assert_eq!(r.votes[&V2], (false, SALT2, true));
    drive(&c, &mut r);
    assert_eq!(
        c.sent(),
        [
            "revealValidation",
            "revealValidation",
            "ValidationModule.finalize",
            "JobRegistry.finalize"
        ],
        "only the lost steps are sent; the committee is read, not selected again"
    );
    assert!(r.finished && r.outcome == Some(true));
}

#[test]
fn a_lost_create_is_sent_again_and_everything_after_it_too() {
    let c = chain(STATE_NONE, &[], &[], &[]);
    let mut r = settled();
    let back = redrive(&c, &mut r);
    assert_eq!(
        back,
        [
            "created",
            "applied",
            "submitted",
            "committee selected",
            "2 commit(s)",
            "2 reveal(s)",
            "finalize"
        ]
    );
    assert_eq!(r.onchain, None);
    assert!(!r.applied && !r.submitted && r.submit_seen && r.committee.is_none());
    assert_eq!(r.selected_at, 0, "the new selection journals its own time");
    assert!(r.votes.values().all(|v| !v.2));
    assert_eq!(r.votes[&V2], (false, SALT2, false), "same vote, same salt");
    // Its old deadline has passed on chain: the new one leaves room for the job.
    assert!(r.deadline_s > c.get().time);
    let sched = Schedule::new(WINDOWS);
    assert_eq!(sched.next_actions(&r), [Action::Create]);
}

#[test]
fn an_id_now_holding_another_job_counts_as_lost() {
    let c = chain(STATE_FINALIZED, &[], &[], &[]);
    c.get().spec_hash = B256::repeat_byte(0xee);
    let mut r = settled();
    assert_eq!(
        redrive(&c, &mut r).first().map(String::as_str),
        Some("created")
    );
}

#[test]
fn what_the_chain_still_holds_is_never_reset() {
    let c = chain(STATE_FINALIZED, &[], &[], &[]);
    let mut r = settled();
    let before = format!("{r:?}");
    assert!(redrive(&c, &mut r).is_empty());
    assert_eq!(format!("{r:?}"), before);
    // Half a round: V1's commit is held, V2's is gone; only V2 commits again.
    let c = chain(STATE_SUBMITTED, &[V1, V2], &[V1], &[]);
    let mut r = settled();
    r.revealed.clear();
    r.finished = false;
    r.outcome = None;
    assert_eq!(redrive(&c, &mut r), ["1 commit(s)"]);
    r.committee = Some(vec![V1, V2]);
    assert_eq!(
        Schedule::new(WINDOWS).next_actions(&r),
        [Action::Commit(V2)]
    );
}

#[test]
fn a_lost_selection_selects_again_and_commits_the_journaled_votes() {
    let c = chain(STATE_SUBMITTED, &[], &[], &[]);
    let mut r = settled();
    r.committee = Some(vec![V1, V2]);
    let back = redrive(&c, &mut r);
    assert_eq!(back[0], "committee selected");
    assert!(r.committee.is_none() && r.selected_at == 0);
    assert_eq!(Schedule::new(WINDOWS).next_actions(&r), [Action::Select]);
}

#[test]
fn jobs_without_a_chain_finish_adopted_ones_and_busy_ones_are_left_alone() {
    // Failed before submission: the engine's finish was never on chain.
    let c = chain(STATE_APPLIED, &[], &[], &[]);
    let mut failed = Rec {
        onchain: Some(U256::from(1)),
        spec_hash: B256::repeat_byte(3),
        applied: true,
        finished: true,
        ..Default::default()
    };
    assert!(redrive(&c, &mut failed).is_empty() && failed.finished);
    // ... but its create and apply are, and come back when a reorg takes them.
    let gone = chain(STATE_NONE, &[], &[], &[]);
    failed.poster = POSTER;
    failed.assigned = true;
    failed.agent = Some(AGENT);
    assert_eq!(redrive(&gone, &mut failed), ["created", "applied"]);
    assert!(!failed.finished);
    assert_eq!(
        Schedule::new(WINDOWS).next_actions(&failed),
        [Action::Create]
    );
    failed.onchain = Some(U256::from(2));
    assert_eq!(
        Schedule::new(WINDOWS).next_actions(&failed),
        [Action::Apply]
    );
    failed.applied = true;
    assert!(Schedule::new(WINDOWS).next_actions(&failed).is_empty());
    let mut adopted = settled();
    adopted.adopted = true;
    assert!(redrive(&gone, &mut adopted).is_empty());
    let mut busy = settled();
    busy.busy = 1;
    assert!(redrive(&gone, &mut busy).is_empty());
    // A cancel the reorg took is sent again.
    let created = chain(STATE_CREATED, &[], &[], &[]);
    let mut cancelled = Rec {
        onchain: Some(U256::from(1)),
        spec_hash: B256::repeat_byte(3),
        cancelled: true,
        ..Default::default()
    };
    assert_eq!(redrive(&created, &mut cancelled), ["cancel"]);
}

#[test]
fn a_finished_job_is_watched_until_deep_enough() {
    let mut sched = Schedule::new(WINDOWS);
    let mut recs = std::collections::BTreeMap::new();
    let mut r = settled();
    r.finished = false;
    r.busy = 1;
    let (mut view, stats) = (View::default(), MirrorStats::default());
    let outcome = crate::chain::mirror::schedule::Outcome::Finished(true);
    sched.apply(JobId(1), &mut r, outcome, vec![], &mut view, &stats);
    assert_eq!(r.watch_until, Some(0));
    recs.insert(JobId(1), r);
    assert!(
        !sched.idle(&recs),
        "a drain waits for the finish to be final"
    );
    recs.get_mut(&JobId(1)).unwrap().watch_until = None;
    assert!(sched.idle(&recs));
}

#[test]
fn a_released_job_is_released_again_when_a_reorg_takes_the_release() {
    // Failed before submit, expired on chain; the reorg took the expiry: expire it again.
    let applied = chain(STATE_APPLIED, &[], &[], &[]);
    let mut expired = Rec {
        poster: POSTER,
        onchain: Some(U256::from(1)),
        spec_hash: B256::repeat_byte(3),
        assigned: true,
        applied: true,
        release: true,
        finished: true,
        outcome: Some(false),
        ..Default::default()
    };
    assert_eq!(redrive(&applied, &mut expired), ["expired"]);
    assert_eq!(
        Schedule::new(WINDOWS).next_actions(&expired),
        [Action::Release]
    );
    // The reorg took the job itself: created again (the journal's mapping must hold), then
    // released.
    let gone = chain(STATE_NONE, &[], &[], &[]);
    let mut released = Rec {
        poster: POSTER,
        onchain: Some(U256::from(1)),
        spec_hash: B256::repeat_byte(3),
        release: true,
        cancelled: false,
        ..Default::default()
    };
    assert_eq!(redrive(&gone, &mut released), ["created"]);
    assert_eq!(
        Schedule::new(WINDOWS).next_actions(&released),
        [Action::Create]
    );
    released.onchain = Some(U256::from(2));
    released.recreate = false;
    assert_eq!(
        Schedule::new(WINDOWS).next_actions(&released),
        [Action::Release]
    );
}
