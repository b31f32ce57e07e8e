#!/usr/bin/env bash
# Runs a test binary (a GoogleTest suite) through PgBouncer in transaction
# mode: its stores and dispatchers connect to SEESAW_TEST_PGBOUNCER_URL
# (scripts/test.sh starts that PgBouncer in front of the test server) without
# prepared statements; the tests' own SQL and LISTEN go to the server itself.
#   run.sh listen    BINARY   dispatchers LISTEN on a direct connection
#   run.sh poll-only BINARY   dispatchers poll only
# Exits 77 (ctest: skipped) when no PgBouncer is configured.
set -euo pipefail
mode=$1 binary=$2
shift 2
if [ -z "${SEESAW_TEST_PGBOUNCER_URL:-}" ]; then
  echo "SEESAW_TEST_PGBOUNCER_URL is not set (scripts/test.sh starts a PgBouncer and sets it): skipped"
  exit 77
fi
direct=${SEESAW_TEST_DATABASE_URL:-${SEESAW_DATABASE_URL:-}}
[ -n "$direct" ] || { echo "set SEESAW_TEST_DATABASE_URL (the server's own URL)" >&2; exit 1; }
export SEESAW_TEST_DIRECT_DATABASE_URL=$direct
export SEESAW_TEST_DATABASE_URL=$SEESAW_TEST_PGBOUNCER_URL
export SEESAW_TEST_POOLER=1
case $mode in
  listen) export SEESAW_TEST_LISTEN_DATABASE_URL=$direct ;;
  poll-only) export SEESAW_TEST_POLL_ONLY=1 ;;
  *) echo "unknown mode '$mode' (listen or poll-only)" >&2; exit 2 ;;
esac
exec "$binary" --gtest_brief=1 "$@"
