#!/usr/bin/env bash
# CI entry point for the Solidity side. Exits non-zero on any failure.
#  1. toolchain (scripts/setup.sh: npm ci only if node_modules is missing or stale;
#     scripts/setup-python.sh: Slither into .venv/ only if missing or stale)
#  2. artifact freshness (scripts/build-contracts.sh --check)
#  2b. Slither static analysis (scripts/slither.sh): no unaccepted High/Medium finding
#  3. forge test (unit, fuzz, invariant) through the solc-js shim
#  4. lifecycle gas test in isolation mode, checked against contracts/snapshots/*.json
#  5. ABI compatibility check (contracts/spec/v2-abi-subset.txt) and size check of contracts-abi/
#  6. anvil smoke test of the committed artifacts (skip with OMEGA_SKIP_ANVIL_SMOKE=1)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$(date +%s)
step() { echo; echo "==> $*"; }

step "toolchain"
bash scripts/setup.sh   # ~1 s when node_modules already matches package-lock.json
bash scripts/setup-python.sh

step "artifact freshness"
bash scripts/build-contracts.sh --check

step "static analysis (Slither; triage in contracts/slither-triage.json)"
bash scripts/slither.sh

step "forge test (unit, fuzz, invariant)"
scripts/forge.sh test --no-match-path 'test/Gas.t.sol' ${FORGE_TEST_ARGS:-}

step "lifecycle gas (isolated txs) vs committed contracts/snapshots/"
FORGE_SNAPSHOT_CHECK=true scripts/forge.sh test --isolate --match-path 'test/Gas.t.sol'

step "ABI compatibility"
node scripts/check-abi.mjs

step "contract sizes"
node scripts/check-sizes.mjs

if [ "${OMEGA_SKIP_ANVIL_SMOKE:-0}" != 1 ]; then
  step "anvil smoke test: deploy the committed artifacts as in contracts/README.md, run 2 lifecycles"
  bash scripts/anvil-lifecycle.sh
fi

echo
echo "test-contracts: all checks passed in $(( $(date +%s) - start ))s"
