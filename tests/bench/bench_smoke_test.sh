#!/usr/bin/env bash
# A short run of one seesaw-bench mode against the test database, so the
# benchmarks cannot rot: it must finish, print result lines that
# seesaw-bench-report reads, and report the metrics named.
#   bench_smoke_test.sh BENCH REPORT MODE "metric ..." [seesaw-bench options]
set -euo pipefail
bench=$1 report=$2 mode=$3 metrics=$4
shift 4
: "${SEESAW_TEST_DATABASE_URL:?set SEESAW_TEST_DATABASE_URL (scripts/test.sh does)}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bench" --database-url "$SEESAW_TEST_DATABASE_URL" --schema "bench_smoke_$mode" --mode "$mode" "$@" >"$out"
"$report" "$out" >/dev/null
status=0
for metric in $metrics; do
  grep -q "\"metric\":\"$metric\"" "$out" || { echo "seesaw-bench --mode $mode reported no $metric"; status=1; }
done
[ $status -eq 0 ] && echo "seesaw-bench --mode $mode: $(wc -l <"$out") result lines"
exit $status
