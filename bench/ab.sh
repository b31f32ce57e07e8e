#!/usr/bin/env bash
# Compares two builds of seesaw-bench (e.g. the commit before a change and
# after it) on one server, alternating them run by run so that the machine's
# drift hits both alike, and prints the medians side by side.
#   bench/ab.sh BEFORE_BENCH AFTER_BENCH [ROUNDS] [-- seesaw-bench args...]
# The mode and its arguments come after --; default: the latency and
# throughput modes in turn. Each binary uses a schema of its own (their
# migrations may differ). Needs SEESAW_DATABASE_URL (durable:
# scripts/lib.sh's seesaw_start_postgres <dir> durable gives one).
#   bench/ab.sh /tmp/before/bench/seesaw-bench build/bench/seesaw-bench 5
set -euo pipefail
before=${1:?usage: bench/ab.sh BEFORE_BENCH AFTER_BENCH [ROUNDS] [-- args...]}
after=${2:?usage: bench/ab.sh BEFORE_BENCH AFTER_BENCH [ROUNDS] [-- args...]}
shift 2
rounds=5
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ "${1:-}" = "--" ] && shift
: "${SEESAW_DATABASE_URL:?set SEESAW_DATABASE_URL to a durable PostgreSQL}"

modes=()
if [ $# -gt 0 ]; then
  modes=("$*")
else
  modes=("--mode latency --jobs 1000" "--mode throughput --jobs 50000")
fi

out=$(mktemp)
for mode in "${modes[@]}"; do
  for round in $(seq 1 "$rounds"); do
    for side in before after; do
      bin=$before
      [ $side = after ] && bin=$after
      # shellcheck disable=SC2086
      "$bin" --schema "ab_$side" $mode | sed "s/^/$side /" >>"$out"
    done
  done
done

# Medians per metric and side (one JSON object per line from seesaw-bench).
python3 - "$out" <<'EOF'
import json, statistics, sys
from collections import defaultdict
values = defaultdict(list)
for line in open(sys.argv[1]):
    side, _, text = line.partition(' ')
    try:
        row = json.loads(text)
    except ValueError:
        continue
    if row.get('system') != 'seesaw':
        continue
    key = (row['params'].get('mode', '?'), row['metric'], row.get('unit', ''))
    values[key, side].append(row['value'])
keys = sorted({k for k, _ in values})
print(f"{'mode':<11} {'metric':<24} {'before':>12} {'after':>12} {'after/before':>12}  runs")
for key in keys:
    b, a = values.get((key, 'before'), []), values.get((key, 'after'), [])
    if not b or not a:
        continue
    mb, ma = statistics.median(b), statistics.median(a)
    ratio = ma / mb if mb else float('nan')
    print(f"{key[0]:<11} {key[1]:<24} {mb:>12.1f} {ma:>12.1f} {ratio:>12.2f}  {len(b)}/{len(a)} ({key[2]})")
EOF
rm -f "$out"
