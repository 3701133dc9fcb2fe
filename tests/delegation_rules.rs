//! Sub-jobs asked for by an external agent with its result (`WorkReport::subjobs`): posted as
//! children of the job, funded by the agent, within the limits; a request the rules refuse fails
//! the job with the reason and posts nothing. Driven in-process (no bus, no disk).

use omega::config::Config;
use omega::domain::agent::{AgentReply, Progress, SubJobRequest, WorkReport};
use omega::domain::amount::Amount;
use omega::domain::events::{DomainEvent, OpenGate};
use omega::domain::job::{JobId, JobOrigin, JobSpec, JobStatus};
use omega::domain::ledger::{AccountId, STEWARD};
use omega::domain::world::{MAX_DELEGATION_DEPTH, MAX_SUBJOBS, World};
use serde_json::json;

const T0: u64 = 1_767_225_600_000;

fn world() -> World {
    let config: Config =
        serde_json::from_str(include_str!("../config/default_config.json")).unwrap();
    let (world, refused) = World::genesis(&config.world_setup(), 5, T0);
    assert!(refused.is_empty(), "{refused:?}");
    world
}

/// Runs cycles until `job` is active; returns its agent. The agent has not reported on it yet.
fn until_active(world: &mut World, job: JobId) -> AccountId {
    for _ in 0..300 {
        let now = world.state.now_ms + 200;
        world.step_inline(now, &OpenGate);
        world.take_events();
        let j = world.state.jobs.get(job).expect("the job is live");
        if j.status == JobStatus::Active {
            return j.assignee.unwrap();
        }
    }
    panic!("job {job} never became active");
}

fn request(title: &str, skills: &[&str], tokens: f64) -> SubJobRequest {
    SubJobRequest {
        title: title.into(),
        skills: skills.iter().map(|s| s.to_string()).collect(),
        reward: Amount::from_tokens(tokens),
        input: None,
    }
}

/// `agent` answers `job` done, with a result, asking for `subjobs`; returns the events.
fn answer(
    world: &mut World,
    agent: AccountId,
    job: JobId,
    subjobs: Vec<SubJobRequest>,
) -> Vec<DomainEvent> {
    let report = WorkReport {
        job,
        progress: Progress::Done { work_ok: true },
        delegate: false,
        innovation: 0.0,
        result: Some(alloy_primitives::B256::repeat_byte(7)),
        subjobs,
    };
    let reply = AgentReply {
        agent,
        cycle: world.state.cycle,
        work: vec![report],
        ..Default::default()
    };
    world.apply_replies(vec![reply], &OpenGate);
    world.take_events()
}

#[test]
fn asked_for_sub_jobs_become_children_funded_by_the_agent() {
    let mut world = world();
    let parent = JobId(1);
    let agent = until_active(&mut world, parent);
    let free = world.state.ledger.free(agent);
    let posted = world.state.counters.posted;
    let input = json!({"numbers": [3, 4], "text": "half"});
    let mut first = request("First half", &["energy"], 10.0);
    first.input = Some(input.clone().into());
    let subjobs = vec![first, request("Second half", &["finance", "audit"], 20.5)];
    let events = answer(&mut world, agent, parent, subjobs);

    let delegated: Vec<JobId> = (events.iter())
        .filter_map(|e| match e {
            DomainEvent::DelegatedJob { parent: p, job, .. } if *p == parent => Some(*job),
            _ => None,
        })
        .collect();
    assert_eq!(delegated.len(), 2, "{events:?}");
    assert_eq!(world.state.counters.posted, posted + 2);
    let p = world.state.jobs.get(parent).unwrap();
    assert_eq!(p.children, delegated);
    assert_eq!(p.status, JobStatus::Validating, "the result is submitted");
    let (deadline, energy) = (p.deadline_ms, p.energy);
    let a = world.state.jobs.get(delegated[0]).unwrap();
    let b = world.state.jobs.get(delegated[1]).unwrap();
    for (child, title) in [(a, "First half"), (b, "Second half")] {
        assert_eq!(&*child.title, title);
        assert_eq!(child.parent, Some(parent));
        assert_eq!(child.lineage, vec![parent]);
        assert_eq!(child.poster, agent, "the delegating agent posts it");
        assert_eq!(child.deadline_ms, deadline);
        assert_eq!(child.energy, energy * 0.5 / 2.0);
        assert_eq!(child.status, JobStatus::Pending);
    }
    assert_eq!(a.input.as_deref(), Some(&input));
    assert_eq!(b.input, None);
    assert_eq!(b.skills.to_vec(), vec!["finance", "audit"]);
    // The agent escrowed both rewards and their burn fees.
    let ratio = world.state.params.burn_ratio;
    let escrow: Amount = [a.reward, b.reward]
        .iter()
        .map(|r| *r + r.mul_ratio(ratio))
        .sum();
    assert_eq!(a.reward, Amount::from_tokens(10.0));
    assert_eq!(
        world.state.ledger.free(agent),
        free.checked_sub(escrow).unwrap()
    );
    assert!(world.state.ledger.totals().balanced());
}

/// Each refused request: the job fails with the reason, nothing is posted, nothing is escrowed.
#[test]
fn a_request_the_rules_refuse_fails_the_job_and_posts_nothing() {
    type Ask = fn(Amount, Amount) -> Vec<SubJobRequest>;
    let cases: [(Ask, &str); 6] = [
        (
            |_, _| {
                (0..=MAX_SUBJOBS)
                    .map(|_| request("x", &["energy"], 1.0))
                    .collect()
            },
            "at most 8 allowed",
        ),
        (
            |parent, _| {
                let half = parent.tokens() / 2.0;
                vec![
                    request("a", &["energy"], half),
                    request("b", &["energy"], half + 1.0),
                ]
            },
            "more than the job's",
        ),
        (
            |_, _| {
                vec![
                    request("a", &["energy"], 1.0),
                    request("b", &["poetry"], 1.0),
                ]
            },
            "needs skill \"poetry\", which no agent has",
        ),
        (
            |_, free| vec![request("a", &["energy"], free.tokens() + 1.0)],
            "free",
        ),
        (|_, _| vec![request(" ", &["energy"], 1.0)], "has no title"),
        (|_, _| vec![request("a", &[], 1.0)], "at least one skill"),
    ];
    for (ask, expected) in cases {
        let mut world = world();
        let parent = JobId(1);
        let agent = until_active(&mut world, parent);
        let (free, posted) = (world.state.ledger.free(agent), world.state.counters.posted);
        let reward = world.state.jobs.get(parent).unwrap().reward;
        let subjobs = ask(reward, free);
        let total: Amount = subjobs.iter().map(|r| r.reward).sum();
        assert!(
            expected != "free" || total <= reward,
            "the case tests funds only"
        );
        let events = answer(&mut world, agent, parent, subjobs);
        let reason = (events.iter())
            .find_map(|e| match e {
                DomainEvent::JobError { job, reason, .. } if *job == parent => Some(reason),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{expected}: no job_error in {events:?}"));
        assert!(
            reason.contains("sub-jobs refused") && reason.contains(expected),
            "{reason}"
        );
        assert_eq!(
            world.state.jobs.get(parent).unwrap().status,
            JobStatus::Failed
        );
        assert_eq!(
            world.state.counters.posted, posted,
            "{expected}: nothing posted"
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, DomainEvent::DelegatedJob { .. }))
        );
        assert!(
            world.state.ledger.free(agent) <= free,
            "nothing escrowed for sub-jobs"
        );
        assert!(world.state.ledger.totals().balanced());
    }
}

#[test]
fn delegation_goes_no_deeper_than_the_limit() {
    let mut world = world();
    // A chain of jobs, each the child of the one before: the last is at the deepest level a
    // sub-job may be posted at, so it may not delegate further.
    let mut parent = None;
    for depth in 0..=MAX_DELEGATION_DEPTH {
        let spec = JobSpec {
            title: format!("depth {depth}").into(),
            reward: Amount::from_tokens(100.0),
            deadline_ms: T0 + 3_600_000,
            energy: 10.0,
            compute: 10.0,
            skills: vec!["tokenomics".to_string()].into(),
            poster: STEWARD,
            parent,
            origin: JobOrigin::Local,
            input: None,
        };
        parent = Some(world.post_job(spec).unwrap());
    }
    let deepest = parent.unwrap();
    assert_eq!(
        world.state.jobs.get(deepest).unwrap().lineage.len(),
        MAX_DELEGATION_DEPTH
    );
    let agent = until_active(&mut world, deepest);
    let events = answer(
        &mut world,
        agent,
        deepest,
        vec![request("a", &["energy"], 1.0)],
    );
    let refused = events.iter().any(|e| {
        matches!(e, DomainEvent::JobError { job, reason, .. }
            if *job == deepest && reason.contains("go no deeper than 3"))
    });
    assert!(refused, "{events:?}");
    assert_eq!(
        world.state.jobs.get(deepest).unwrap().status,
        JobStatus::Failed
    );
}
