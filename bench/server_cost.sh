#!/usr/bin/env bash
# Where the server's work per job goes, and what delete-at-completion saves:
# builds Release, starts a durable PostgreSQL of its own (pg_stat_statements
# preloaded; the server's CPU is read from /proc, so it must run on this
# machine) and runs, interleaved in rounds:
#   floor       the claim-and-complete floor on seesaw's jobs table: batched
#               SKIP LOCKED claims and fenced success updates (500 rows), as
#               seesaw writes them, without the stats() trigger, and with
#               the success a DELETE
#   throughput  100,000 no-op jobs drained by 8 workers, keeping succeeded
#               jobs (the default) and with PgJobStoreOptions::delete_succeeded
#   processes   40,000 jobs drained by one dispatcher process, both ways:
#               pg_stat_statements' time per job and statement
#   steady      8 producers of single-job transactions while the dispatcher
#               runs them, next to the floor's inserts of the same rows (a
#               bare row; the jobs table's columns and indexes; with its
#               CHECK constraints; with its insert trigger)
# Writes bench/results/<date>-server-cost.jsonl and prints the medians.
#   bench/server_cost.sh            5 rounds
#   RUNS=3 bench/server_cost.sh     3 rounds
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

runs=${RUNS:-5}
build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build-release}
seesaw_install_deps
seesaw_build_bench "$build_dir"
unset SEESAW_DATABASE_URL  # a server of its own on this machine
seesaw_start_postgres "$build_dir/pg" durable

bench=$build_dir/bench/seesaw-bench
results_dir=$SEESAW_ROOT/bench/results
mkdir -p "$results_dir"
out=$results_dir/$(date +%F)-server-cost.jsonl
: >"$out"
started=$(date +%s)
for round in $(seq 1 "$runs"); do
  log "round $round of $runs: the floors (claim and complete on the jobs table, 100,000 jobs, 500 a claim)"
  "$bench" --mode floor --jobs 200 >>"$out"
  log "round $round of $runs: 100,000 jobs drained, succeeded jobs kept"
  "$bench" --mode throughput --variants false >>"$out"
  log "round $round of $runs: the same with delete_succeeded"
  "$bench" --mode throughput --variants false --delete-succeeded --label delete-succeeded >>"$out"
  log "round $round of $runs: 40,000 jobs by one dispatcher process, both ways (pg_stat_statements)"
  "$bench" --mode processes --process-counts 1 >>"$out"
  "$bench" --mode processes --process-counts 1 --delete-succeeded --label delete-succeeded >>"$out"
  log "round $round of $runs: steady, 8 producers of single-job transactions"
  "$bench" --mode steady >>"$out"
done
log "results in $out ($(( $(date +%s) - started )) s)"
"$build_dir/bench/seesaw-bench-report" "$out"
