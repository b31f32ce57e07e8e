#!/usr/bin/env bash
# seesaw behind PgBouncer (Debian's, transaction pooling) next to seesaw
# direct: builds Release, starts a durable PostgreSQL (pg_stat_statements
# preloaded) and a PgBouncer in front of it, and runs, interleaved in rounds
# so that the machine's drift hits every set-up alike:
#   latency    direct
#   latency    through PgBouncer, transaction_pooling, LISTEN on a direct connection
#   latency    through PgBouncer, transaction_pooling, polling every 100 ms (no LISTEN)
#   processes  one backlog of 40,000 no-op jobs drained by 1, 2 and 4 dispatcher
#              processes, direct and through PgBouncer (LISTEN direct)
# Writes bench/results/<date>-pgbouncer.jsonl and prints the medians by set-up.
#   bench/pgbouncer.sh                 5 rounds
#   RUNS=3 bench/pgbouncer.sh          3 rounds
#   POLL_1000=1 bench/pgbouncer.sh     also polling every 1000 ms (a few hundred jobs: each waits ~0.5 s)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

runs=${RUNS:-5}
latency_jobs=${LATENCY_JOBS:-1000}
poll_jobs=${POLL_JOBS:-300}
process_jobs=${PROCESS_JOBS:-40000}
build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build-release}
seesaw_install_deps pgbouncer
seesaw_build_bench "$build_dir"
unset SEESAW_DATABASE_URL  # a server of its own, durable, with pg_stat_statements
seesaw_start_postgres "$build_dir/pg" durable
direct=$SEESAW_DATABASE_URL
seesaw_start_pgbouncer "$build_dir/pgbouncer" "$direct"
pooled=$SEESAW_PGBOUNCER_URL

bench=$build_dir/bench/seesaw-bench
results_dir=$SEESAW_ROOT/bench/results
mkdir -p "$results_dir"
out=$results_dir/$(date +%F)-pgbouncer.jsonl
: >"$out"
started=$(date +%s)
through=(--database-url "$pooled" --transaction-pooling)

for round in $(seq 1 "$runs"); do
  log "round $round of $runs: latency (one job at a time at 200/s), direct"
  "$bench" --mode latency --jobs "$latency_jobs" --database-url "$direct" --label direct >>"$out"
  log "round $round of $runs: latency through PgBouncer, LISTEN on a direct connection"
  "$bench" --mode latency --jobs "$latency_jobs" "${through[@]}" --listen-database-url "$direct" \
    --label pgbouncer-listen-direct >>"$out"
  log "round $round of $runs: latency through PgBouncer, polling every 100 ms"
  "$bench" --mode latency --jobs "$poll_jobs" "${through[@]}" --direct-database-url "$direct" --poll-only \
    --poll-interval 100 --label pgbouncer-poll-100ms >>"$out"
  if [ "${POLL_1000:-0}" = 1 ]; then
    log "round $round of $runs: latency through PgBouncer, polling every 1000 ms"
    "$bench" --mode latency --jobs 100 "${through[@]}" --direct-database-url "$direct" --poll-only \
      --poll-interval 1000 --label pgbouncer-poll-1000ms >>"$out"
  fi
  log "round $round of $runs: $process_jobs jobs drained by 1, 2, 4 dispatcher processes, direct"
  "$bench" --mode processes --jobs "$process_jobs" --database-url "$direct" --label direct >>"$out"
  log "round $round of $runs: the same through PgBouncer (LISTEN direct)"
  "$bench" --mode processes --jobs "$process_jobs" "${through[@]}" --listen-database-url "$direct" \
    --label pgbouncer-listen-direct >>"$out"
done

log "results in $out ($(( $(date +%s) - started )) s)"
"$build_dir/bench/seesaw-bench-report" "$out" | sed -n '/by set-up/,$p'
