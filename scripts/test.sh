#!/usr/bin/env bash
# The whole test suite, as CI runs it: contracts toolchain, Solidity tests and checks, Rust tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$(date +%s)
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
