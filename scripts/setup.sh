#!/usr/bin/env bash
# Installs the contracts toolchain (Foundry forge/anvil/cast 1.7.1, solc-js, OpenZeppelin 5) and
# playwright-core (the dashboard browser test's driver, without a browser of its own) from the npm
# registry into ./node_modules, exactly as pinned in package-lock.json. Idempotent and quick when
# everything is already installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

command -v node >/dev/null || { echo "setup: node (>= 18) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup: npm is required" >&2; exit 1; }

arch="$(uname -m)"
case "$(uname -s)-$arch" in
  Linux-x86_64) plat=linux-amd64 ;;
  Linux-aarch64|Linux-arm64) plat=linux-arm64 ;;
  Darwin-x86_64) plat=darwin-amd64 ;;
  Darwin-arm64) plat=darwin-arm64 ;;
  *) echo "setup: unsupported platform $(uname -s)-$arch" >&2; exit 1 ;;
esac

bin_of() { echo "$ROOT/node_modules/@foundry-rs/$1-$plat/bin/$1"; }

installed() {
  # Everything present at the pinned versions?
  [ -x "$(bin_of forge)" ] && [ -x "$(bin_of anvil)" ] && [ -x "$(bin_of cast)" ] || return 1
  [ -f node_modules/solc/package.json ] && [ -f node_modules/@openzeppelin/contracts/package.json ] || return 1
  node -e '
    const lock = require("./package-lock.json").packages || {};
    for (const p of ["node_modules/solc", "node_modules/@openzeppelin/contracts", "node_modules/@foundry-rs/forge", "node_modules/playwright-core"]) {
      const want = (lock[p] || {}).version;
      let have; try { have = require("./" + p + "/package.json").version; } catch (e) { process.exit(1); }
      if (want && want !== have) process.exit(1);
    }' || return 1
}

if installed; then
  echo "setup: contracts toolchain already installed"
else
  if [ -f package-lock.json ]; then
    npm ci --ignore-scripts --no-audit --no-fund
  else
    npm install --ignore-scripts --no-audit --no-fund
  fi
  installed || { echo "setup: installation incomplete (foundry binaries for $plat missing?)" >&2; exit 1; }
fi

echo "forge: $(bin_of forge)"
echo "anvil: $(bin_of anvil)"
echo "cast:  $(bin_of cast)"
echo "solc:  $ROOT/scripts/solc-shim ($("$ROOT/scripts/solc-shim" --version | sed -n 's/^Version: //p'))"
"$(bin_of forge)" --version | head -1
