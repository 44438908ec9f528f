#!/usr/bin/env bash
# The sidebar's browser suite N times in a row while two busy processes hold both cores:
# a wait that depends on the clock rather than on the application's state fails here.
#   bash tests/browser_under_load.sh [N]        (make browser-under-load RUNS=N)
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
busy=()
for _ in 1 2; do
  yes > /dev/null &
  busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null' EXIT
failed=0
for i in $(seq 1 "$runs"); do
  started=$(date +%s)
  if .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_sidebar_browser.py > "/tmp/browser-under-load-$i.log" 2>&1; then
    echo "run $i: passed in $(( $(date +%s) - started )) s"
  else
    failed=$((failed + 1))
    echo "run $i: FAILED in $(( $(date +%s) - started )) s (log: /tmp/browser-under-load-$i.log)"
  fi
done
echo "browser suite under load: $((runs - failed)) of $runs runs passed"
[ "$failed" -eq 0 ]
