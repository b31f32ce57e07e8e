#!/usr/bin/env bash
# seesaw next to graphile-worker and pg-boss on the same throwaway, durable
# PostgreSQL (fsync and synchronous_commit on): the same latency and
# throughput measurements, interleaved, RUNS rounds (default 3). Each peer
# runs as it comes (its defaults, 8 workers) and at the settings its own
# documentation gives for throughput (-tuned) and latency (-latency), see
# SETTINGS.md; seesaw drains with 8 workers (its default) and with 24
# (graphile-worker-tuned's concurrency per process). Writes
# bench/results/<date>-peers.jsonl and prints the medians with their settings,
# and seesaw against the best peer configuration.
# Needs Node.js and the npm registry (to install the pinned peers); CI does
# not run it. About 3 minutes a round on 2 cores (RUNS=3: 10 minutes and the build).
#   bench/peers/run.sh
#   RUNS=1 bench/peers/run.sh
#   GRAPHILE_PROCESSES="1 2 4" PGBOSS_PROCESSES="1 2" bench/peers/run.sh   # the tuned peers in more processes
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

runs=${RUNS:-3}
latency_jobs=${LATENCY_JOBS:-1000}
throughput_jobs=${THROUGHPUT_JOBS:-50000}
# pg-boss as it comes fetches one job per worker every 2 s: fewer jobs, or a
# round would take hours (throughput) or many minutes (latency).
pgboss_default_throughput_jobs=${PGBOSS_DEFAULT_THROUGHPUT_JOBS:-80}
pgboss_default_latency_jobs=${PGBOSS_DEFAULT_LATENCY_JOBS:-50}
graphile_processes=${GRAPHILE_PROCESSES:-2}
pgboss_processes=${PGBOSS_PROCESSES:-1}
build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build-release}
peers=$SEESAW_ROOT/bench/peers
command -v node >/dev/null && command -v npm >/dev/null || die "bench/peers/run.sh needs node and npm"

seesaw_install_deps
seesaw_build_bench "$build_dir"
log "installing the peers (package-lock.json)"
(cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
seesaw_start_postgres "$build_dir/pg" durable

bench=$build_dir/bench/seesaw-bench
out=$SEESAW_ROOT/bench/results/$(date +%F)-peers.jsonl
mkdir -p "$(dirname "$out")"
: >"$out"
peer() { node "$peers/peers.mjs" "$@" >>"$out"; }
started=$(date +%s)
for run in $(seq 1 "$runs"); do
  log "round $run of $runs: latency (an idle worker, one job at a time at 200/s)"
  "$bench" --mode latency --jobs "$latency_jobs" >>"$out"
  for system in graphile-worker graphile-worker-tuned graphile-worker-latency pg-boss-latency; do
    peer --system "$system" --mode latency --jobs "$latency_jobs"
  done
  peer --system pg-boss --mode latency --jobs "$pgboss_default_latency_jobs" --warmup 10
  log "round $run of $runs: seesaw's claim-and-complete floor (what every job costs PostgreSQL on its table)"
  "$bench" --mode floor --jobs 100 --floor-jobs "$throughput_jobs" >>"$out"
  log "round $run of $runs: throughput ($throughput_jobs no-op jobs in bulk, then the workers drain them)"
  "$bench" --mode throughput --jobs "$throughput_jobs" --variants false >>"$out"
  "$bench" --mode throughput --jobs "$throughput_jobs" --variants false --workers 24 >>"$out"
  # Deleting each job's row at its success, as graphile-worker does.
  "$bench" --mode throughput --jobs "$throughput_jobs" --variants false --delete-succeeded >>"$out"
  peer --system graphile-worker --mode throughput --jobs "$throughput_jobs"
  peer --system graphile-worker-latency --mode throughput --jobs "$throughput_jobs"
  for processes in $graphile_processes; do
    peer --system graphile-worker-tuned --mode throughput --jobs "$throughput_jobs" --processes "$processes"
  done
  for processes in $pgboss_processes; do
    peer --system pg-boss-tuned --mode throughput --jobs "$throughput_jobs" --processes "$processes"
  done
  peer --system pg-boss --mode throughput --jobs "$pgboss_default_throughput_jobs"
done
log "results in $out ($(( $(date +%s) - started )) s)"
node "$peers/peers.mjs" --report "$out"
