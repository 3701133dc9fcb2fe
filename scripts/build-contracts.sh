#!/usr/bin/env bash
# Builds contracts/src with forge (solc-js via scripts/solc-shim, offline) and writes one artifact per
# deployable contract to contracts-abi/<Name>.json ({abi, bytecode, deployedBytecode}). The output is
# byte-identical on every rebuild (no metadata hash / CBOR metadata, fixed key order).
#   scripts/build-contracts.sh          rebuild and overwrite contracts-abi/
#   scripts/build-contracts.sh --check  rebuild into a temp dir; exit 1 if contracts-abi/ is stale
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mode="${1:-write}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Compile sources only (tests are not needed for the artifacts) into a private out/cache dir.
scripts/forge.sh build --skip test --skip script --out "$tmp/out" --cache-path "$tmp/cache" >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log" >&2; echo "build-contracts: forge build failed" >&2; exit 1; }

if [ "$mode" = "--check" ]; then
  node scripts/export-artifacts.mjs "$tmp/out" "$tmp/abi" >/dev/null
  stale=0
  for f in "$tmp"/abi/*.json; do
    n="$(basename "$f")"
    if ! cmp -s "$f" "contracts-abi/$n"; then
      echo "STALE: contracts-abi/$n differs from a fresh build" >&2; stale=1
    fi
  done
  for f in contracts-abi/*.json; do
    [ -e "$f" ] || continue
    [ -e "$tmp/abi/$(basename "$f")" ] || { echo "STALE: $f is not produced by the build" >&2; stale=1; }
  done
  if [ "$stale" = 1 ]; then
    echo "build-contracts --check: committed artifacts are stale; run scripts/build-contracts.sh and commit contracts-abi/" >&2
    exit 1
  fi
  echo "build-contracts --check: contracts-abi/ is fresh ($(ls "$tmp"/abi | wc -l) artifacts)"
else
  rm -f contracts-abi/*.json
  node scripts/export-artifacts.mjs "$tmp/out" contracts-abi
fi
