#!/usr/bin/env bash
# The README's figures for the in-process fast path and for completion in
# the handler's transaction: the latency mode (each round: one job through
# the normal path, one through the fast path, each next to its floor) and the
# throughput mode's variants (in-process producers without and with the fast
# path; a handler writing one row on its own connection and in its
# transaction), on a throwaway durable PostgreSQL, into
# bench/results/<date>-fast-path.jsonl, then the medians.
#   bench/fast_path.sh            5 latency runs, 3 throughput runs (about 8 minutes)
#   RUNS=1 bench/fast_path.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

runs=${RUNS:-5}
build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build-release}
seesaw_install_deps
seesaw_build_bench "$build_dir"
seesaw_start_postgres "$build_dir/pg" durable

bench=$build_dir/bench/seesaw-bench
out=$SEESAW_ROOT/bench/results/$(date +%F)-fast-path.jsonl
mkdir -p "$(dirname "$out")"
: >"$out"
log "latency: normal path and fast path, 1,000 rounds at 200/s, $runs runs"
"$bench" --mode latency --jobs 1000 --runs "$runs" >>"$out"
log "throughput variants: 8 in-process producers x 2,500 jobs; 20,000 jobs writing one row ($(( (runs + 1) / 2 )) runs)"
"$bench" --mode throughput --jobs 20000 --runs $(( (runs + 1) / 2 )) >>"$out"
log "results in $out"
"$build_dir/bench/seesaw-bench-report" "$out"
