#!/usr/bin/env bash
# The steward's one-liner: builds Omega (first time only) and runs the orchestrator.
#   scripts/run-omega.sh                 # runs until Ctrl-C, checkpointing to reports/
#   scripts/run-omega.sh --cycles 30     # a short session, mirrored to the local devnet
#   scripts/run-omega.sh --chain off     # pure simulation, no chain
# Any `omega run` flag works here (see `omega run --help`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v cargo >/dev/null || { echo "run-omega: Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
if [ ! -x target/release/omega ] || [ -n "$(find src Cargo.toml Cargo.lock contracts-abi -newer target/release/omega -print -quit 2>/dev/null)" ]; then
  echo "run-omega: building omega (release; the first build takes a few minutes)..." >&2
  cargo build --release --locked --quiet
fi
# The default chain mode is the local devnet, which needs anvil (pinned in package.json).
case " $* " in
  *" --chain off "*|*" --chain=off "*|*" --rpc-url"*) ;;
  *) [ -n "${OMEGA_ANVIL:-}" ] || ls node_modules/@foundry-rs/anvil-*/bin/anvil >/dev/null 2>&1 || bash scripts/setup.sh >&2 ;;
esac
exec target/release/omega run "$@"
