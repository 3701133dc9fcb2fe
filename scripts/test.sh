#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, layer rule, clippy and a benches build, then the
# contracts toolchain, Solidity tests and checks, Rust tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$(date +%s)
# The gates first, cheapest first: each fails the run before the long suites start.
echo "==> format"
cargo fmt --check
echo "==> layers"
bash scripts/check-layers.sh
echo "==> clippy"
# The check build it makes is shared with nothing below, but its build scripts and proc-macros are.
cargo clippy --all-targets --locked -- -D warnings
echo "==> benches build"
# In the test profile: `cargo build --benches` would use the release profile's fat LTO (5 min).
cargo test --benches --no-run --locked
echo "==> contracts toolchain"
bash scripts/setup.sh
echo "==> python tools (Slither)"
bash scripts/setup-python.sh
echo "==> browser for the dashboard test"
bash scripts/setup-browser.sh
echo "==> contracts"
bash scripts/test-contracts.sh
echo "==> rust"
cargo test --locked --no-fail-fast
echo "test.sh: all suites passed in $(( $(date +%s) - start ))s"
