//! `/metrics` in the Prometheus text exposition format (version 0.0.4), encoded by
//! prometheus-client from what one scrape sees: the world's state and the chain's figures are
//! read per request, so each scrape builds its families and hands them to the encoder.

use crate::domain::amount::Amount;
use crate::domain::job::JobStatus;
use crate::domain::world::WorldState;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeMetric, MetricEncoder, prometheus_text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use serde_json::Value;

/// A sample's labels, in the order they are written.
type Labels = Vec<(&'static str, String)>;

/// One metric family: its exposed name (with `_total` for counters, as dashboards query it),
/// kind, help and samples.
#[derive(Debug)]
struct Family {
    name: &'static str,
    kind: MetricType,
    help: &'static str,
    samples: Vec<(Labels, f64)>,
}

/// The families of one scrape, in the order they are written.
#[derive(Debug, Default)]
struct Scrape(Vec<Family>);

impl Scrape {
    fn metric(
        &mut self,
        name: &'static str,
        kind: MetricType,
        help: &'static str,
        samples: Vec<(Labels, f64)>,
    ) {
        self.0.push(Family {
            name,
            kind,
            help,
            samples,
        });
    }

    /// A family of one sample without labels.
    fn single(&mut self, name: &'static str, kind: MetricType, help: &'static str, value: f64) {
        self.metric(name, kind, help, vec![(Labels::new(), value)]);
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            // prometheus-client appends `_total` to a counter's name itself (and its registry
            // would append a full stop to the help): the family is described here directly, with
            // the suffix taken off the name, so the exposed names and help texts stay as they were.
            let name = match f.kind {
                MetricType::Counter => f.name.strip_suffix("_total").unwrap_or(f.name),
                _ => f.name,
            };
            let mut metric = encoder.encode_descriptor(name, f.help, None, f.kind)?;
            match f.samples.as_slice() {
                [(labels, v)] if labels.is_empty() => sample(f.kind, *v, metric)?,
                samples => {
                    for (labels, v) in samples {
                        sample(f.kind, *v, metric.encode_family(labels)?)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whole numbers are written as integers (`3`, not `3.0`), as before the encoder was a crate.
fn sample(kind: MetricType, v: f64, m: MetricEncoder) -> Result<(), std::fmt::Error> {
    let whole = v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15;
    match (kind, whole) {
        (MetricType::Counter, true) => ConstCounter::new(v as u64).encode(m),
        (MetricType::Counter, false) => ConstCounter::new(v).encode(m),
        (_, true) => ConstGauge::new(v as i64).encode(m),
        (_, false) => ConstGauge::new(v).encode(m),
    }
}

/// One label.
fn by(key: &'static str, value: impl Into<String>) -> Labels {
    vec![(key, value.into())]
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
    /// The run's transaction counters (`/chain`'s `transactions`), when this process sends.
    pub transactions: &'a Value,
}

/// Every series: the world's, then the chain's (indexer, mirror, attestations, pending
/// transactions) when present.
pub fn render(s: &WorldState, c: &ChainFigures) -> String {
    let mut f = Scrape::default();
    world(&mut f, s);
    chain(&mut f, c.indexer, c.mirror, c.attestations);
    transactions(&mut f, c.transactions);
    pending(&mut f, c.pending);
    let mut registry = Registry::default();
    registry.register_collector(Box::new(f));
    let mut out = String::with_capacity(4096);
    prometheus_text::encode(&mut out, &registry).expect("writing to a String does not fail");
    out
}

fn pending(f: &mut Scrape, pending: &Value) {
    let Some(signers) = pending.as_array() else {
        return;
    };
    let samples = signers
        .iter()
        .map(|s| {
            let labels = vec![
                ("signer", s["name"].as_str().unwrap_or("").to_string()),
                ("address", s["address"].as_str().unwrap_or("").to_string()),
            ];
            (labels, s["pending"].as_u64().unwrap_or(0) as f64)
        })
        .collect();
    f.metric(
        "omega_pending_transactions",
        MetricType::Gauge,
        "Transactions a signer has sent that are not mined yet.",
        samples,
    );
}

/// The world's series: jobs and the cycle, then resources, then the ledger.
fn world(f: &mut Scrape, s: &WorldState) {
    jobs(f, s);
    resources(f, s);
    ledger(f, s);
}

fn jobs(f: &mut Scrape, s: &WorldState) {
    let c = &s.counters;
    let live = [JobStatus::Pending, JobStatus::Active, JobStatus::Validating]
        .into_iter()
        .map(|st| (by("status", st.name()), s.jobs.count(st) as f64))
        .chain([
            (by("status", "completed"), c.completed as f64),
            (by("status", "failed"), c.failed as f64),
            (by("status", "cancelled"), c.cancelled as f64),
        ])
        .collect();
    f.metric(
        "omega_jobs",
        MetricType::Gauge,
        "Jobs by status: live jobs for pending/active/validating, totals since genesis for settled ones.",
        live,
    );
    f.single(
        "omega_jobs_posted_total",
        MetricType::Counter,
        "Jobs posted since genesis.",
        c.posted as f64,
    );
    f.single(
        "omega_lifecycles_completed_total",
        MetricType::Counter,
        "Job lifecycles completed (validated and paid) since genesis.",
        c.completed as f64,
    );
    f.single(
        "omega_jobs_delegated_total",
        MetricType::Counter,
        "Sub-jobs delegated by agents.",
        c.delegated as f64,
    );
    f.single(
        "omega_validator_slashes_total",
        MetricType::Counter,
        "Validator slashes.",
        c.validator_slashes as f64,
    );
    f.single(
        "omega_cycle",
        MetricType::Gauge,
        "The orchestrator's cycle number.",
        s.cycle as f64,
    );
    f.single(
        "omega_paused",
        MetricType::Gauge,
        "1 while the orchestrator is paused.",
        s.paused as u8 as f64,
    );
}

fn resources(f: &mut Scrape, s: &WorldState) {
    let r = &s.resources;
    f.metric(
        "omega_price_tokens",
        MetricType::Gauge,
        "Thermostat price in tokens per unit (energy: per GW, compute: per PF).",
        vec![
            (by("resource", "energy"), r.token_per_energy),
            (by("resource", "compute"), r.token_per_compute),
        ],
    );
    f.single(
        "omega_utilisation_ratio",
        MetricType::Gauge,
        "Planetary utilisation (the larger of energy and compute, 0..1).",
        r.utilisation(),
    );
    f.metric(
        "omega_capacity",
        MetricType::Gauge,
        "Usable planetary capacity (energy GW, compute PF).",
        vec![
            (by("resource", "energy"), r.energy_capacity),
            (by("resource", "compute"), r.compute_capacity),
        ],
    );
    f.metric(
        "omega_used",
        MetricType::Gauge,
        "Planetary capacity allocated to jobs.",
        vec![
            (by("resource", "energy"), r.energy_used),
            (by("resource", "compute"), r.compute_used),
        ],
    );
}

fn ledger(f: &mut Scrape, s: &WorldState) {
    let t = s.ledger.totals();
    f.metric(
        "omega_tokens",
        MetricType::Gauge,
        "Tokens by ledger bucket (free + job_stakes + validator_stakes + escrowed + burned = minted).",
        vec![
            (by("bucket", "free"), tokens(t.free)),
            (by("bucket", "job_stakes"), tokens(t.job_stakes)),
            (by("bucket", "validator_stakes"), tokens(t.validator_stakes)),
            (by("bucket", "escrowed"), tokens(t.escrowed)),
            (by("bucket", "burned"), tokens(t.burned)),
            (by("bucket", "minted"), tokens(t.minted)),
        ],
    );
    f.single(
        "omega_ledger_balanced",
        MetricType::Gauge,
        "1 while the ledger invariant holds.",
        t.balanced() as u8 as f64,
    );
}

fn chain(f: &mut Scrape, indexer: &Value, mirror: &Value, attestations: &Value) {
    let gauge = |v: &Value| v.as_u64().map(|n| n as f64);
    if let Some(block) = gauge(&indexer["block"]) {
        f.single(
            "omega_indexer_block",
            MetricType::Gauge,
            "Last block the event indexer processed.",
            block,
        );
    }
    if let Some(head) = gauge(&indexer["head"]) {
        f.single(
            "omega_indexer_head",
            MetricType::Gauge,
            "Chain head the indexer last saw.",
            head,
        );
    }
    if let Some(lag) = gauge(&indexer["lag"]) {
        f.single(
            "omega_indexer_lag_blocks",
            MetricType::Gauge,
            "Blocks the indexer is behind the head.",
            lag,
        );
    }
    if let Some(n) = gauge(&indexer["reorgs"]) {
        f.single(
            "omega_indexer_reorgs_total",
            MetricType::Counter,
            "Chain reorganisations the indexer rolled back.",
            n,
        );
    }
    if let Some(n) = gauge(&indexer["events"]) {
        f.single(
            "omega_indexer_events_total",
            MetricType::Counter,
            "Contract events the indexer processed.",
            n,
        );
    }
    if let Some(n) = gauge(&mirror["jobs_created"]) {
        f.single(
            "omega_chain_jobs_created_total",
            MetricType::Counter,
            "Engine jobs created on chain by the mirror.",
            n,
        );
    }
    if let Some(n) = gauge(&mirror["steps_done"]) {
        f.single(
            "omega_chain_steps_done_total",
            MetricType::Counter,
            "Lifecycle steps the mirror confirmed on chain.",
            n,
        );
    }
    let count = gauge(&attestations["count"]).unwrap_or(0.0);
    f.single(
        "omega_attestations_total",
        MetricType::Counter,
        "Checkpoint attestations sent from this reports folder.",
        count,
    );
    if let Some(index) = gauge(&attestations["latest"]["index"]) {
        f.single(
            "omega_attestation_latest_index",
            MetricType::Gauge,
            "Checkpoint index of the latest attestation sent.",
            index,
        );
    }
}

fn transactions(f: &mut Scrape, t: &Value) {
    let series: [(&'static str, &'static str, &'static str); 4] = [
        (
            "sent",
            "omega_chain_tx_sent_total",
            "Transactions this run sent.",
        ),
        (
            "replaced",
            "omega_chain_tx_replaced_total",
            "Transactions replaced at the same nonce with higher fees (priced out).",
        ),
        (
            "fee_cap_hits",
            "omega_chain_tx_fee_cap_hits_total",
            "Times a priced-out transaction could not be replaced: over the fee cap.",
        ),
        (
            "mined_reverts",
            "omega_chain_tx_mined_reverts_total",
            "Transactions mined with status 0 (each cost its sender gas).",
        ),
    ];
    for (key, name, help) in series {
        if let Some(n) = t[key].as_u64() {
            f.single(name, MetricType::Counter, help, n as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state() -> WorldState {
        let config: crate::config::Config =
            serde_json::from_str(include_str!("../../config/default_config.json")).unwrap();
        crate::domain::world::World::genesis(&config.world_setup(), 1, 0)
            .0
            .state
    }

    /// Every figure present, one signer's name needing escapes.
    fn full_scrape() -> String {
        let indexer = json!({"block": 5, "head": 15, "lag": 10, "reorgs": 2, "events": 7});
        let mirror = json!({"jobs_created": 1, "steps_done": 2});
        let attestations = json!({"count": 1, "latest": {"index": 3}});
        let pending = json!([
            {"name": "owner", "address": "0xf39f", "pending": 2},
            {"name": "a\"b\\c\nd", "address": "0x7099", "pending": 0},
        ]);
        let transactions =
            json!({"sent": 40, "replaced": 2, "fee_cap_hits": 1, "mined_reverts": 0});
        let figures = ChainFigures {
            indexer: &indexer,
            mirror: &mirror,
            attestations: &attestations,
            pending: &pending,
            transactions: &transactions,
        };
        render(&state(), &figures)
    }

    /// The families, help texts and types as the hand-written encoder wrote them (taken from
    /// its `/metrics` output): dashboards and alerts depend on them.
    #[test]
    fn families_keep_their_names_types_and_help() {
        let expected = [
            "# HELP omega_jobs Jobs by status: live jobs for pending/active/validating, totals since genesis for settled ones.",
            "# TYPE omega_jobs gauge",
            "# HELP omega_jobs_posted_total Jobs posted since genesis.",
            "# TYPE omega_jobs_posted_total counter",
            "# HELP omega_lifecycles_completed_total Job lifecycles completed (validated and paid) since genesis.",
            "# TYPE omega_lifecycles_completed_total counter",
            "# HELP omega_jobs_delegated_total Sub-jobs delegated by agents.",
            "# TYPE omega_jobs_delegated_total counter",
            "# HELP omega_validator_slashes_total Validator slashes.",
            "# TYPE omega_validator_slashes_total counter",
            "# HELP omega_cycle The orchestrator's cycle number.",
            "# TYPE omega_cycle gauge",
            "# HELP omega_paused 1 while the orchestrator is paused.",
            "# TYPE omega_paused gauge",
            "# HELP omega_price_tokens Thermostat price in tokens per unit (energy: per GW, compute: per PF).",
            "# TYPE omega_price_tokens gauge",
            "# HELP omega_utilisation_ratio Planetary utilisation (the larger of energy and compute, 0..1).",
            "# TYPE omega_utilisation_ratio gauge",
            "# HELP omega_capacity Usable planetary capacity (energy GW, compute PF).",
            "# TYPE omega_capacity gauge",
            "# HELP omega_used Planetary capacity allocated to jobs.",
            "# TYPE omega_used gauge",
            "# HELP omega_tokens Tokens by ledger bucket (free + job_stakes + validator_stakes + escrowed + burned = minted).",
            "# TYPE omega_tokens gauge",
            "# HELP omega_ledger_balanced 1 while the ledger invariant holds.",
            "# TYPE omega_ledger_balanced gauge",
            "# HELP omega_indexer_block Last block the event indexer processed.",
            "# TYPE omega_indexer_block gauge",
            "# HELP omega_indexer_head Chain head the indexer last saw.",
            "# TYPE omega_indexer_head gauge",
            "# HELP omega_indexer_lag_blocks Blocks the indexer is behind the head.",
            "# TYPE omega_indexer_lag_blocks gauge",
            "# HELP omega_indexer_reorgs_total Chain reorganisations the indexer rolled back.",
            "# TYPE omega_indexer_reorgs_total counter",
            "# HELP omega_indexer_events_total Contract events the indexer processed.",
            "# TYPE omega_indexer_events_total counter",
            "# HELP omega_chain_jobs_created_total Engine jobs created on chain by the mirror.",
            "# TYPE omega_chain_jobs_created_total counter",
            "# HELP omega_chain_steps_done_total Lifecycle steps the mirror confirmed on chain.",
            "# TYPE omega_chain_steps_done_total counter",
            "# HELP omega_attestations_total Checkpoint attestations sent from this reports folder.",
            "# TYPE omega_attestations_total counter",
            "# HELP omega_attestation_latest_index Checkpoint index of the latest attestation sent.",
            "# TYPE omega_attestation_latest_index gauge",
            "# HELP omega_chain_tx_sent_total Transactions this run sent.",
            "# TYPE omega_chain_tx_sent_total counter",
            "# HELP omega_chain_tx_replaced_total Transactions replaced at the same nonce with higher fees (priced out).",
            "# TYPE omega_chain_tx_replaced_total counter",
            "# HELP omega_chain_tx_fee_cap_hits_total Times a priced-out transaction could not be replaced: over the fee cap.",
            "# TYPE omega_chain_tx_fee_cap_hits_total counter",
            "# HELP omega_chain_tx_mined_reverts_total Transactions mined with status 0 (each cost its sender gas).",
            "# TYPE omega_chain_tx_mined_reverts_total counter",
            "# HELP omega_pending_transactions Transactions a signer has sent that are not mined yet.",
            "# TYPE omega_pending_transactions gauge",
        ];
        let text = full_scrape();
        let got: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(got, expected, "{text}");
    }

    #[test]
    fn samples_keep_their_labels_and_integer_values() {
        let text = full_scrape();
        for line in [
            "omega_jobs{status=\"pending\"} 3",
            "omega_jobs{status=\"cancelled\"} 0",
            "omega_jobs_posted_total 3",
            "omega_paused 0",
            "omega_chain_tx_replaced_total 2",
            "omega_chain_tx_mined_reverts_total 0",
            "omega_price_tokens{resource=\"energy\"} 0.05",
            "omega_tokens{bucket=\"minted\"} 1000000000",
            "omega_ledger_balanced 1",
            "omega_indexer_lag_blocks 10",
            "omega_indexer_reorgs_total 2",
            "omega_attestation_latest_index 3",
            "omega_pending_transactions{signer=\"owner\",address=\"0xf39f\"} 2",
            "omega_pending_transactions{signer=\"a\\\"b\\\\c\\nd\",address=\"0x7099\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(line)),
                "no {line:?} in\n{text}"
            );
        }
        assert!(!text.contains("EOF"), "an OpenMetrics end marker:\n{text}");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "bad sample {line:?}");
            assert!(
                !value.ends_with(".0"),
                "a whole number with a fraction: {line:?}"
            );
        }
    }
}
