//! End-to-end tests of the `omega` binary: runs, pause/resume across processes, crashes,
//! corrupt checkpoints and the owner console.

use omega::domain::job::{Job, JobStatus};
use omega::domain::world::WorldState;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;

use common::{Sandbox, get, seeded_pick, sigterm, success, test_seed, wait_for};

/// A real-time config with short cycles and frequent checkpoints.
fn quick(cfg: &mut serde_json::Value) {
    cfg["cycle_seconds"] = 0.02.into();
    cfg["checkpoint_interval_seconds"] = 0.1.into();
    cfg["validators"]["commit_phase_seconds"] = 0.06.into();
    cfg["validators"]["reveal_phase_seconds"] = 0.06.into();
}

/// Every job id from 1 up is in exactly one place (checkpoint or archive), and settled jobs
/// match the counters: nothing lost, nothing settled twice.
fn assert_every_job_once(sb: &Sandbox) -> WorldState {
    let state = sb.state();
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for job in sb.archived().iter().chain(state.jobs.iter()) {
        *seen.entry(job.id.0).or_default() += 1;
    }
    let next = state.jobs.next_id().0;
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (1..next).collect::<Vec<_>>(),
        "job ids are 1..{next} without gaps"
    );
    assert!(seen.values().all(|&n| n == 1), "a job is recorded twice");
    let archived = sb.archived();
    let count = |s: JobStatus| {
        archived
            .iter()
            .chain(state.jobs.iter())
            .filter(|j| j.status == s)
            .count() as u64
    };
    assert_eq!(count(JobStatus::Completed), state.counters.completed);
    assert_eq!(count(JobStatus::Failed), state.counters.failed);
    assert_eq!(count(JobStatus::Cancelled), state.counters.cancelled);
    assert!(
        state.ledger.totals().balanced(),
        "ledger: {:?}",
        state.ledger.totals()
    );
    state
}

#[test]
fn a_short_fast_run_completes_jobs_end_to_end() {
    let sb = Sandbox::new(|_| {}).chain_off();
    let out = success(&sb.omega(&["run", "--cycles", "30", "--fast", "--seed", "1", "--json"]));
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["cycles_run"], 30);
    assert!(summary["completed"].as_u64().unwrap() >= 1, "{summary}");
    assert_eq!(summary["ledger_balanced"], true);
    let state = assert_every_job_once(&sb);
    assert_eq!(state.cycle, 30);
    let done = sb
        .archived()
        .into_iter()
        .find(|j| j.status == JobStatus::Completed)
        .unwrap();
    assert!(done.assignee.is_some() && done.quality_ok == Some(true));
    let log = sb.log();
    for event in [
        "job_posted",
        "job_assigned",
        "agent_allocation",
        "validator_vote",
        "job_completed",
        "checkpoint",
        "state_saved",
    ] {
        assert!(
            log.contains(&format!("\"message\":\"{event}\"")),
            "log lacks {event}"
        );
    }
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v["timestamp"].as_str().unwrap().ends_with('Z')
                && v["level"].is_string()
                && v["message"].is_string()
                && v.get("context").is_some()
        );
    }
    assert!(sb.reports().join("synthetic_economy.json").exists());
    let status: serde_json::Value =
        serde_json::from_str(&success(&sb.omega(&["status", "--json"]))).unwrap();
    assert_eq!(status["jobs"]["completed"], summary["completed"]);
    assert_eq!(status["paused"], false);
}

#[test]
fn the_same_seed_gives_the_same_checkpoint() {
    let a = Sandbox::new(|_| {}).chain_off();
    let b = Sandbox::new(|_| {}).chain_off();
    for sb in [&a, &b] {
        success(&sb.omega(&["run", "--cycles", "120", "--fast", "--seed", "99"]));
    }
    let read = |sb: &Sandbox| std::fs::read(sb.reports().join("orchestrator_state.json")).unwrap();
    assert_eq!(read(&a), read(&b));
}

/// `run --cycles N` shows a bar only on a terminal: with its output captured (as in a pipe, a
/// file or CI) neither stream holds any of it, and the log lines are whole.
#[test]
fn a_run_without_a_terminal_writes_no_progress_bar() {
    let sb = Sandbox::new(|_| {}).chain_off();
    let out = sb.omega(&[
        "run",
        "--cycles",
        "60",
        "--fast",
        "--seed",
        "5",
        "--status-every",
        "0.001",
        "--log-level",
        "info",
    ]);
    success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cycle "),
        "the status lines are logged: {stderr}"
    );
    for (name, text) in [
        ("stdout", String::from_utf8_lossy(&out.stdout)),
        ("stderr", stderr),
    ] {
        for mark in ["\r", "\u{1b}[2K", "█", "░", " left)"] {
            assert!(
                !text.contains(mark),
                "{name} holds {mark:?} of a progress bar:\n{text}"
            );
        }
    }
}

/// The reference formulas grow GDP geometrically with innovation; a long run overflowed it to
/// infinity, which the checkpoint wrote as `null` and could then not read back.
#[test]
fn an_economy_grown_past_the_largest_number_still_checkpoints_and_resumes() {
    let sb = Sandbox::new(|cfg| {
        cfg["simulation"]["gdp"] = 1e300.into();
        cfg["simulation"]["innovation"] = 1e6.into();
    })
    .chain_off();
    success(&sb.omega(&["run", "--cycles", "30", "--fast", "--seed", "3"]));
    let text = std::fs::read_to_string(sb.reports().join("orchestrator_state.json")).unwrap();
    let sim = &sb.state().sim;
    assert_eq!(sim["gdp"].as_f64(), Some(f64::MAX), "{sim}");
    assert!(!text.contains(r#""gdp":null"#));
    success(&sb.omega(&["run", "--cycles", "5", "--fast"]));
    assert!(sb.state().counters.completed > 0);
}

#[test]
fn pause_reaches_a_running_process_and_survives_a_restart() {
    let sb = Sandbox::new(quick).chain_off();
    // The status API tells the cycle the run is at: cycles go on while paused, nothing else does.
    let (mut child, port) = sb.spawn_http(&["run"], &[]);
    let cycle = || get(port, "/healthz").json()["cycle"].as_u64().unwrap();
    wait_for("first completed job", Duration::from_secs(30), || {
        sb.log().contains("\"message\":\"job_completed\"")
    });
    success(&sb.omega(&["pause"]));
    wait_for("the paused event", Duration::from_secs(10), || {
        sb.log().contains("\"message\":\"paused\"")
    });
    let at_pause = sb.log().lines().count();
    let paused_at = cycle();
    wait_for("15 cycles while paused", Duration::from_secs(30), || {
        cycle() >= paused_at + 15
    });
    let after: Vec<String> = sb
        .log()
        .lines()
        .skip(at_pause)
        .map(str::to_string)
        .collect();
    for line in &after {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let m = v["message"].as_str().unwrap();
        assert!(
            ["checkpoint", "simulation_update"].contains(&m),
            "{m} happened while paused"
        );
    }
    sigterm(&mut child);
    assert!(sb.state().paused);

    // A restart stays paused until resumed.
    success(&sb.omega(&["run", "--cycles", "20", "--fast"]));
    let state = sb.state();
    assert!(state.paused);
    let status: serde_json::Value =
        serde_json::from_str(&success(&sb.omega(&["status", "--json"]))).unwrap();
    assert_eq!(status["paused"], true);

    success(&sb.omega(&["resume"]));
    let before = sb.state().counters.clone();
    success(&sb.omega(&["run", "--cycles", "60", "--fast"]));
    let state = sb.state();
    assert!(!state.paused);
    assert!(state.counters.posted > before.posted, "work resumes");
    assert!(sb.log().contains("\"message\":\"resumed\""));
}

#[test]
fn kill_9_then_restart_loses_nothing_and_pays_nothing_twice() {
    let sb = Sandbox::new(quick).chain_off();
    let mut child = sb.spawn(&["run"]);
    wait_for(
        "a few checkpoints with settled jobs",
        Duration::from_secs(30),
        || {
            sb.log().matches("\"message\":\"job_completed\"").count() >= 3
                && sb.log().matches("\"message\":\"checkpoint\"").count() >= 3
        },
    );
    // The kill lands after the k-th further log line, k drawn from the printed seed.
    let k = seeded_pick(test_seed("kill_9_then_restart"), 1..80);
    let lines = sb.log().lines().count() as u64;
    eprintln!("killing after {k} more log lines (from {lines})");
    wait_for("k more log lines", Duration::from_secs(30), || {
        sb.log().lines().count() as u64 >= lines + k
    });
    child.kill().unwrap(); // SIGKILL: no chance to write anything
    child.wait().unwrap();
    let before = sb.state();

    success(&sb.omega(&["run", "--cycles", "150", "--fast"]));
    let after = assert_every_job_once(&sb);
    assert!(after.counters.completed >= before.counters.completed);
    let archived: BTreeMap<u64, Job> = sb.archived().into_iter().map(|j| (j.id.0, j)).collect();
    for job in before.jobs.iter() {
        let now = after
            .jobs
            .get(job.id)
            .or_else(|| archived.get(&job.id.0))
            .expect("job survives the crash");
        assert_eq!(
            (&now.title, now.poster, now.reward, now.parent),
            (&job.title, job.poster, job.reward, job.parent),
            "job {} changed identity",
            job.id
        );
    }
    assert!(sb.log().contains("\"message\":\"state_restored\""));
}

#[test]
fn a_truncated_checkpoint_is_refused_with_the_way_out() {
    let sb = Sandbox::new(|_| {}).chain_off();
    success(&sb.omega(&["run", "--cycles", "40", "--fast", "--seed", "3"]));
    success(&sb.omega(&["run", "--cycles", "10", "--fast"])); // leaves a .bak
    let path = sb.reports().join("orchestrator_state.json");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let out = sb.omega(&["run", "--cycles", "5", "--fast"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&path.display().to_string()) && err.contains("--from-backup"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        &bytes[..bytes.len() / 2],
        "the bad file is left for inspection"
    );
    let status = sb.omega(&["status"]);
    assert!(!status.status.success());

    let out = success(&sb.omega(&["run", "--cycles", "5", "--fast", "--from-backup", "--json"]));
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["resumed"], true);
    assert_every_job_once(&sb);
}

#[test]
fn tampered_checkpoint_content_fails_its_hash() {
    let sb = Sandbox::new(|_| {}).chain_off();
    success(&sb.omega(&["run", "--cycles", "10", "--fast", "--seed", "3"]));
    let path = sb.reports().join("orchestrator_state.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"paused\":false", "\"paused\":true", 1),
    )
    .unwrap();
    let out = sb.omega(&["run", "--cycles", "1", "--fast"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("content hash"));
}

fn snapshot(paths: &[&Path]) -> Vec<Option<Vec<u8>>> {
    paths.iter().map(|p| std::fs::read(p).ok()).collect()
}

#[test]
fn owner_commands_refuse_bad_values_and_touch_nothing() {
    let sb = Sandbox::new(|_| {}).chain_off();
    let control = sb.reports().join("control.json");
    let files = [sb.config(), control.clone()];
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let before = snapshot(&refs);
    for args in [
        vec!["owner", "set-stake", "1.5"],
        vec!["owner", "set-stake", "-0.1"],
        vec!["owner", "set-stake", "abc"],
        vec!["owner", "set-energy", "0"],
        vec!["owner", "set-energy", "-5"],
        vec!["owner", "set-energy", "NaN"],
        vec!["owner", "set-pause", "maybe"],
        vec!["owner", "set-pause", "true"], // no checkpoint yet
    ] {
        let out = sb.omega(&args);
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim().lines().count(),
            1,
            "one-line reason expected for {args:?}: {err}"
        );
        assert_eq!(snapshot(&refs), before, "{args:?} changed a file");
    }
    let err =
        String::from_utf8_lossy(&sb.omega(&["owner", "set-pause", "true"]).stderr).into_owned();
    assert!(err.contains("run the orchestrator once first"), "{err}");
    assert!(!sb.reports().join("orchestrator_state.json").exists());
}

#[test]
fn owner_changes_edit_one_key_and_reach_a_running_process() {
    let sb = Sandbox::new(quick).chain_off();
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.config()).unwrap()).unwrap();
    success(&sb.omega(&["owner", "set-stake", "0.12"]));
    let mut edited: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.config()).unwrap()).unwrap();
    assert_eq!(edited["validators"]["stake_ratio"], 0.12);
    edited["validators"]["stake_ratio"] = original["validators"]["stake_ratio"].clone();
    assert_eq!(edited, original, "only stake_ratio changed");

    let mut child = sb.spawn(&["run"]);
    wait_for("a checkpoint", Duration::from_secs(30), || {
        sb.log().contains("\"message\":\"checkpoint\"")
    });
    success(&sb.omega(&["owner", "set-energy", "1250000"]));
    wait_for("the live parameter change", Duration::from_secs(10), || {
        sb.log().contains("\"name\":\"energy_ceiling\"")
    });
    success(&sb.omega(&["owner", "set-pause", "true"]));
    wait_for("the paused event", Duration::from_secs(10), || {
        sb.log().contains("\"message\":\"paused\"")
    });
    sigterm(&mut child);
    let state = sb.state();
    assert_eq!(state.params.energy_ceiling, 1_250_000.0);
    assert_eq!(state.params.stake_ratio, 0.12);
    assert!(state.paused);
}

#[test]
fn owner_changes_apply_at_the_next_launch_over_a_checkpoint() {
    let sb = Sandbox::new(|_| {}).chain_off();
    success(&sb.omega(&["run", "--cycles", "5", "--fast"]));
    success(&sb.omega(&["owner", "set-energy", "1500000"]));
    success(&sb.omega(&["run", "--cycles", "1", "--fast"]));
    assert_eq!(sb.state().params.energy_ceiling, 1_500_000.0);
    assert_eq!(sb.state().resources.energy_ceiling, 1_500_000.0);
}

#[test]
fn bad_config_is_refused_with_the_key_named() {
    let sb = Sandbox::new(|c| c["validators"]["stake_ratio"] = 2.0.into()).chain_off();
    let out = sb.omega(&["run", "--cycles", "1", "--fast"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("validators.stake_ratio"));
    assert!(!sb.reports().join("orchestrator_state.json").exists());
}

#[test]
fn a_bad_log_filter_is_refused_not_replaced() {
    let sb = Sandbox::new(|_| {}).chain_off();
    let out = sb.omega_env(
        &["run", "--cycles", "1", "--fast"],
        &[("OMEGA_LOG_LEVEL", "omega=loudest")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a log filter"), "{err}");
    assert!(!sb.reports().join("orchestrator_state.json").exists());
}

#[test]
fn readable_status_shows_token_amounts() {
    let sb = Sandbox::new(|_| {}).chain_off();
    success(&sb.omega(&["run", "--cycles", "10", "--fast", "--seed", "3"]));
    let json: serde_json::Value =
        serde_json::from_str(&success(&sb.omega(&["status", "--json"]))).unwrap();
    let text = success(&sb.omega(&["status"]));
    let minted = json["ledger"]["minted"].as_str().unwrap();
    let steward = json["accounts"][0]["free"].as_str().unwrap();
    assert!(text.contains(&format!("minted {minted} ")), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("steward") && l.trim_end().ends_with(steward)),
        "{text}"
    );
}
