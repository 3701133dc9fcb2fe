"""Judges a Slither run over contracts/src (called by scripts/slither.sh).

Fails (exit 1) when:
  - the build gave solc a source under two names, or Slither reported an error or analysed fewer
    contracts than contracts/src defines (the "silent pass": 0 results because nothing resolved);
  - a High or Medium finding is not accepted in the triage file. An entry accepts the findings whose
    `check` matches and whose first description line contains `match`; it needs a `reason`.
  - a triage entry matches nothing (stale acceptances must be removed, not left to hide new findings).
Usage: slither-check.py BUILD_INFO_DIR SLITHER_JSON SLITHER_LOG TRIAGE_JSON
"""
import glob
import json
import os
import re
import sys

GATED = ("High", "Medium")


def fail(msg):
    print(f"slither: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check_build(build_info_dir):
    files = glob.glob(os.path.join(build_info_dir, "*.json"))
    if not files:
        fail("no build-info produced")
    for f in files:
        with open(f) as fh:
            sources = json.load(fh)["input"]["sources"].keys()
        seen = {}
        for path in sources:
            if path.startswith("../") or "/../" in path:
                fail(f"relative source path {path}: use an absolute remapping")
            tail = path.split("@openzeppelin/contracts/")[-1]
            if "@openzeppelin" in path and tail in seen:
                fail(f"source under two names: {seen[tail]} and {path}")
            seen[tail] = path


def src_contract_count():
    n = 0
    for f in glob.glob("contracts/src/**/*.sol", recursive=True):
        with open(f) as fh:
            n += len(re.findall(r"^(?:abstract\s+)?(?:contract|interface|library)\s+\w+", fh.read(), re.M))
    return n


def main(build_info_dir, result_path, log_path, triage_path):
    check_build(build_info_dir)
    with open(log_path) as fh:
        log = fh.read()
    if not os.path.exists(result_path):
        print(log, file=sys.stderr)
        fail("Slither wrote no JSON result")
    with open(result_path) as fh:
        out = json.load(fh)
    if not out.get("success") or out.get("error"):
        print(log, file=sys.stderr)
        fail(f"Slither error: {out.get('error')}")
    m = re.search(r"analyzed \((\d+) contracts", log)
    need = src_contract_count()
    if not m or int(m.group(1)) < need:
        print(log, file=sys.stderr)
        fail(f"Slither analysed {m.group(1) if m else 0} contracts, contracts/src defines {need}")

    with open(triage_path) as fh:
        triage = json.load(fh)["accepted"]
    for t in triage:
        if not t.get("reason", "").strip():
            fail(f"triage entry without a reason: {t}")
    used = [0] * len(triage)
    unaccepted = []
    findings = [d for d in out["results"].get("detectors", []) if d["impact"] in GATED]
    for d in findings:
        first = d["description"].splitlines()[0]
        hit = [i for i, t in enumerate(triage) if t["check"] == d["check"] and t["match"] in first]
        for i in hit:
            used[i] += 1
        if not hit:
            unaccepted.append(f"[{d['impact']}] {d['check']}: {first}")
    stale = [t for t, u in zip(triage, used) if u == 0]
    print(f"slither: {m.group(1)} contracts analysed, {len(out['results'].get('detectors', []))} findings, "
          f"{len(findings)} High/Medium, {len(findings) - len(unaccepted)} accepted in {triage_path}")
    for s in stale:
        print(f"slither: stale triage entry (matches nothing): {s['check']} / {s['match']}", file=sys.stderr)
    for u in unaccepted:
        print(f"slither: unaccepted {u}", file=sys.stderr)
    if unaccepted or stale:
        fail(f"{len(unaccepted)} unaccepted High/Medium finding(s), {len(stale)} stale triage entr(y/ies)")
    print("slither: ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
