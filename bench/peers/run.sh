#!/usr/bin/env bash
# seesaw next to graphile-worker (as it comes, and with its batching on) and
# pg-boss on the same throwaway, durable
# PostgreSQL (fsync and synchronous_commit on): the same latency and
# throughput measurements, interleaved, RUNS rounds (default 3). Writes
# bench/results/<date>-peers.jsonl and prints the medians side by side.
# Needs Node.js and the npm registry (to install the pinned peers); CI does
# not run it.
#   bench/peers/run.sh
#   RUNS=1 bench/peers/run.sh
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

runs=${RUNS:-3}
latency_jobs=${LATENCY_JOBS:-1000}
throughput_jobs=${THROUGHPUT_JOBS:-20000}
build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build-release}
peers=$SEESAW_ROOT/bench/peers
command -v node >/dev/null && command -v npm >/dev/null || die "bench/peers/run.sh needs node and npm"

seesaw_install_deps
seesaw_build "$build_dir" Release -DSEESAW_BUILD_BENCH=ON -DSEESAW_BUILD_TESTS=OFF -DSEESAW_BUILD_EXAMPLES=OFF \
  -DSEESAW_BUILD_CLI=OFF
log "installing the peers (package-lock.json)"
(cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
seesaw_start_postgres "$build_dir/pg" durable

bench=$build_dir/bench/seesaw-bench
out=$SEESAW_ROOT/bench/results/$(date +%F)-peers.jsonl
mkdir -p "$(dirname "$out")"
: >"$out"
started=$(date +%s)
for run in $(seq 1 "$runs"); do
  log "round $run of $runs: latency (an idle worker, one job at a time at 200/s)"
  "$bench" --mode latency --jobs "$latency_jobs" >>"$out"
  node "$peers/peers.mjs" --system graphile-worker --mode latency --jobs "$latency_jobs" >>"$out"
  node "$peers/peers.mjs" --system graphile-worker-batched --mode latency --jobs "$latency_jobs" >>"$out"
  # pg-boss polls every 0.5 s at best: fewer jobs, the same distribution.
  node "$peers/peers.mjs" --system pg-boss --mode latency --jobs 100 >>"$out"
  log "round $run of $runs: throughput ($throughput_jobs no-op jobs in bulk, then 8 workers drain them)"
  "$bench" --mode throughput --jobs "$throughput_jobs" >>"$out"
  node "$peers/peers.mjs" --system graphile-worker --mode throughput --jobs "$throughput_jobs" >>"$out"
  node "$peers/peers.mjs" --system graphile-worker-batched --mode throughput --jobs "$throughput_jobs" >>"$out"
  node "$peers/peers.mjs" --system pg-boss --mode throughput --jobs "$throughput_jobs" >>"$out"
done
log "results in $out ($(( $(date +%s) - started )) s); medians (runs):"
node "$peers/peers.mjs" --report "$out"
