//! Whole-world rules, driven in-process cycle by cycle (no bus, no disk).

use omega::config::Config;
use omega::domain::events::{DomainEvent, ExternalInput, OpenGate, Step, StepGate};
use omega::domain::job::{JobId, JobOrigin, JobSpec, JobStatus};
use omega::domain::setup::WorldSetup;
use omega::domain::world::{World, WorldState};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const T0: u64 = 1_767_225_600_000;
const PERIOD: u64 = 200;

fn config() -> Config {
    serde_json::from_str(include_str!("../config/default_config.json")).unwrap()
}

fn setup() -> WorldSetup {
    config().world_setup()
}

/// A fresh world at `T0` whose demo jobs were all posted.
fn genesis(setup: &WorldSetup, seed: u64) -> World {
    let (world, refused) = World::genesis(setup, seed, T0);
    assert!(refused.is_empty(), "{refused:?}");
    world
}

/// A world restored from `state` that took every change the setup brings.
fn restore(setup: &WorldSetup, state: WorldState) -> World {
    let (world, refused) = World::restore(setup, state).unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    world
}

fn run(world: &mut World, cycles: u64, gate: &dyn StepGate) -> Vec<DomainEvent> {
    let mut events = Vec::new();
    for _ in 0..cycles {
        let now = world.state.now_ms + PERIOD;
        world.step_inline(now, gate);
        events.extend(world.take_events());
    }
    events
}

#[test]
fn default_config_completes_jobs_in_30_cycles() {
    let mut world = genesis(&setup(), 1);
    let events = run(&mut world, 30, &OpenGate);
    let completed = events
        .iter()
        .filter(|e| matches!(e, DomainEvent::JobCompleted { .. }))
        .count();
    assert!(completed >= 1, "no job completed in 30 cycles");
    assert!(world.state.ledger.totals().balanced());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Over any seed: the ledger balances after every cycle, no job settles twice, a validator
    /// never judges its own work, and the concurrency limits (overall and per agent) hold.
    #[test]
    fn world_invariants_hold_for_any_seed(seed in any::<u64>(), max_jobs in 1u32..12) {
        let mut cfg = config();
        cfg.max_concurrent_jobs = max_jobs;
        let mut world = genesis(&cfg.world_setup(), seed);
        let mut settled = BTreeSet::new();
        let mut worker: BTreeMap<JobId, omega::domain::events::Name> = BTreeMap::new();
        for _ in 0..150 {
            let events = run(&mut world, 1, &OpenGate);
            prop_assert!(world.state.ledger.totals().balanced(), "{:?}", world.state.ledger.totals());
            let in_flight = world.state.jobs.iter().filter(|j| matches!(j.status, JobStatus::Active | JobStatus::Validating)).count();
            prop_assert!(in_flight as u32 <= max_jobs, "{in_flight} in flight > {max_jobs}");
            let mut held = vec![0u32; world.state.ledger.accounts().len()];
            for job in world.state.jobs.iter().filter(|j| matches!(j.status, JobStatus::Active | JobStatus::Validating)) {
                held[job.assignee.expect("in-flight jobs are assigned").0 as usize] += 1;
            }
            prop_assert_eq!(world.load(), &held[..], "the load kept through the cycles matches a recount");
            for agent in &world.agents {
                prop_assert!(held[agent.id.0 as usize] <= agent.behaviour.max_parallel_jobs, "{} over its limit", agent.name);
            }
            for e in events {
                match e {
                    DomainEvent::JobAssigned { job, agent, .. } => { worker.insert(job, agent); }
                    DomainEvent::ValidationStarted { job, committee, .. } => {
                        prop_assert!(!committee.contains(&worker[&job]), "worker sits on its own committee");
                    }
                    DomainEvent::JobCompleted { job, .. } | DomainEvent::JobFailed { job, .. } | DomainEvent::JobCancelled { job, .. } => {
                        prop_assert!(settled.insert(job), "job {job} settled twice");
                    }
                    _ => {}
                }
            }
        }
        prop_assert!(world.state.counters.completed > 0);
    }
}

#[test]
fn delegated_sub_jobs_follow_the_spec() {
    let mut world = genesis(&setup(), 3);
    let events = run(&mut world, 300, &OpenGate);
    let (parent, child) = events
        .iter()
        .find_map(|e| match e {
            DomainEvent::DelegatedJob { parent, job, .. } => Some((*parent, *job)),
            _ => None,
        })
        .expect("some job was delegated in 300 cycles");
    let posted = |id: JobId| {
        events
            .iter()
            .find_map(|e| match e {
                DomainEvent::JobPosted {
                    job,
                    reward,
                    skills,
                    poster,
                    ..
                } if *job == id => Some((*reward, skills.clone(), *poster)),
                _ => None,
            })
            .unwrap()
    };
    let (p_reward, p_skills, _) = posted(parent);
    let (c_reward, c_skills, c_poster) = posted(child);
    assert_eq!(c_reward, p_reward.mul_ratio(0.25));
    assert_eq!(c_skills.to_vec(), p_skills[1..].to_vec());
    assert_ne!(
        &*c_poster, "steward",
        "the delegating agent posts and funds the sub-job"
    );
}

#[test]
fn a_paused_world_does_not_move() {
    let mut world = genesis(&setup(), 5);
    run(&mut world, 5, &OpenGate);
    world
        .apply_input(ExternalInput::Pause {
            source: "test".into(),
        })
        .unwrap();
    let before = serde_json::to_value(&world.state).unwrap();
    run(&mut world, 20, &OpenGate);
    let mut after = serde_json::to_value(&world.state).unwrap();
    assert_eq!(after["cycle"], before["cycle"].as_u64().unwrap() + 20);
    after["cycle"] = before["cycle"].clone();
    assert_eq!(after, before, "only the cycle counter moves while paused");
}

/// Holds every step of one job, as the chain mirror does until it has confirmed on chain.
struct HoldJob(JobId);
impl StepGate for HoldJob {
    fn allows(&self, job: JobId, _step: Step) -> bool {
        job != self.0
    }
}

#[test]
fn a_sink_gate_holds_a_job_until_released() {
    let mut world = genesis(&setup(), 9);
    run(&mut world, 20, &HoldJob(JobId(1)));
    assert_eq!(
        world.state.jobs.get(JobId(1)).unwrap().status,
        JobStatus::Pending
    );
    run(&mut world, 40, &OpenGate);
    let status = world.state.jobs.get(JobId(1)).map(|j| j.status);
    assert_ne!(status, Some(JobStatus::Pending), "released job moves on");
}

#[test]
fn interrupted_jobs_are_redispatched_and_revalidated() {
    let mut world = genesis(&setup(), 11);
    for _ in 0..60 {
        run(&mut world, 1, &OpenGate);
        let active = world
            .state
            .jobs
            .iter()
            .any(|j| j.status == JobStatus::Active && j.work_done > 0);
        let validating = world
            .state
            .jobs
            .iter()
            .any(|j| j.status == JobStatus::Validating && j.round.is_some());
        if active && validating {
            break;
        }
    }
    let state = world.state.clone();
    let mut restored = restore(&setup(), state);
    let (redispatched, revalidated) = restored.recover_interrupted();
    assert!(redispatched > 0 && revalidated > 0);
    assert!(
        restored
            .state
            .jobs
            .iter()
            .filter(|j| j.status == JobStatus::Active)
            .all(|j| j.work_done == 0)
    );
    let live: Vec<JobId> = restored
        .state
        .jobs
        .iter()
        .filter(|j| !j.status.is_terminal())
        .map(|j| j.id)
        .collect();
    run(&mut restored, 400, &OpenGate);
    for id in live {
        let status = restored.state.jobs.get(id).map(|j| j.status);
        assert!(
            status.is_none_or(|s| s.is_terminal() || s == JobStatus::Pending),
            "job {id} stuck in {status:?}"
        );
    }
    assert!(restored.state.ledger.totals().balanced());
}

#[test]
fn same_seed_same_world() {
    let mut a = genesis(&setup(), 77);
    let mut b = genesis(&setup(), 77);
    run(&mut a, 100, &OpenGate);
    run(&mut b, 100, &OpenGate);
    assert_eq!(
        serde_json::to_string(&a.state).unwrap(),
        serde_json::to_string(&b.state).unwrap()
    );
    let mut c = genesis(&setup(), 78);
    run(&mut c, 100, &OpenGate);
    assert_ne!(
        serde_json::to_string(&a.state).unwrap(),
        serde_json::to_string(&c.state).unwrap()
    );
}

#[test]
fn config_changes_win_over_the_checkpoint_at_restore() {
    let mut world = genesis(&setup(), 1);
    run(&mut world, 3, &OpenGate);
    let mut cfg = config();
    cfg.validators.stake_ratio = 0.2;
    cfg.resource_manager.energy_capacity = 1_250_000.0;
    let restored = restore(&cfg.world_setup(), world.state.clone());
    assert_eq!(restored.state.params.stake_ratio, 0.2);
    assert_eq!(restored.state.resources.energy_ceiling, 1_250_000.0);
}

/// What the world refuses it reports back, in the words the console has always shown, and it
/// changes nothing for it.
/// A finance job adopted from `reference` (as an A2A task posts one); its id.
fn adopt_for_cancel(world: &mut World, reference: &str) -> JobId {
    let input = ExternalInput::AdoptJob {
        reference: reference.into(),
        title: "Withdrawn".into(),
        reward: omega::domain::amount::Amount::from_tokens(40.0),
        skills: Some(vec!["finance".to_string()].into()),
    };
    world.apply_input(input).unwrap();
    let events = world.take_events();
    (events.iter())
        .find_map(|e| match e {
            DomainEvent::JobPosted { job, external, .. }
                if external.as_deref() == Some(reference) =>
            {
                Some(*job)
            }
            _ => None,
        })
        .unwrap()
}

/// A job posted from outside (an A2A task) is withdrawn by its poster while no agent has taken
/// it: cancelled, its escrow refunded; a taken job, or another poster's, is refused.
#[test]
fn a_poster_cancels_its_job_only_while_no_agent_has_taken_it() {
    use omega::domain::ledger::STEWARD;
    let mut world = genesis(&setup(), 2);
    let free = world.state.ledger.free(STEWARD);
    let cancel = |world: &mut World, job: JobId, reference: &str| {
        let reference = reference.to_string();
        world.apply_input(ExternalInput::CancelJob { job, reference })
    };
    let job = adopt_for_cancel(&mut world, "a2a:t1");
    assert!(
        world.state.ledger.free(STEWARD) < free,
        "the steward fronts the escrow"
    );
    let refused = cancel(&mut world, job, "a2a:t2").unwrap_err().to_string();
    assert_eq!(
        refused,
        format!("job {job} not cancelled: it was not posted from a2a:t2")
    );
    cancel(&mut world, job, "a2a:t1").unwrap();
    let j = world.state.jobs.get(job).unwrap();
    assert_eq!(j.status, JobStatus::Cancelled);
    assert_eq!(
        j.outcome.as_deref(),
        Some(omega::domain::world::CANCELLED_ON_REQUEST)
    );
    assert!(
        matches!(&world.take_events()[..], [DomainEvent::JobCancelled { job: j, .. }] if *j == job)
    );
    assert_eq!(
        world.state.ledger.free(STEWARD),
        free,
        "the escrow is refunded"
    );
    assert!(world.state.ledger.totals().balanced());
    let again = cancel(&mut world, job, "a2a:t1").unwrap_err().to_string();
    assert!(
        again.ends_with("it is cancelled: only a job no agent has taken yet can be cancelled"),
        "{again}"
    );

    // Once an agent has it, it stays.
    let taken = adopt_for_cancel(&mut world, "a2a:t3");
    for _ in 0..100 {
        if world.state.jobs.get(taken).unwrap().status != JobStatus::Pending {
            break;
        }
        run(&mut world, 1, &OpenGate);
    }
    let status = world.state.jobs.get(taken).unwrap().status;
    assert_ne!(
        status,
        JobStatus::Pending,
        "an agent took it within 100 cycles"
    );
    let refused = cancel(&mut world, taken, "a2a:t3").unwrap_err().to_string();
    assert!(
        refused.contains(&format!("it is {}", status.name())),
        "{refused}"
    );
    assert_ne!(
        world.state.jobs.get(taken).unwrap().status,
        JobStatus::Cancelled
    );
}

#[test]
fn refusals_come_back_to_the_caller() {
    let mut cfg = setup();
    let mut huge = cfg.demo_jobs[0].clone();
    huge.title = "Too dear".into();
    huge.reward = 1e12;
    cfg.demo_jobs.push(huge);
    let (mut world, refused) = World::genesis(&cfg, 1, T0);
    let refused: Vec<String> = refused.iter().map(|r| r.to_string()).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].starts_with("demo job \"Too dear\" not posted: cannot post job: steward has "),
        "{}",
        refused[0]
    );
    assert_eq!(world.state.jobs.len(), cfg.demo_jobs.len() - 1);
    world.take_events();

    let before = world.state.clone();
    let refusal = world.apply_input(ExternalInput::SetParameter {
        name: "stake_ratio".into(),
        value: 1.5,
        source: "console".into(),
    });
    assert_eq!(
        refusal.unwrap_err().to_string(),
        "parameter change from console refused: stake_ratio must be between 0 and 1 (got 1.5)"
    );
    let refusal = world.apply_input(ExternalInput::AdoptJob {
        reference: "0xfeed".into(),
        title: "Adopted".into(),
        reward: omega::domain::amount::Amount::from_tokens(1e12),
        skills: None,
    });
    let refusal = refusal.unwrap_err().to_string();
    assert!(
        refusal.starts_with("job 0xfeed not adopted: cannot post job: steward has "),
        "{refusal}"
    );
    let spec = JobSpec {
        title: "Posted from outside".into(),
        reward: omega::domain::amount::Amount::from_tokens(1e12),
        deadline_ms: T0 + 3_600_000,
        energy: 1.0,
        compute: 1.0,
        skills: vec!["finance".to_string()].into(),
        poster: omega::domain::ledger::STEWARD,
        parent: None,
        origin: JobOrigin::Local,
        input: None,
    };
    let refusal = world.apply_input(ExternalInput::PostJob { spec });
    let refusal = refusal.unwrap_err().to_string();
    assert!(
        refusal.starts_with("external job refused: cannot post job: "),
        "{refusal}"
    );
    assert!(world.take_events().is_empty());
    assert_eq!(world.state.jobs, before.jobs);
    assert_eq!(world.state.params, before.params);

    let mut changed = setup();
    changed.params.quorum = 9;
    let (restored, refused) = World::restore(&changed, before).unwrap();
    let refused: Vec<String> = refused.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        refused,
        ["parameter change from config refused: quorum 9 exceeds committee_size 4"]
    );
    assert_eq!(restored.state.params.quorum, setup().params.quorum);
}

/// A chain-like gate: every job's committee is its own worker plus the first two bonded
/// validators, as a v2 committee drawn from the whole pool may be.
struct SeatsTheWorker {
    committees: std::cell::RefCell<BTreeMap<JobId, Vec<omega::domain::ledger::AccountId>>>,
}

impl SeatsTheWorker {
    fn refresh(&self, world: &World) {
        let bonded: Vec<_> = world
            .state
            .ledger
            .accounts()
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.validator_stake.is_zero())
            .map(|(i, _)| omega::domain::ledger::AccountId(i as u32))
            .collect();
        let mut committees = self.committees.borrow_mut();
        for job in world.state.jobs.iter() {
            if let (Some(worker), JobStatus::Validating) = (job.assignee, job.status) {
                committees.entry(job.id).or_insert_with(|| {
                    let others = bonded.iter().filter(|v| **v != worker).take(2);
                    std::iter::once(worker).chain(others.copied()).collect()
                });
            }
        }
    }
}

impl StepGate for SeatsTheWorker {
    fn allows(&self, job: JobId, step: Step) -> bool {
        step != Step::Commit || self.committees.borrow().contains_key(&job)
    }
    fn committee(&self, job: JobId) -> Option<Vec<omega::domain::ledger::AccountId>> {
        self.committees.borrow().get(&job).cloned()
    }
}

#[test]
fn a_committee_that_seats_the_worker_is_followed_whole_and_the_conflict_recorded() {
    let mut world = genesis(&setup(), 3);
    let gate = SeatsTheWorker {
        committees: Default::default(),
    };
    let mut events = Vec::new();
    for _ in 0..120 {
        gate.refresh(&world);
        events.extend(run(&mut world, 1, &gate));
    }
    let worker_of: BTreeMap<JobId, String> = events
        .iter()
        .filter_map(|e| match e {
            DomainEvent::JobAssigned { job, agent, .. } => Some((*job, agent.to_string())),
            _ => None,
        })
        .collect();
    let mut conflicted = BTreeSet::new();
    for e in &events {
        if let DomainEvent::ValidationStarted {
            job,
            committee,
            conflicted: c,
            ..
        } = e
        {
            let worker = &worker_of[job];
            assert!(
                committee.iter().any(|n| n.to_string() == *worker),
                "job {job}: {committee:?}"
            );
            assert_eq!(
                c.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                std::slice::from_ref(worker)
            );
            conflicted.insert(*job);
        }
    }
    assert!(!conflicted.is_empty(), "no round started");
    let voted_on_own_work = events.iter().any(|e| {
        matches!(e, DomainEvent::ValidatorVote { job, validator, .. }
            if worker_of.get(job).is_some_and(|w| *w == validator.to_string()))
    });
    assert!(voted_on_own_work, "the seated worker never voted");
    let settled = conflicted
        .iter()
        .filter(|j| {
            world
                .state
                .jobs
                .get(**j)
                .is_none_or(|j| j.status.is_terminal())
        })
        .count();
    assert!(
        settled >= 1,
        "no job with its worker on the committee settled"
    );
    assert!(world.state.ledger.totals().balanced());
}
