#!/usr/bin/env bash
# Static analysis of contracts/src with Slither (scripts/setup-python.sh installs it into .venv/).
# Fails on any compile or resolve error and on any High or Medium finding that
# contracts/slither-triage.json does not accept with a reason (scripts/slither-check.py).
#
# Why a build of its own: forge.toml maps OpenZeppelin through the relative `../node_modules`, so
# forge hands solc each OpenZeppelin file under two names; Slither then cannot resolve them and
# silently reports 0 results. This build uses an absolute remapping, and the check refuses a build
# whose sources are not each under one name.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -x .venv/bin/slither ] || { echo "slither: not installed: run scripts/setup-python.sh" >&2; exit 1; }
FORGE="$(ls "$ROOT"/node_modules/@foundry-rs/forge-*/bin/forge 2>/dev/null | head -1 || true)"
[ -n "$FORGE" ] || { echo "slither: forge not installed: run scripts/setup.sh" >&2; exit 1; }
export PATH="$(dirname "$FORGE"):$PATH"   # crytic-compile asks `forge config`
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

scripts/forge.sh build --skip test --skip script --build-info --out "$tmp/out" --cache-path "$tmp/cache" \
  --remappings "@openzeppelin/contracts/=$ROOT/node_modules/@openzeppelin/contracts/" >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log" >&2; echo "slither: forge build failed" >&2; exit 1; }

# Slither exits non-zero whenever it finds anything; the check below judges its JSON and log.
(cd contracts && "$ROOT/.venv/bin/slither" . --foundry-ignore-compile --foundry-out-directory "$tmp/out" \
  --filter-paths 'node_modules|test/' --json "$tmp/slither.json" >"$tmp/slither.log" 2>&1) || true
.venv/bin/python scripts/slither-check.py "$tmp/out/build-info" "$tmp/slither.json" "$tmp/slither.log" \
  contracts/slither-triage.json
