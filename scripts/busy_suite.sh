#!/usr/bin/env bash
# The whole test suite N times in a row (default 20) on a busy machine: a fresh clone of HEAD,
# its own .venv, one `yes` process holding a core throughout. Stops at the first failure and
# keeps that run's log. One line per run goes to stdout and to $OUT/runs.txt.
#   scripts/busy_suite.sh [N] [PYTEST_ARGS...]   (the whole suite: 13-22 minutes a run on 2 cores)
#   scripts/busy_suite.sh 20 tests/security      (the security suite alone: about 5 minutes a run)
set -uo pipefail
runs=${1:-20}
shift || true
repo="$(cd "$(dirname "$0")/.." && pwd)"
OUT=${OUT:-$(mktemp -d /tmp/modelport-busy.XXXXXX)}
clone="$OUT/clone"
git clone -q "$repo" "$clone" || exit 1
cd "$clone" || exit 1
CI=true bash scripts/setup.sh --dev > "$OUT/setup.log" 2>&1 || { echo "set-up failed: $OUT/setup.log"; exit 1; }
yes > /dev/null &
load=$!
trap 'kill $load 2>/dev/null' EXIT
echo "commit $(git rev-parse --short HEAD), pytest ${*:-(whole suite)}, logs in $OUT" | tee "$OUT/runs.txt"
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  CI=true .venv/bin/python -m pytest -q -p no:cacheprovider "$@" > "$OUT/run-$i.log" 2>&1
  rc=$?
  echo "run $i: rc=$rc $(( $(date +%s) - start ))s: $(tail -1 "$OUT/run-$i.log")" | tee -a "$OUT/runs.txt"
  [ "$rc" -ne 0 ] && exit 1
done
echo "$runs runs in a row passed" | tee -a "$OUT/runs.txt"
