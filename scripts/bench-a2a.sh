#!/usr/bin/env bash
# A2A benchmark: jobs settled per second with external workers on loopback, and the wall time
# per job that A2A adds to a lifecycle. The same run (chain off, real-time cycles, N checksum
# jobs, simulated validators) is made twice, alternately, RUNS times:
#   sim: the jobs are worked by simulated workers (one cycle of "work");
#   a2a: the jobs are worked by the example Python worker(s) (examples/a2a/worker.py, official
#        SDK, WORKER_DELAY_S=0: no pretend work, only the protocol), one process per worker.
# Per run it reads the event log: jobs settled per second (first job posted to last settled),
# each job's assigned → submitted and assigned → settled times (a job's wait for a free worker
# left out); and, for a2a, the A2A round trip
# each task took inside Omega (SendMessage, GetTask polls to a terminal state, the artifacts
# kept), from the driver's `a2a_ms` console field.
#   scripts/bench-a2a.sh                       # 3 runs of each, 200 jobs, 2 workers × 8 jobs
#   JOBS=400 WORKERS=4 PARALLEL=8 RUNS=5 CYCLE=0.05 scripts/bench-a2a.sh
#   BIN=/path/to/omega scripts/bench-a2a.sh    # a binary built elsewhere (default: debug build)
# Needs .venv (scripts/setup-python.sh). Prints Markdown tables for BENCHMARKS.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -z "${BIN:-}" ]; then
  cargo build --locked --quiet
  BIN="$ROOT/target/debug/omega"
fi
JOBS="${JOBS:-200}" WORKERS="${WORKERS:-2}" PARALLEL="${PARALLEL:-8}" RUNS="${RUNS:-3}"
CYCLE="${CYCLE:-0.1}"
export JOBS WORKERS PARALLEL CYCLE
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The example workers, started once for all runs (each prints `listening PORT`).
PORTS=()
for i in $(seq "$WORKERS"); do
  WORKER_DELAY_S=0 .venv/bin/python examples/a2a/worker.py 0 > "$WORK/worker-$i.out" 2> "$WORK/worker-$i.err" &
  PIDS+=("$!")
done
for i in $(seq "$WORKERS"); do
  for _ in $(seq 200); do grep -q '^listening' "$WORK/worker-$i.out" && break; sleep 0.05; done
  PORTS+=("$(awk '/^listening/ {print $2}' "$WORK/worker-$i.out")")
done
export PORT_LIST="${PORTS[*]}"

# config MODE: the benchmark's config (sim or a2a) on stdout.
config() {
  python3 - "$1" <<'PY'
import json, os, sys
mode = sys.argv[1]
jobs, workers, parallel = int(os.environ["JOBS"]), int(os.environ["WORKERS"]), int(os.environ["PARALLEL"])
c = json.load(open("config/default_config.json"))
big = 1e12
validators = dict(c["agents"][3], count=4, non_reveal_rate=0.0, energy_allowance=big, compute_allowance=big)
c["agents"] = [validators]
if mode == "sim":
    c["agents"].append({"name": "SimWorker", "role": "finance", "skills": ["checksum"], "count": workers,
                        "stake": 250000, "energy_allowance": big, "compute_allowance": big,
                        "max_parallel_jobs": parallel, "error_rate": 0.0, "bad_work_rate": 0.0})
else:
    c["external_agents"] = [
        {"name": f"A2aWorker-{i}", "card_url": f"http://127.0.0.1:{port}/.well-known/agent-card.json",
         "role": "worker", "skills": ["checksum"], "stake": 250000, "max_parallel_jobs": parallel,
         "energy_allowance": big, "compute_allowance": big, "task_timeout_seconds": 60}
        for i, port in enumerate(os.environ["PORT_LIST"].split(), 1)]
c["cycle_seconds"] = float(os.environ["CYCLE"])
c["generator"]["rate_per_cycle"] = 0.0
c["max_concurrent_jobs"] = jobs
c["resource_manager"]["energy_capacity"] = big
c["resource_manager"]["compute_capacity"] = big
c["validators"].update(committee_size=3, quorum=2, commit_phase_seconds=0.3, reveal_phase_seconds=0.3)
c["jobs"] = [{"title": f"Checksum batch {i}", "reward": 1000 + i, "deadline_hours": 1,
              "energy": 10, "compute": 10, "skills": ["checksum"]} for i in range(jobs)]
print(json.dumps(c))
PY
}

# measure MODE RUN_DIR: one JSON line of figures from a finished run.
measure() {
  python3 - "$1" "$2" <<'PY'
import json, re, statistics, sys
from datetime import datetime
mode, d = sys.argv[1], sys.argv[2]
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
posted, assigned, submitted, settled = {}, {}, {}, {}
for line in open(f"{d}/orchestrator.log"):
    e = json.loads(line)
    job = e["context"].get("job") if isinstance(e["context"], dict) else None
    m = e["message"]
    table = {"job_posted": posted, "job_assigned": assigned, "job_submitted": submitted,
             "job_completed": settled, "job_failed": settled}.get(m)
    if table is not None and job is not None:
        table.setdefault(job, t(e["timestamp"]))
span = max(settled.values()) - min(posted.values())
work = [submitted[j] - assigned[j] for j in submitted if j in assigned]
life = [settled[j] - assigned[j] for j in settled if j in assigned]
rtt = []
for line in open(f"{d}/stderr"):
    m = re.search(r'"a2a_ms":([0-9.]+)', line)
    if m:
        rtt.append(float(m.group(1)))
print(json.dumps({"mode": mode, "settled": len(settled), "span": span, "rate": len(settled) / span,
                  "work_ms": statistics.median(work) * 1e3, "life_ms": statistics.median(life) * 1e3,
                  "rtt_ms": statistics.median(rtt) if rtt else None,
                  "rtt_p90_ms": statistics.quantiles(rtt, n=10)[-1] if len(rtt) > 1 else None}))
PY
}

for run in $(seq "$RUNS"); do
  # Alternate the order, so that a drift of the machine's speed hits both modes alike.
  if [ $((run % 2)) -eq 1 ]; then modes="sim a2a"; else modes="a2a sim"; fi
  for mode in $modes; do
    d="$WORK/$mode-$run"; mkdir -p "$d"
    config "$mode" > "$d/config.json"
    "$BIN" run --chain off --seed "$run" --config "$d/config.json" --reports "$d" \
      --stop-after-jobs "$JOBS" --status-every 0 --log-format json --log-level warn,omega::engine::external=info \
      > /dev/null 2> "$d/stderr"
    measure "$mode" "$d" | tee -a "$WORK/runs.jsonl" >&2
  done
done

python3 - "$WORK/runs.jsonl" <<'PY'
import json, os, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
by = {m: [r for r in runs if r["mode"] == m] for m in ("sim", "a2a")}
med = lambda m, k: statistics.median(r[k] for r in by[m])
rng = lambda m, k: f'{min(r[k] for r in by[m]):.0f}–{max(r[k] for r in by[m]):.0f}'
rngf = lambda m, k: f'{min(r[k] for r in by[m]):.1f}–{max(r[k] for r in by[m]):.1f}'
print(f'{os.environ["JOBS"]} jobs, {os.environ["WORKERS"]} workers × {os.environ["PARALLEL"]} jobs at once, '
      f'cycle {os.environ["CYCLE"]} s, chain off, {len(by["sim"])} runs of each (median, min–max)\n')
print("| workers | settled | jobs settled/s | assigned → submitted ms | assigned → settled ms |")
print("|---|---:|---:|---:|---:|")
for m, label in (("sim", "simulated"), ("a2a", "example Python worker over A2A")):
    print(f'| {label} | {by[m][0]["settled"]} | {med(m, "rate"):.1f} ({rngf(m, "rate")}) | '
          f'{med(m, "work_ms"):.0f} ({rng(m, "work_ms")}) | {med(m, "life_ms"):.0f} ({rng(m, "life_ms")}) |')
print()
added = [a["life_ms"] - s["life_ms"] for s, a in zip(by["sim"], by["a2a"])]
work = [a["work_ms"] - s["work_ms"] for s, a in zip(by["sim"], by["a2a"])]
print(f'added wall time per job (a2a − sim, paired runs): lifecycle {statistics.median(added):.0f} ms '
      f'({min(added):.0f}–{max(added):.0f}), work step {statistics.median(work):.0f} ms ({min(work):.0f}–{max(work):.0f})')
print(f'A2A round trip inside Omega (SendMessage → terminal → artifacts kept): median {med("a2a", "rtt_ms"):.0f} ms '
      f'({rng("a2a", "rtt_ms")}), p90 {med("a2a", "rtt_p90_ms"):.0f} ms')
PY
