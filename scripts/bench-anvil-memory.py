#!/usr/bin/env python3
"""anvil's resident memory as blocks accumulate, for several --prune-history values.

Each block holds one contract creation that emits four logs (the state grows with every block,
as the devnet's does with every job). Prints RSS in MB after each quarter of the blocks.

    python3 scripts/bench-anvil-memory.py              # 8000 blocks; 256, 64 and 32 states
    BLOCKS=4000 STATES="256 64" python3 scripts/bench-anvil-memory.py

Needs scripts/setup.sh (anvil under node_modules). Not part of CI.
"""
import json
import os
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANVIL = os.path.join(ROOT, "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
# Four LOG0s of 64 bytes of memory, then STOP: a small contract creation with logs.
CODE = "0x" + "60406000a0" * 4 + "00"


def rpc(port, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}", body, {"Content-Type": "application/json"}
    )
    return json.load(urllib.request.urlopen(req))["result"]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        line = next(l for l in f if l.startswith("VmRSS"))
    return int(line.split()[1]) // 1024


def run(states, port, blocks):
    args = [ANVIL, "--port", str(port), "--prune-history", str(states), "--gas-limit", "300000000",
            "--hardfork", "cancun"]
    anvil = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                account = rpc(port, "eth_accounts", [])[0]
                break
            except OSError:
                time.sleep(0.05)
        figures = []
        for i in range(blocks):
            rpc(port, "eth_sendTransaction", [{"from": account, "data": CODE}])
            if (i + 1) % max(blocks // 4, 1) == 0:
                figures.append((i + 1, rss_mb(anvil.pid)))
        return figures
    finally:
        anvil.kill()
        anvil.wait()


def main():
    blocks = int(os.environ.get("BLOCKS", "8000"))
    states = [int(s) for s in os.environ.get("STATES", "256 64 32").split()]
    print("| --prune-history | " + " | ".join(f"MB at {blocks * q // 4}" for q in (1, 2, 3, 4)) + " |")
    print("|---:|" + "---:|" * 4)
    for n, s in enumerate(states):
        figures = run(s, 9930 + n, blocks)
        print(f"| {s} | " + " | ".join(str(mb) for _, mb in figures) + " |")


if __name__ == "__main__":
    main()
