//! Unit tests of `actions.rs`.

use super::*;
use crate::chain::mirror::fake_chain::{Fake, FakeChain, block_on};

use crate::chain::mirror::fake_chain::fixtures::{AGENT, POSTER, V1, V2, WINDOWS};

const OWNER: Address = Address::repeat_byte(9);

fn ctx(chain: &FakeChain, devnet: bool) -> Ctx<FakeChain> {
    let mut rec = Rec {
        poster: POSTER,
        onchain: Some(U256::from(40)),
        agent: Some(AGENT),
        selected_at: 1000,
        ..Default::default()
    };
    rec.votes.insert(V1, (true, B256::repeat_byte(5), false));
    Ctx {
        chain: chain.clone(),
        job_registry: Address::repeat_byte(0xaa),
        validation_module: Address::repeat_byte(0xbb),
        owner: OWNER,
        dispute_module: None,
        registry_via: None,
        dispute_via: None,
        devnet,
        windows: WINDOWS,
        chain_now: 1000,
        rec,
        on_signed: None,
        signed_before: Vec::new(),
    }
}

fn run(chain: &FakeChain, action: Action) -> Outcome {
    run_on(chain, false, action)
}

fn run_on(chain: &FakeChain, devnet: bool, action: Action) -> Outcome {
    block_on(ctx(chain, devnet).perform(action))
}

fn revert(label: &'static str, reason: &str) -> FakeChain {
    FakeChain::with(|f| {
        f.reverts.insert(label, reason.into());
    })
}

fn created_log(id: u64) -> alloy::primitives::LogData {
    JobRegistry::JobCreated {
        jobId: U256::from(id),
        employer: POSTER,
        agent: Address::ZERO,
        reward: U256::ZERO,
        stake: U256::ZERO,
        fee: U256::ZERO,
        specHash: B256::ZERO,
        uri: String::new(),
    }
    .encode_log_data()
}

#[test]
fn create_reads_the_new_id_from_its_event() {
    let chain = FakeChain::with(|f| {
        f.logs.insert("createJob", vec![created_log(77)]);
    });
    assert_eq!(
        run(&chain, Action::Create),
        Outcome::Created(U256::from(77))
    );
    assert_eq!(chain.get().sent, vec![("createJob", POSTER)]);
    let no_event = FakeChain::default();
    let failed = run(&no_event, Action::Create);
    assert!(matches!(failed, Outcome::Failed(ref m) if m.contains("no JobCreated event")));
}

/// A `createJob` signed before is settled first: another is signed only once none of the earlier
/// ones can land any more, and each signature reaches the journal hook before it is sent.
#[test]
fn create_settles_what_was_signed_before_and_journals_what_it_signs() {
    use crate::chain::send::{OnSigned, SignedTx};
    use std::sync::{Arc, Mutex};
    let raw = alloy::primitives::Bytes::from_static(b"signed createJob");
    let before = vec![SignedCreate {
        nonce: 3,
        hash: B256::repeat_byte(1),
        raw,
    }];
    let perform = |chain: &FakeChain, on_signed: Option<OnSigned>| {
        let mut c = ctx(chain, false);
        (c.signed_before, c.on_signed) = (before.clone(), on_signed);
        block_on(c.perform(Action::Create))
    };
    let answering = |landed: Landed| FakeChain::with(|f| f.landed = Some(landed));
    // One of them was mined: that is the job, and nothing is sent.
    let mined = answering(Landed::Created(U256::from(5)));
    assert_eq!(perform(&mined, None), Outcome::Created(U256::from(5)));
    assert!(mined.sent().is_empty());
    assert_eq!(mined.get().asked_landed, before);
    // It may still be mined: nothing is signed, the step is tried again later.
    let pending = answering(Landed::Pending(B256::repeat_byte(1)));
    let waits = perform(&pending, None);
    assert!(matches!(waits, Outcome::Unreachable(ref m) if m.contains("not mined yet")));
    assert!(pending.sent().is_empty());
    // Provably gone: a new one is signed, and journaled before it is sent.
    let gone = answering(Landed::Gone);
    gone.get().logs.insert("createJob", vec![created_log(9)]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook: OnSigned = {
        let seen = seen.clone();
        Arc::new(move |tx: SignedTx<'_>| {
            seen.lock().unwrap().push(tx.hash);
            Ok(())
        })
    };
    assert_eq!(perform(&gone, Some(hook)), Outcome::Created(U256::from(9)));
    assert_eq!(
        (gone.sent(), seen.lock().unwrap().len()),
        (vec!["createJob"], 1)
    );
    // A signature that cannot be journaled is not sent: tried again later.
    let failing: OnSigned = Arc::new(|_| Err(eyre::eyre!("disk full")));
    let unsent = answering(Landed::Gone);
    let retried = perform(&unsent, Some(failing));
    assert!(matches!(retried, Outcome::Unreachable(ref m) if m.contains("disk full")));
    assert!(unsent.sent().is_empty());
}

/// A job whose `createJob` a reorg took is created again only if the chain holds no job with its
/// spec under any id (its old transaction, sent again after the reorg, may have been mined under
/// a new id); a first creation does not search.
#[test]
fn a_re_created_job_the_chain_holds_under_another_id_is_not_created_twice() {
    let perform = |chain: &FakeChain, recreate: bool| {
        let mut c = ctx(chain, false);
        (c.rec.onchain, c.rec.recreate) = (None, recreate);
        c.rec.spec_hash = B256::repeat_byte(7);
        block_on(c.perform(Action::Create))
    };
    let holds = FakeChain::with(|f| f.found = Some(U256::from(12)));
    assert_eq!(perform(&holds, true), Outcome::Created(U256::from(12)));
    assert!(holds.sent().is_empty());
    assert_eq!(holds.get().asked_found, vec![B256::repeat_byte(7)]);
    let lost = FakeChain::with(|f| {
        f.logs.insert("createJob", vec![created_log(13)]);
    });
    assert_eq!(perform(&lost, true), Outcome::Created(U256::from(13)));
    assert_eq!(lost.sent(), vec!["createJob"]);
    let first = FakeChain::with(|f| {
        f.found = Some(U256::from(12));
        f.logs.insert("createJob", vec![created_log(14)]);
    });
    assert_eq!(perform(&first, false), Outcome::Created(U256::from(14)));
    assert!(first.get().asked_found.is_empty());
}

#[test]
fn a_step_the_chain_already_has_is_not_sent_again() {
    let applied = FakeChain::with(|f| f.meta = (2, false));
    assert_eq!(run(&applied, Action::Apply), Outcome::Applied);
    assert_eq!(run(&applied, Action::Cancel), Outcome::Cancelled);
    assert!(applied.sent().is_empty());
    let created = FakeChain::with(|f| f.meta = (1, false));
    assert_eq!(run(&created, Action::Apply), Outcome::Applied);
    assert_eq!(created.get().sent, vec![("applyForJob", AGENT)]);
    let submitted = FakeChain::with(|f| f.meta = (3, false));
    assert_eq!(run(&submitted, Action::Submit), Outcome::Submitted);
    assert!(submitted.sent().is_empty());
    assert_eq!(run(&applied, Action::Submit), Outcome::Submitted);
    assert_eq!(applied.get().sent, vec![("submit", AGENT)]);
}

/// An id that holds another job (a reorg moved ours) is refused before anything is sent, and
/// before another job's state passes for this job's step being done.
#[test]
fn a_step_on_an_id_holding_another_job_is_refused_unsent() {
    let other = |state: u8| {
        FakeChain::with(|f| {
            f.meta = (state, false);
            f.spec_hash = B256::repeat_byte(0x33);
        })
    };
    for (state, action) in [
        (1, Action::Apply),
        (2, Action::Apply),
        (2, Action::Submit),
        (1, Action::Cancel),
    ] {
        let chain = other(state);
        let refused = run(&chain, action);
        assert!(
            matches!(refused, Outcome::Failed(ref m) if m.contains("holds another job")),
            "{action:?} on a job in state {state}: {refused:?}"
        );
        assert!(chain.sent().is_empty(), "{action:?}");
    }
}

#[test]
fn an_adopted_job_is_never_cancelled_by_us() {
    let chain = FakeChain::with(|f| f.meta = (1, false));
    let mut c = ctx(&chain, false);
    c.rec.adopted = true;
    assert_eq!(block_on(c.perform(Action::Cancel)), Outcome::Cancelled);
    assert!(chain.sent().is_empty());
    assert_eq!(run(&chain, Action::Cancel), Outcome::Cancelled);
    assert_eq!(chain.get().sent, vec![("cancelJob", POSTER)]);
}

#[test]
fn a_committee_already_on_chain_is_taken_as_it_is() {
    let chain = FakeChain::with(|f| {
        (f.committee, f.time) = (vec![V2, V1], 5000);
    });
    assert_eq!(
        run(&chain, Action::Select),
        Outcome::Selected(vec![V2, V1], 5000)
    );
    assert!(chain.sent().is_empty());
}

#[test]
fn selection_sends_after_a_clean_dry_run_and_reads_the_chains_committee() {
    let selected = ValidationModule::ValidatorsSelected {
        jobId: U256::from(40),
        validators: vec![V2],
    };
    let chain = FakeChain::with(|f| {
        f.time = 1234;
        f.logs
            .insert("selectValidators", vec![selected.encode_log_data()]);
    });
    assert_eq!(
        run(&chain, Action::Select),
        Outcome::Selected(vec![V2], 1234)
    );
    assert_eq!(chain.get().sent, vec![("selectValidators", AGENT)]);
}

#[test]
fn selection_too_early_mines_one_block_on_the_devnet_only() {
    let too_early = |n: usize| {
        FakeChain::with(|f| {
            f.dry_reverts = vec!["SelectionTooEarly()".to_string(); n].into();
        })
    };
    let waiting = Outcome::NotYetSelected { too_early: true };
    let remote = too_early(1);
    assert_eq!(run_on(&remote, false, Action::Select), waiting);
    assert_eq!(remote.get().mined, 0);
    let devnet = too_early(1);
    let out = run_on(&devnet, true, Action::Select);
    assert_eq!(devnet.get().mined, 1);
    assert_eq!(out, waiting, "sent, but no ValidatorsSelected event");
    assert_eq!(devnet.sent(), vec!["selectValidators"]);
    let stubborn = too_early(2);
    assert_eq!(run_on(&stubborn, true, Action::Select), waiting);
    assert_eq!(stubborn.get().mined, 1);
    assert!(stubborn.sent().is_empty());
    let short = FakeChain::with(|f| f.dry_reverts = vec!["NotEnoughEligible()".into()].into());
    let no_stake = Outcome::NotYetSelected { too_early: false };
    assert_eq!(run(&short, Action::Select), no_stake);
    let raced = revert("selectValidators", "NotEnoughEligible()");
    assert_eq!(run(&raced, Action::Select), no_stake);
    // The reference's words for the same: bans thinned the pool, or stake is locked elsewhere.
    for reason in ["InsufficientValidators()", "InsufficientStake()"] {
        let short = FakeChain::with(|f| f.dry_reverts = vec![reason.into()].into());
        assert_eq!(run(&short, Action::Select), no_stake, "{reason}");
    }
}

#[test]
fn a_selection_that_selected_nobody_is_tried_next_by_another_address() {
    let chain = FakeChain::default();
    for (tries, caller) in [(0, AGENT), (1, POSTER), (2, AGENT)] {
        let mut c = ctx(&chain, false);
        c.rec.select_tries = tries;
        let out = block_on(c.perform(Action::Select));
        assert_eq!(out, Outcome::NotYetSelected { too_early: true });
        assert_eq!(chain.get().sent.last(), Some(&("selectValidators", caller)));
    }
}

#[test]
fn commits_and_reveals_read_the_chains_refusals() {
    let commit = Action::Commit(V1);
    assert_eq!(run(&FakeChain::default(), commit), Outcome::Committed(V1));
    let again = revert("commitValidation", "AlreadyCommitted()");
    assert_eq!(run(&again, commit), Outcome::Committed(V1));
    // A vote that comes as the window closes on chain (selected at 1000) is missed unsent.
    let chain = FakeChain::default();
    let mut late = ctx(&chain, false);
    late.chain_now = 1000 + WINDOWS.commit_s - 1;
    assert_eq!(block_on(late.perform(commit)), Outcome::Missed(V1));
    assert!(chain.get().sent.is_empty());
    for reason in ["CommitPhaseClosed()", "NotSelected()"] {
        assert_eq!(
            run(&revert("commitValidation", reason), commit),
            Outcome::Missed(V1)
        );
    }
    let reveal = Action::Reveal(V1);
    let cases = [
        ("AlreadyRevealed()", Outcome::Revealed(V1)),
        ("RevealPhaseNotOpen()", Outcome::NotYet),
        ("RevealPhaseClosed()", Outcome::Missed(V1)),
        ("NotCommitted()", Outcome::CommitLost(V1)),
    ];
    for (reason, expected) in cases {
        assert_eq!(run(&revert("revealValidation", reason), reveal), expected);
    }
    let chain = FakeChain::default();
    assert_eq!(run(&chain, reveal), Outcome::Revealed(V1));
    assert_eq!(chain.get().sent, vec![("revealValidation", V1)]);
    // A reveal refused once validation has closed on chain (a round the engine re-ran after a
    // restart) missed it; the job is not detached. While validation is open, it is.
    let closed = revert("revealValidation", "NotSelected()");
    closed.get().meta = (STATE_COMPLETED, true);
    assert_eq!(run(&closed, reveal), Outcome::Missed(V1));
    let open = revert("revealValidation", "NotSelected()");
    open.get().meta = (STATE_SUBMITTED, false);
    assert!(matches!(run(&open, reveal), Outcome::Failed(_)));
}

#[test]
fn finishing_waits_for_the_windows_the_chain_names() {
    let reveal_deadline = 1000 + WINDOWS.commit_s + WINDOWS.reveal_s;
    let finish = Action::Finish { force: false };
    let pending = revert("ValidationModule.finalize", "RevealPending()");
    pending.get().meta = (3, false);
    assert_eq!(
        run(&pending, finish),
        Outcome::WaitUntil(reveal_deadline + 1, false)
    );
    // On the devnet (gas not estimated) a finalize with a reveal missing is tried dry first:
    // refused, nothing is sent to be mined as a revert.
    let dry = FakeChain::with(|f: &mut Fake| {
        f.meta = (3, false);
        f.dry_reverts.push_back("RevealPending()".into());
    });
    let mut c = ctx(&dry, true);
    c.rec.committee = Some(vec![V1, V2]);
    c.rec.revealed.insert(V1);
    let waits = Outcome::WaitUntil(reveal_deadline + 1, false);
    assert_eq!(block_on(c.perform(finish)), waits);
    assert!(dry.get().sent.is_empty());
    let no_quorum = revert("ValidationModule.finalize", "QuorumNotReached()");
    no_quorum.get().meta = (3, false);
    let grace = WINDOWS.force_finalize_grace_s;
    let forced = Outcome::WaitUntil(reveal_deadline + grace + 1, true);
    assert_eq!(run(&no_quorum, finish), forced);
    // Forced, a refusal is an error: the job detaches.
    let refused = revert("ValidationModule.forceFinalize", "QuorumNotReached()");
    refused.get().meta = (3, false);
    let out = run(&refused, Action::Finish { force: true });
    assert!(matches!(out, Outcome::Failed(_)), "{out:?}");
}

/// Reference mode: SystemPause owns the registry, so governance's resolveDispute is wrapped in
/// `SystemPause.executeGovernanceCall(registry, resolveDispute(...))` and sent to SystemPause.
#[test]
fn in_reference_mode_the_dispute_is_resolved_through_system_pause() {
    let chain = FakeChain::with(|f: &mut Fake| {
        f.meta = (5, false);
        f.moves.insert("resolveDispute", (4, false));
        f.moves.insert("JobRegistry.finalize", (6, false));
    });
    let system_pause = Address::repeat_byte(0x5e);
    let mut c = ctx(&chain, false);
    c.registry_via = Some(system_pause);
    let out = block_on(c.perform(Action::Finish { force: false }));
    assert_eq!(out, Outcome::Finished(false));
    let calls = chain.get().calls.clone();
    let (label, to, input) = &calls[0];
    assert_eq!((*label, *to), ("resolveDispute", system_pause));
    let wrapped = SystemPause::executeGovernanceCallCall::abi_decode(input).expect("wrapped");
    assert_eq!(wrapped.target, Address::repeat_byte(0xaa));
    let inner = JobRegistry::resolveDisputeCall::abi_decode(&wrapped.data).expect("inner");
    assert!(inner.employerWins);
    assert_eq!(chain.get().sent[0], ("resolveDispute", OWNER));
    assert_eq!(
        calls[1].1,
        Address::repeat_byte(0xaa),
        "finalize goes direct"
    );
}

#[test]
fn a_rejected_job_is_resolved_for_the_employer_then_finalized() {
    let chain = FakeChain::with(|f: &mut Fake| {
        f.meta = (3, false);
        f.moves.insert("ValidationModule.finalize", (5, false));
        f.moves.insert("resolveDispute", (4, false));
        f.moves.insert("JobRegistry.finalize", (6, false));
    });
    let out = run(&chain, Action::Finish { force: false });
    assert_eq!(out, Outcome::Finished(false));
    let expected = vec![
        ("ValidationModule.finalize", AGENT),
        ("resolveDispute", OWNER),
        ("JobRegistry.finalize", POSTER),
    ];
    assert_eq!(chain.get().sent, expected);
    // Finished already (before a restart): nothing is sent, the verdict is read.
    let done = FakeChain::with(|f| f.meta = (6, true));
    assert_eq!(
        run(&done, Action::Finish { force: true }),
        Outcome::Finished(true)
    );
    assert!(done.sent().is_empty());
    // Not submitted yet on chain: nothing to close.
    let early = FakeChain::with(|f| f.meta = (2, false));
    assert_eq!(
        run(&early, Action::Finish { force: false }),
        Outcome::NotYet
    );
}

#[test]
fn errors_pause_retry_or_detach() {
    let paused = revert("applyForJob", "EnforcedPause()");
    paused.get().meta = (1, false);
    assert_eq!(run(&paused, Action::Apply), Outcome::ChainPaused);
    // A revert without a reason while the chain is paused: the pause, not the job.
    let landed = FakeChain::with(|f| {
        (f.meta, f.paused) = ((1, false), true);
        f.reverts.insert("applyForJob", String::new());
    });
    assert_eq!(run(&landed, Action::Apply), Outcome::ChainPaused);
    let raced = FakeChain::with(|f| {
        f.meta = (1, false);
        f.raced.insert("applyForJob");
    });
    assert_eq!(run(&raced, Action::Apply), Outcome::NotYet);
    let refused = revert("applyForJob", "NotAuthorized()");
    refused.get().meta = (1, false);
    let out = run(&refused, Action::Apply);
    assert!(
        matches!(out, Outcome::Failed(ref m) if m.starts_with("Apply") && m.contains("NotAuthorized")),
        "{out:?}"
    );
    let mut no_agent = ctx(&FakeChain::default(), false);
    no_agent.rec.agent = None;
    let out = block_on(no_agent.perform(Action::Apply));
    assert!(
        matches!(out, Outcome::Failed(ref m) if m.contains("no key")),
        "{out:?}"
    );
}

#[test]
fn release_cancels_an_open_job_and_expires_an_applied_one_only_after_its_deadline() {
    let open = FakeChain::with(|f| f.meta = (STATE_CREATED, false));
    assert_eq!(run(&open, Action::Release), Outcome::Cancelled);
    assert_eq!(open.get().sent, [("cancelJob", POSTER)]);

    let applied = FakeChain::with(|f| {
        f.meta = (STATE_APPLIED, false);
        f.deadline = 1_000;
        f.time = 1_000;
    });
    assert_eq!(
        run(&applied, Action::Release),
        Outcome::WaitUntil(1_001, false)
    );
    assert!(
        applied.sent().is_empty(),
        "the chain would refuse it before the deadline"
    );
    applied.get().time = 1_001;
    assert_eq!(run(&applied, Action::Release), Outcome::Expired);
    assert_eq!(applied.get().sent, [("cancelExpiredJob", POSTER)]);

    let settled = FakeChain::with(|f| f.meta = (STATE_FINALIZED, false));
    assert_eq!(run(&settled, Action::Release), Outcome::Expired);
    assert!(settled.sent().is_empty());
}

#[test]
fn a_disputed_job_goes_through_the_dispute_module_and_its_window() {
    const DM: Address = Address::repeat_byte(0xdd);
    let finish = |chain: &FakeChain| {
        let mut c = ctx(chain, false);
        c.dispute_module = Some(DM);
        block_on(c.perform(Action::Finish { force: false }))
    };
    // No record yet: governance opens one, and the job waits for the window.
    let fresh = FakeChain::with(|f| {
        f.meta = (STATE_DISPUTED, false);
        f.dispute = (0, 300);
        f.time = 1_000;
    });
    assert_eq!(finish(&fresh), Outcome::WaitUntil(1_300, false));
    assert_eq!(
        fresh.get().sent,
        [("DisputeModule.raiseGovernanceDispute", OWNER)]
    );
    // Window not over: nothing is sent.
    let early = FakeChain::with(|f| {
        f.meta = (STATE_DISPUTED, false);
        f.dispute = (1_000, 300);
        f.time = 1_200;
    });
    assert_eq!(finish(&early), Outcome::WaitUntil(1_300, false));
    assert!(early.sent().is_empty());
    // Window over: resolved for the employer, then finalized by the employer.
    let due = FakeChain::with(|f| {
        f.meta = (STATE_DISPUTED, false);
        f.dispute = (1_000, 300);
        f.time = 1_300;
        f.moves
            .insert("DisputeModule.resolveDispute", (STATE_COMPLETED, false));
        f.moves
            .insert("JobRegistry.finalize", (STATE_FINALIZED, false));
    });
    assert_eq!(finish(&due), Outcome::Finished(false));
    assert_eq!(
        due.get().sent,
        [
            ("DisputeModule.resolveDispute", OWNER),
            ("JobRegistry.finalize", POSTER)
        ]
    );
}

#[test]
fn a_node_that_fails_is_retried_later_never_a_reason_to_detach() {
    let chain = FakeChain::with(|f| {
        f.meta = (STATE_CREATED, false);
        f.unreachable.insert("applyForJob");
    });
    assert!(matches!(
        run(&chain, Action::Apply),
        Outcome::Unreachable(_)
    ));
    let refused = revert("applyForJob", "NotAuthorizedAgent(0x02)");
    assert!(matches!(run(&refused, Action::Apply), Outcome::Failed(_)));
}

#[test]
fn the_references_words_for_done_and_not_yet_are_read_as_such() {
    // A round tallied by another caller first: the reference deleted it (NotSubmitted).
    let tallied = FakeChain::with(|f| {
        f.meta = (STATE_SUBMITTED, false);
        f.reverts
            .insert("ValidationModule.finalize", "NotSubmitted()".into());
    });
    assert_eq!(
        run(&tallied, Action::Finish { force: false }),
        Outcome::NotYet
    );
    // forceFinalize before its grace: the reference says RevealPending, and the job waits.
    let early = FakeChain::with(|f| {
        f.meta = (STATE_SUBMITTED, false);
        f.reverts
            .insert("ValidationModule.forceFinalize", "RevealPending()".into());
    });
    let grace = WINDOWS.commit_s + WINDOWS.reveal_s + WINDOWS.force_finalize_grace_s;
    assert_eq!(
        run(&early, Action::Finish { force: true }),
        Outcome::WaitUntil(1000 + grace + 1, true)
    );
    // A commit by a member the reference no longer counts (banned, or not on the committee).
    for reason in ["NotValidator()", "ValidatorBanned()"] {
        let refused = revert("commitValidation", reason);
        assert_eq!(
            run(&refused, Action::Commit(V1)),
            Outcome::Missed(V1),
            "{reason}"
        );
    }
}
