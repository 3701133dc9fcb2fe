#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard browser test (tests/dashboard.rs), when it is
# missing and apt is available (CI starts clean and runs as root). playwright-core itself comes
# from package-lock.json through scripts/setup.sh; it never downloads a browser of its own.
set -euo pipefail
CHROMIUM="${OMEGA_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  echo "setup-browser: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "setup-browser: $CHROMIUM is missing and apt-get is not available; the dashboard test will be skipped" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "setup-browser: installed $("$CHROMIUM" --version)"
