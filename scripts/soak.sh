#!/usr/bin/env bash
# Soak: a long `omega run` on a fresh devnet (chain on, default config, real-time cycles), with
# the figures that must stay flat compared between the run's first and last minute:
#   - Omega's resident memory (VmRSS) and open file descriptors,
#   - time per cycle (cycles counted through /healthz over the window),
#   - anvil's resident memory and time per block (blocks it produced over the window; the block
#     builder mines on demand, so a slower anvil shows as fewer blocks for the same work).
#   scripts/soak.sh                     # one hour
#   DURATION=600 WINDOW=30 scripts/soak.sh
# Not part of CI (an hour). Needs curl and python3; builds the release binary if missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-3600}"   # seconds of run
WINDOW="${WINDOW:-60}"         # seconds per measurement window
BIN="${BIN:-$ROOT/target/release/omega}"
[ -x "$BIN" ] || cargo build --release --locked --quiet
bash scripts/setup.sh >/dev/null
WORK="$(mktemp -d)"
export OMEGA_DEVNET_PORT=0 OMEGA_LOG_LEVEL=warn
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  "$BIN" devnet down --reports "$WORK/r" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" devnet up --reports "$WORK/r" >/dev/null
RPC="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rpc_url"])' "$WORK/r/devnet/anvil.json")"
ANVIL_PID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$WORK/r/devnet/anvil.json")"
"$BIN" run --reports "$WORK/r" --http 127.0.0.1:0 > "$WORK/run.log" 2>&1 &
PID=$!
for _ in $(seq 200); do [ -s "$WORK/r/http.addr" ] && break; sleep 0.1; done
API="http://$(cat "$WORK/r/http.addr")"

cycle() { curl -sf "$API/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cycle"])'; }
block() {
  curl -sf -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$RPC" |
    python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"], 16))'
}
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }

# One window: prints "rss fds ms_per_cycle anvil_rss ms_per_block".
measure() {
  local c0 b0 c1 b1
  c0=$(cycle); b0=$(block)
  sleep "$WINDOW"
  c1=$(cycle); b1=$(block)
  echo "$(rss_mb "$PID") $(fds "$PID") $(python3 -c "print(round($WINDOW*1000/max(1,$c1-$c0),1))") \
$(rss_mb "$ANVIL_PID") $(python3 -c "print(round($WINDOW*1000/max(1,$b1-$b0),1))")"
}

sleep 30   # past start-up
read -r r0 f0 c0 a0 b0 <<<"$(measure)"
echo "soak: first window measured; running for ${DURATION}s" >&2
rest=$(( DURATION - 30 - 2 * WINDOW ))
(( rest > 0 )) && sleep "$rest"
read -r r1 f1 c1 a1 b1 <<<"$(measure)"
kill -0 "$PID" || { echo "soak: omega run died; its log:" >&2; tail -20 "$WORK/run.log" >&2; exit 1; }

echo "| measure | first window | last window |"
echo "|---|---:|---:|"
echo "| omega RSS MB | $r0 | $r1 |"
echo "| omega open fds | $f0 | $f1 |"
echo "| ms per cycle | $c0 | $c1 |"
echo "| anvil RSS MB | $a0 | $a1 |"
echo "| anvil ms per block | $b0 | $b1 |"
echo "soak: ${DURATION}s, window ${WINDOW}s, final cycle $(cycle), final block $(block)"
