#!/usr/bin/env bash
# Creates ./.venv (git-ignored) and installs the pinned Python tools of scripts/requirements-python.txt
# (Slither for the contracts CI, a2a-sdk for tests/a2a.rs) from PyPI. Idempotent: about 1 s when everything is already there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
req=scripts/requirements-python.txt
stamp=.venv/.requirements-python.txt

command -v python3 >/dev/null || { echo "setup-python: python3 (>= 3.8) is required" >&2; exit 1; }
if [ -x .venv/bin/slither ] && cmp -s "$req" "$stamp"; then
  echo "setup-python: .venv already up to date ($(.venv/bin/slither --version))"
  exit 0
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
cp "$req" "$stamp"
echo "setup-python: installed $(.venv/bin/slither --version 2>/dev/null | sed 's/^/slither /')"
