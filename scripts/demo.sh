#!/usr/bin/env bash
# Installs what is missing, builds, starts a throwaway PostgreSQL (unless
# SEESAW_DATABASE_URL is set), and runs the demo: two worker processes and
# one producer of 10,000 jobs, a live progress line, then a summary with the
# exactly-once check.
#   scripts/demo.sh [JOBS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

jobs=${1:-10000}
build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build}
seesaw_install_deps
seesaw_build "$build_dir" RelWithDebInfo -DSEESAW_BUILD_EXAMPLES=ON ${SEESAW_CMAKE_ARGS:-}
seesaw_start_postgres "$build_dir/pg" durable
demo=$build_dir/examples/seesaw-demo

"$demo" reset
log "starting two workers"
worker_pids=()
stop_workers() {
  [ ${#worker_pids[@]} -gt 0 ] || return 0
  kill -TERM "${worker_pids[@]}" 2>/dev/null || true
  wait "${worker_pids[@]}" 2>/dev/null || true
  worker_pids=()
}
trap 'stop_workers; seesaw_stop_postgres' EXIT
"$demo" worker --workers 8 & worker_pids+=($!)
"$demo" worker --workers 8 & worker_pids+=($!)

log "enqueueing $jobs jobs"
"$demo" enqueue "$jobs" --wait
log "stopping the workers (SIGTERM: graceful)"
stop_workers
"$demo" summary
