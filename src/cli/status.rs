//! `omega status`: what the checkpoint says, plus any pause/resume still waiting to be applied.

use super::ConfigArgs;
use crate::persistence::{checkpoint, control, pidfile};
use clap::Args;
use eyre::Result;
use serde_json::json;

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub files: ConfigArgs,
    /// Print JSON for machines.
    #[arg(long, env = "OMEGA_JSON")]
    pub json: bool,
}

pub fn execute(args: StatusArgs) -> Result<()> {
    let (_config, paths) = args.files.load()?;
    let Some(loaded) = checkpoint::load(&paths.state)? else {
        eyre::bail!(
            "no checkpoint at {}: run the orchestrator once first (omega run)",
            paths.state.display()
        );
    };
    let pending =
        control::read(&paths.control)?.filter(|c| c.seq > loaded.state.applied_control_seq);
    let running = pidfile::running(&paths.lock);
    let mut report = crate::http::status_report(
        &loaded.state,
        pending.as_ref().map(|c| c.paused),
        running,
        &loaded.hash.to_string(),
    );
    report["chain"] = chain_report(&paths.dir);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_readable(&report);
    }
    Ok(())
}

/// What the indexer last saw on chain (pause flags, parameters set by the owner, attestations).
fn chain_report(reports: &std::path::Path) -> serde_json::Value {
    let path = reports.join("chain").join("indexer.json");
    let Some((s, view)) = crate::chain::indexer::Indexer::read(&path) else {
        return serde_json::Value::Null;
    };
    json!({
        "cursor_block": s.block, "head": s.head, "reorgs": s.reorgs, "events": s.events,
        "jobs": view.jobs.len() as u64 + s.archived, "paused": view.any_paused(), "params": view.params,
        "attestations": view.attestations.len(),
        "latest_attestation": view.attestations.iter().next_back().map(|(i, a)| json!({"index": i, "hash": a.hash})),
    })
}

fn print_readable(r: &serde_json::Value) {
    let j = &r["jobs"];
    // The report already holds amounts as token strings (Amount's Display).
    let tokens = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    println!(
        "cycle {}  |  paused: {}{}  |  {}",
        r["cycle"],
        r["paused"],
        match r["pending_pause"].as_bool() {
            Some(p) => format!(
                " (a {} request is waiting to be applied)",
                if p { "pause" } else { "resume" }
            ),
            None => String::new(),
        },
        match r["running_pid"].as_u64() {
            Some(pid) => format!("running (pid {pid})"),
            None => "not running".into(),
        }
    );
    println!(
        "jobs: tracked {}  pending {}  active {}  validating {}  completed {}  failed {}  cancelled {}",
        j["tracked"],
        j["pending"],
        j["active"],
        j["validating"],
        j["completed"],
        j["failed"],
        j["cancelled"]
    );
    let l = &r["ledger"];
    println!(
        "tokens: minted {}  free {}  staked {} + {}  escrowed {}  burned {}  ({})",
        tokens(&l["minted"]),
        tokens(&l["free"]),
        tokens(&l["job_stakes"]),
        tokens(&l["validator_stakes"]),
        tokens(&l["escrowed"]),
        tokens(&l["burned"]),
        if l["balanced"] == true {
            "balanced"
        } else {
            "NOT BALANCED"
        }
    );
    let res = &r["resources"];
    println!(
        "prices: {:.4} per GW, {:.4} per PF  |  utilisation {:.1}%",
        res["token_per_energy"].as_f64().unwrap_or(0.0),
        res["token_per_compute"].as_f64().unwrap_or(0.0),
        res["utilisation"].as_f64().unwrap_or(0.0) * 100.0
    );
    println!("balances:");
    for a in r["accounts"].as_array().into_iter().flatten() {
        let stake = tokens(&a["validator_stake"]);
        println!(
            "  {:<24} {:>20}{}",
            a["name"].as_str().unwrap_or(""),
            tokens(&a["free"]),
            if stake == "0" {
                String::new()
            } else {
                format!("  (bonded {stake})")
            }
        );
    }
    println!(
        "checkpoint hash {}",
        r["checkpoint_hash"].as_str().unwrap_or("")
    );
    let c = &r["chain"];
    if c.is_object() {
        println!(
            "chain: indexed to block {} (head {}), {} jobs, paused: {}, {} attestation(s), {} reorg(s)",
            c["cursor_block"], c["head"], c["jobs"], c["paused"], c["attestations"], c["reorgs"]
        );
        let params = c["params"].as_object().into_iter().flatten();
        for (name, value) in params.filter(|(n, _)| !n.contains('[') && !n.ends_with("owner")) {
            println!("  {name:<40} {}", value.as_str().unwrap_or(""));
        }
    }
}
