#!/usr/bin/env bash
# anvil's cost per block as its chain grows: on its default hardfork (Prague) the block-hash
# history contract gains a slot per block and anvil re-hashes all state per block, so the cost
# grows; the devnet runs Cancun (see `chain::anvil::HARDFORK` and the README, "Devnet blocks").
#   scripts/bench-anvil-blocks.sh                      # anvil's default (Prague)
#   scripts/bench-anvil-blocks.sh --hardfork cancun    # the devnet's
# Starts its own anvil on a free port; prints the mean time of `anvil_mine` (one block) as the
# chain grows by 2,000 empty blocks at a time. Needs scripts/setup.sh and python3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ANVIL="${OMEGA_ANVIL:-$ROOT/node_modules/.bin/anvil}"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
STATES="$(mktemp -d)"
"$ANVIL" --port "$PORT" --cache-path "$STATES" "$@" > /dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$STATES"' EXIT
sleep 2
python3 - "$PORT" <<'PY'
import json, sys, time, urllib.request
rpc = f"http://127.0.0.1:{sys.argv[1]}"
def call(method, params):
    req = urllib.request.Request(rpc, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
                                 {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))["result"]
print("| chain length (blocks) | ms per block (mean of 20) |")
print("|---:|---:|")
for _ in range(6):
    start = time.time()
    for _ in range(20):
        call("anvil_mine", ["0x1"])
    height = int(call("eth_blockNumber", []), 16)
    print(f"| {height:,} | {(time.time() - start) / 20 * 1000:.1f} |")
    call("anvil_mine", [hex(2000)])
PY
echo "disk written by anvil for block states: $(du -sh "$STATES" | cut -f1)"
