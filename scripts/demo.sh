#!/usr/bin/env bash
# Installs what is missing, builds, starts a throwaway PostgreSQL (unless
# SEESAW_DATABASE_URL is set), and runs the demo: two worker processes and
# one producer of 10,000 jobs, a live progress line, then a summary with the
# exactly-once check. While it runs, the dashboard (seesaw web) serves the
# demo's schema on a free loopback port and the script prints its URL.
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
web_pid=""
stop_web() {
  [ -n "$web_pid" ] || return 0
  kill -TERM "$web_pid" 2>/dev/null || true
  wait "$web_pid" 2>/dev/null || true
  web_pid=""
}
trap 'stop_workers; stop_web; seesaw_stop_postgres' EXIT

# The dashboard, if the CLI was built (SEESAW_BUILD_CLI, on by default).
if [ -x "$build_dir/cli/seesaw" ]; then
  web_port=${SEESAW_WEB_PORT:-8080}
  while ! seesaw_port_free "$web_port"; do web_port=$((web_port + 1)); done
  "$build_dir/cli/seesaw" web --schema seesaw_demo --listen "127.0.0.1:$web_port" >/dev/null &
  web_pid=$!
  log "dashboard: http://127.0.0.1:$web_port/ (seesaw web, until the demo ends)"
fi
"$demo" worker --workers 8 & worker_pids+=($!)
"$demo" worker --workers 8 & worker_pids+=($!)

log "enqueueing $jobs jobs"
"$demo" enqueue "$jobs" --wait
log "stopping the workers (SIGTERM: graceful)"
stop_workers
"$demo" summary
[ -z "$web_pid" ] || log "dashboard: http://127.0.0.1:$web_port/ (stops now; run it yourself: $build_dir/cli/seesaw web --schema seesaw_demo)"
