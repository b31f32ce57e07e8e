#!/usr/bin/env bash
# Reproduces the README's performance section: builds Release, starts the same
# throwaway PostgreSQL the tests use (but durable: fsync and
# synchronous_commit on), runs every seesaw-bench mode 5 times, writes
# bench/results/<date>.jsonl, prints the medians with their ratio to the
# floor, draws docs/bench.svg, and runs the micro-benchmarks into
# bench/results/<date>-micro.txt.
#   bench/run.sh            all of it (about 12 minutes on 2 cores)
#   RUNS=1 bench/run.sh     one run per mode
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

runs=${RUNS:-5}
build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build-release}
seesaw_install_deps
seesaw_build_bench "$build_dir"
seesaw_start_postgres "$build_dir/pg" durable

bench=$build_dir/bench/seesaw-bench
results_dir=$SEESAW_ROOT/bench/results
mkdir -p "$results_dir"
out=$results_dir/$(date +%F).jsonl
data=$build_dir/bench-data
mkdir -p "$data"
: >"$out"
started=$(date +%s)

log "floor: what PostgreSQL alone does on this machine"
"$bench" --mode floor --runs "$runs" >>"$out"
log "latency: an idle dispatcher, one job at a time at 200/s, the normal path and the in-process fast path (each paired with a floor sample)"
"$bench" --mode latency --runs "$runs" --cdf-dir "$data" >>"$out"
log "throughput: 100,000 no-op jobs enqueued in bulk, then drained by 8 workers; in-process producers with and without the fast path; completion in the handler's transaction"
"$bench" --mode throughput --runs "$runs" >>"$out"
log "steady: 8 producers, single-job transactions, against the same with a NOTIFY in every commit"
"$bench" --mode steady --runs "$runs" --cdf-dir "$data" >>"$out"
log "scale: the same with 1,000,000 other jobs in the table"
"$bench" --mode throughput --background-jobs 1000000 --runs 3 --variants false >>"$out"
"$bench" --mode latency --background-jobs 1000000 --jobs 1000 --runs 3 >>"$out"
log "stats(): 1,000,000 jobs in five states"
"$bench" --mode stats --runs 1 >>"$out"
log "prune: retention deletes 1,000,000 old succeeded jobs while 8 producers enqueue, against retention off"
"$bench" --mode prune --runs 3 >>"$out"
log "memory: a dispatcher draining 1,000 vs 1,000,000 pending jobs"
"$bench" --mode throughput --jobs 1000 --runs 1 --variants false >>"$out"
"$bench" --mode throughput --jobs 1000000 --runs 1 --variants false >>"$out"

log "micro-benchmarks: the per-job CPU work, no database (medians of 5)"
micro_out=$results_dir/$(date +%F)-micro.txt
"$build_dir/bench/seesaw-micro" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>&1 \
  | grep -vE '_(mean|stddev|cv) ' >"$micro_out"
grep -E '^BM_HotPath' "$micro_out" || true

log "results in $out and $micro_out ($(( $(date +%s) - started )) s)"
"$build_dir/bench/seesaw-bench-report" "$out" --plot-dir "$data"
if command -v gnuplot >/dev/null; then
  gnuplot -e "data='$data'; out='$SEESAW_ROOT/docs/bench.svg'" "$SEESAW_ROOT/bench/plot.gp"
  log "plot: docs/bench.svg"
fi
