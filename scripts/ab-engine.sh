#!/usr/bin/env bash
# A/B comparison of two omega binaries on the engine benchmark's 100k run (fast mode, JSON log on).
#   scripts/ab-engine.sh OLD_BINARY NEW_BINARY [PAIRS]     (default 11 pairs)
# Runs the two alternately (the order flips every pair) and prints the median of the per-pair
# ratios NEW/OLD for wall time and for CPU time (user + system): this machine's speed drifts by
# tens of percent over minutes, and a ratio within one pair cancels most of that drift.
# JOBS=N changes the size. Needs GNU time (/usr/bin/time) and bc.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
old="$(realpath "$1")"; new="$(realpath "$2")"; pairs="${3:-11}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

one() { # binary -> "wall cpu"
  rm -rf "$WORK/r"; mkdir -p "$WORK/r"
  /usr/bin/time -f "%e %U %S" -o "$WORK/t" "$1" run --chain off --fast --seed 1 \
    --config "$ROOT/config/bench_config.json" --reports "$WORK/r" --stop-after-jobs "${JOBS:-100000}" \
    --status-every 0 --log-level error --json > /dev/null
  read -r wall user sys < "$WORK/t"
  echo "$wall $(echo "$user + $sys" | bc)"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

walls=(); cpus=()
for i in $(seq "$pairs"); do
  if (( i % 2 )); then read -r wa ca <<<"$(one "$old")"; read -r wb cb <<<"$(one "$new")"
  else read -r wb cb <<<"$(one "$new")"; read -r wa ca <<<"$(one "$old")"; fi
  echo "pair $i: old ${wa}s / ${ca}s CPU, new ${wb}s / ${cb}s CPU"
  walls+=("$(echo "scale=4; $wb / $wa" | bc)"); cpus+=("$(echo "scale=4; $cb / $ca" | bc)")
done
echo "new/old, median of $pairs pairs: wall $(median "${walls[@]}"), CPU $(median "${cpus[@]}")"
