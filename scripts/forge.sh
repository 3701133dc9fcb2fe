#!/usr/bin/env bash
# Runs the pinned forge from node_modules inside contracts/, always offline and through the solc-js shim.
# Usage: scripts/forge.sh build|test|... [args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FORGE="$(ls "$ROOT"/node_modules/@foundry-rs/forge-*/bin/forge 2>/dev/null | head -1 || true)"
[ -n "$FORGE" ] && [ -x "$FORGE" ] || { echo "forge not installed: run scripts/setup.sh" >&2; exit 1; }
cmd="$1"; shift
cd "$ROOT/contracts"
case "$cmd" in
  build|test|snapshot|coverage) exec "$FORGE" "$cmd" --use "$ROOT/scripts/solc-shim" --offline "$@" ;;
  *) exec "$FORGE" "$cmd" "$@" ;;
esac
