//! `/metrics` in the Prometheus text exposition format (version 0.0.4), written by hand: a few
//! dozen series do not justify a metrics crate.

use crate::domain::amount::Amount;
use crate::domain::job::JobStatus;
use crate::domain::world::WorldState;
use serde_json::Value;
use std::fmt::Write;

/// Writes one metric family: `# HELP`, `# TYPE`, then its samples (label set, value).
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn metric(&mut self, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let labels = if labels.is_empty() {
                String::new()
            } else {
                format!("{{{labels}}}")
            };
            let _ = writeln!(self.out, "{name}{labels} {}", number(*value));
        }
    }
}

/// Prometheus accepts Go float syntax; integers print without a fraction.
fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

fn tokens(a: Amount) -> f64 {
    a.0 as f64 / 1e18
}

/// What the chain half contributes: each is null when unknown.
pub struct ChainFigures<'a> {
    pub indexer: &'a Value,
    pub mirror: &'a Value,
    pub attestations: &'a Value,
    pub pending: &'a Value,
}

/// Every series: the world's, then the chain's (indexer, mirror, attestations, pending
/// transactions) when present.
pub fn render(s: &WorldState, c: &ChainFigures) -> String {
    let mut out = String::with_capacity(4096);
    let mut f = Family { out: &mut out };
    world(&mut f, s);
    chain(&mut f, c.indexer, c.mirror, c.attestations);
    pending(&mut f, c.pending);
    out
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn pending(f: &mut Family, pending: &Value) {
    let Some(signers) = pending.as_array() else {
        return;
    };
    let labels: Vec<(String, f64)> = signers
        .iter()
        .map(|s| {
            let l = format!(
                "signer=\"{}\",address=\"{}\"",
                label(s["name"].as_str().unwrap_or("")),
                s["address"].as_str().unwrap_or("")
            );
            (l, s["pending"].as_u64().unwrap_or(0) as f64)
        })
        .collect();
    let samples: Vec<(&str, f64)> = labels.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    f.metric(
        "omega_pending_transactions",
        "gauge",
        "Transactions a signer has sent that are not mined yet.",
        &samples,
    );
}

fn world(f: &mut Family, s: &WorldState) {
    let c = &s.counters;
    let live: Vec<(String, f64)> = [JobStatus::Pending, JobStatus::Active, JobStatus::Validating]
        .into_iter()
        .map(|st| (format!("status=\"{}\"", st.name()), s.jobs.count(st) as f64))
        .chain([
            ("status=\"completed\"".into(), c.completed as f64),
            ("status=\"failed\"".into(), c.failed as f64),
            ("status=\"cancelled\"".into(), c.cancelled as f64),
        ])
        .collect();
    let live: Vec<(&str, f64)> = live.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    f.metric(
        "omega_jobs",
        "gauge",
        "Jobs by status: live jobs for pending/active/validating, totals since genesis for settled ones.",
        &live,
    );
    f.metric(
        "omega_jobs_posted_total",
        "counter",
        "Jobs posted since genesis.",
        &[("", c.posted as f64)],
    );
    f.metric(
        "omega_lifecycles_completed_total",
        "counter",
        "Job lifecycles completed (validated and paid) since genesis.",
        &[("", c.completed as f64)],
    );
    f.metric(
        "omega_jobs_delegated_total",
        "counter",
        "Sub-jobs delegated by agents.",
        &[("", c.delegated as f64)],
    );
    f.metric(
        "omega_validator_slashes_total",
        "counter",
        "Validator slashes.",
        &[("", c.validator_slashes as f64)],
    );
    f.metric(
        "omega_cycle",
        "gauge",
        "The orchestrator's cycle number.",
        &[("", s.cycle as f64)],
    );
    f.metric(
        "omega_paused",
        "gauge",
        "1 while the orchestrator is paused.",
        &[("", s.paused as u8 as f64)],
    );
    let r = &s.resources;
    f.metric(
        "omega_price_tokens",
        "gauge",
        "Thermostat price in tokens per unit (energy: per GW, compute: per PF).",
        &[
            ("resource=\"energy\"", r.token_per_energy),
            ("resource=\"compute\"", r.token_per_compute),
        ],
    );
    f.metric(
        "omega_utilisation_ratio",
        "gauge",
        "Planetary utilisation (the larger of energy and compute, 0..1).",
        &[("", r.utilisation())],
    );
    f.metric(
        "omega_capacity",
        "gauge",
        "Usable planetary capacity (energy GW, compute PF).",
        &[
            ("resource=\"energy\"", r.energy_capacity),
            ("resource=\"compute\"", r.compute_capacity),
        ],
    );
    f.metric(
        "omega_used",
        "gauge",
        "Planetary capacity allocated to jobs.",
        &[
            ("resource=\"energy\"", r.energy_used),
            ("resource=\"compute\"", r.compute_used),
        ],
    );
    let t = s.ledger.totals();
    f.metric(
        "omega_tokens",
        "gauge",
        "Tokens by ledger bucket (free + job_stakes + validator_stakes + escrowed + burned = minted).",
        &[
            ("bucket=\"free\"", tokens(t.free)),
            ("bucket=\"job_stakes\"", tokens(t.job_stakes)),
            ("bucket=\"validator_stakes\"", tokens(t.validator_stakes)),
            ("bucket=\"escrowed\"", tokens(t.escrowed)),
            ("bucket=\"burned\"", tokens(t.burned)),
            ("bucket=\"minted\"", tokens(t.minted)),
        ],
    );
    f.metric(
        "omega_ledger_balanced",
        "gauge",
        "1 while the ledger invariant holds.",
        &[("", t.balanced() as u8 as f64)],
    );
}

fn chain(f: &mut Family, indexer: &Value, mirror: &Value, attestations: &Value) {
    let gauge = |v: &Value| v.as_u64().map(|n| n as f64);
    if let Some(block) = gauge(&indexer["block"]) {
        f.metric(
            "omega_indexer_block",
            "gauge",
            "Last block the event indexer processed.",
            &[("", block)],
        );
    }
    if let Some(head) = gauge(&indexer["head"]) {
        f.metric(
            "omega_indexer_head",
            "gauge",
            "Chain head the indexer last saw.",
            &[("", head)],
        );
    }
    if let Some(lag) = gauge(&indexer["lag"]) {
        f.metric(
            "omega_indexer_lag_blocks",
            "gauge",
            "Blocks the indexer is behind the head.",
            &[("", lag)],
        );
    }
    if let Some(n) = gauge(&indexer["reorgs"]) {
        f.metric(
            "omega_indexer_reorgs_total",
            "counter",
            "Chain reorganisations the indexer rolled back.",
            &[("", n)],
        );
    }
    if let Some(n) = gauge(&indexer["events"]) {
        f.metric(
            "omega_indexer_events_total",
            "counter",
            "Contract events the indexer processed.",
            &[("", n)],
        );
    }
    if let Some(n) = gauge(&mirror["jobs_created"]) {
        f.metric(
            "omega_chain_jobs_created_total",
            "counter",
            "Engine jobs created on chain by the mirror.",
            &[("", n)],
        );
    }
    if let Some(n) = gauge(&mirror["steps_done"]) {
        f.metric(
            "omega_chain_steps_done_total",
            "counter",
            "Lifecycle steps the mirror confirmed on chain.",
            &[("", n)],
        );
    }
    let count = gauge(&attestations["count"]).unwrap_or(0.0);
    f.metric(
        "omega_attestations_total",
        "counter",
        "Checkpoint attestations sent from this reports folder.",
        &[("", count)],
    );
    if let Some(index) = gauge(&attestations["latest"]["index"]) {
        f.metric(
            "omega_attestation_latest_index",
            "gauge",
            "Checkpoint index of the latest attestation sent.",
            &[("", index)],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_text_format() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(label("x\ny"), "x\\ny");
    }
}
