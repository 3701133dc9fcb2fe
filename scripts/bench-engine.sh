#!/usr/bin/env bash
# Engine benchmark (fast mode, JSON log on): full job lifecycles per second and peak RSS for
# 10k / 100k / 1M settled jobs, then checkpoint write time and size against the number of live jobs.
#   scripts/bench-engine.sh            # all sizes, 3 runs each
#   SIZES="10000 100000" RUNS=5 scripts/bench-engine.sh
#   BIN=/path/to/omega scripts/bench-engine.sh   # a binary built elsewhere (no build here)
# Needs python3 and GNU time (/usr/bin/time). Prints Markdown tables for BENCHMARKS.md.
# "CPU s" is all threads' user + system time: on a shared VM it tells the machine's phase apart
# (the same run takes about twice the CPU time when the host is busy).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -z "${BIN:-}" ]; then   # BIN=path/to/omega measures a binary built elsewhere
  cargo build --release --locked --quiet
  BIN="$ROOT/target/release/omega"
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SIZES="${SIZES:-10000 100000 1000000}"
RUNS="${RUNS:-3}"   # runs per size; the machine's speed drifts, so the table gives the median and range

echo "| settled jobs | cycles | wall s (median) | CPU s (median) | lifecycles/s (median) | lifecycles/s (min–max of $RUNS) | peak RSS MB | log MB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in $SIZES; do
  : > "$WORK/runs"
  for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/r"; mkdir -p "$WORK/r"
    /usr/bin/time -f "%e %M %U %S" -o "$WORK/time" "$BIN" run --chain off --fast --seed 1 --config config/bench_config.json \
      --reports "$WORK/r" --stop-after-jobs "$n" --status-every 0 --log-level error --json > "$WORK/summary.json"
    read -r wall rss user sys < "$WORK/time"
    python3 - "$WORK/summary.json" "$wall" "$rss" "$WORK/r/orchestrator.log" "$user" "$sys" >> "$WORK/runs" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
settled = s["completed"] + s["failed"] + s["cancelled"]
print(json.dumps({"settled": settled, "cycles": s["cycles_run"], "wall": float(sys.argv[2]),
                  "rss_mb": int(sys.argv[3]) / 1024, "log_mb": os.path.getsize(sys.argv[4]) / 1e6,
                  "cpu": float(sys.argv[5]) + float(sys.argv[6])}))
PY
  done
  python3 - "$WORK/runs" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
r = runs[0]  # same seed: every run settles the same jobs in the same cycles
rates = sorted(x["settled"] / x["wall"] for x in runs)
wall = statistics.median(x["wall"] for x in runs)
cpu = statistics.median(x["cpu"] for x in runs)
rss = max(x["rss_mb"] for x in runs)
print(f"| {r['settled']:,} | {r['cycles']:,} | {wall:.2f} | {cpu:.2f} | {r['settled'] / wall:,.0f} | "
      f"{rates[0]:,.0f}–{rates[-1]:,.0f} | {rss:.0f} | {r['log_mb']:.0f} |")
PY
done

echo
echo "| live jobs | checkpoint bytes | write ms (mean of last 3) |"
echo "|---:|---:|---:|"
for live in 1000 10000 100000; do
  rm -rf "$WORK/c"; mkdir -p "$WORK/c"
  python3 - "$live" > "$WORK/c.json" <<'PY'
import json, sys
live = int(sys.argv[1])
c = json.load(open("config/bench_config.json"))
c["generator"]["max_pending"] = live
c["generator"]["rate_per_cycle"] = live
c["checkpoint_interval_seconds"] = 0.2
for a in c["agents"]:
    a["max_parallel_jobs"] = 1   # keep jobs pending so the live set stays at `live`
print(json.dumps(c))
PY
  "$BIN" run --chain off --fast --seed 1 --config "$WORK/c.json" --reports "$WORK/c" --cycles 6 --status-every 0 --log-level error > /dev/null
  python3 - "$WORK/c/orchestrator.log" <<'PY'
import json, sys
cps = [json.loads(l)["context"] for l in open(sys.argv[1]) if '"message":"checkpoint"' in l][-3:]
live = cps[-1]["active_jobs"]; size = cps[-1]["bytes"]
ms = sum(c["write_ms"] for c in cps) / len(cps)
print(f"| {live:,} | {size:,} | {ms:.1f} |")
PY
done
