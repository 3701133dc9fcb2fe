#!/usr/bin/env bash
# The bridge on the devnet in its reference profile (the reference v2 deployment's rules: bans,
# 50 % slashing, a committee of 3 that needs all 3 reveals, disputes through the DisputeModule),
# with a quarter of the validators' reveals missing at random and some work bad, for DURATION
# seconds of real-time cycles. Then it prints what issue 17 asks of such a run:
#   - jobs settled off chain, and how many of them are settled on chain (≥ 95 % finalized),
#   - jobs detached from the chain (0), stalled jobs (0), and `omega reconcile`'s exit code (0).
#   scripts/reference-run.sh                    # 5 minutes
#   DURATION=60 SEED=7 scripts/reference-run.sh
#   BIN=target/debug/omega scripts/reference-run.sh
# Exits 1 when a criterion fails. Not part of CI (minutes); needs python3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-300}"
SEED="${SEED:-$(date +%s)}"
BIN="${BIN:-$ROOT/target/release/omega}"
[ -x "$BIN" ] || cargo build --release --locked --quiet
bash scripts/setup.sh >/dev/null
WORK="$(mktemp -d)"
export OMEGA_DEVNET_PORT=0 OMEGA_DEVNET_PROFILE=reference OMEGA_REPORTS="$WORK/r"
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  "$BIN" devnet down --config "$WORK/config.json" >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] && echo "kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
echo "reference-run: seed $SEED, $DURATION s, reports in $WORK/r" >&2

# A quarter of the validators' reveals go missing; a tenth of the workers' results are bad.
python3 - "$WORK/config.json" <<'PY'
import json, sys
c = json.load(open("config/default_config.json"))
for a in c["agents"]:
    if a["role"] == "validator":
        a["non_reveal_rate"] = 0.25
    else:
        a["bad_work_rate"] = 0.1
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
export OMEGA_CONFIG="$WORK/config.json"

"$BIN" run --seed "$SEED" --json --log-format json > "$WORK/summary.json" 2> "$WORK/run.log" &
PID=$!
sleep "$DURATION"
kill -TERM "$PID"
wait "$PID" || true
PID=
set +e
"$BIN" reconcile --json > "$WORK/reconcile.json" 2> "$WORK/reconcile.err"
RECONCILE=$?
set -e
python3 - "$WORK" "$RECONCILE" <<'PY'
import json, sys, os
work, reconcile = sys.argv[1], int(sys.argv[2])
# The devnet's start-up lines come first on stdout; the summary is the JSON object after them.
text = open(os.path.join(work, "summary.json")).read()
summary = json.loads(text[text.index("\n{") + 1:] if not text.startswith("{") else text)
journal = [json.loads(l) for l in open(os.path.join(work, "r/chain/mirror.jsonl")) if l.strip()]
steps = {}
for e in journal:
    if e.get("kind") == "done":
        steps.setdefault(e["job"], set()).add(e["step"].split(":")[0])
settled = summary["completed"] + summary["failed"]
finalized = sum(1 for s in steps.values() if "finish" in s or "expire" in s)
released = sum(1 for s in steps.values() if "cancel" in s)
waiting = sum(1 for s in steps.values() if "failed" in s and not ({"expire", "cancel"} & s))
log = open(os.path.join(work, "run.log")).read()
detached = log.count("detached from the chain")
conflicts = log.count("conflict of interest")
report = json.load(open(os.path.join(work, "reconcile.json")))["report"]
stalled = sum(1 for d in report["drift"] if d["side"] == "stalled")
share = finalized / settled if settled else 0.0
rows = [
    ("jobs settled off chain (completed + failed)", settled),
    ("finalized on chain (incl. expired)", f"{finalized} ({share:.1%})"),
    ("cancelled on chain (failed before an agent applied)", released),
    ("failed before submit, waiting for the deadline", waiting),
    ("committees that seated the job's own worker", conflicts),
    ("detached", detached),
    ("stalled", stalled),
    ("drift items", len(report["drift"])),
    ("omega reconcile exit code", reconcile),
]
for k, v in rows:
    print(f"{k:<55} {v}")
ok = share >= 0.95 and detached == 0 and stalled == 0 and reconcile == 0
print("reference-run:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
