//! Where a mirrored job's time goes, per kind of action: how long the action waited after the
//! job's previous step (for the engine, the chain clock, free validators), and how long it took
//! itself (reads, estimate, send, block, receipt). Printed in `omega run`'s summary and by the
//! chain benchmark.

use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Clone, Copy, Default)]
struct Tally {
    count: u64,
    waited: Duration,
    took: Duration,
}

#[derive(Default)]
pub struct StageTimes {
    by_kind: BTreeMap<&'static str, Tally>,
}

impl StageTimes {
    pub fn record(&mut self, kind: &'static str, waited: Duration, took: Duration) {
        let t = self.by_kind.entry(kind).or_default();
        t.count += 1;
        t.waited += waited;
        t.took += took;
    }

    /// One line: `kind n× wait W act A` per kind, means in milliseconds.
    pub fn report(&self) -> Option<String> {
        if self.by_kind.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .by_kind
            .iter()
            .map(|(kind, t)| {
                let mean = |d: Duration| d.as_secs_f64() * 1000.0 / t.count as f64;
                format!(
                    "{kind} {}× wait {:.0} ms act {:.0} ms",
                    t.count,
                    mean(t.waited),
                    mean(t.took)
                )
            })
            .collect();
        Some(parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_per_kind() {
        let mut s = StageTimes::default();
        assert!(s.report().is_none());
        let ms = Duration::from_millis;
        s.record("commit", ms(10), ms(30));
        s.record("commit", ms(30), ms(10));
        s.record("apply", ms(5), ms(7));
        assert_eq!(
            s.report().unwrap(),
            "apply 1× wait 5 ms act 7 ms; commit 2× wait 20 ms act 20 ms"
        );
    }
}
