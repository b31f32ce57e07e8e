#!/usr/bin/env bash
# Installs what is missing, builds, starts a throwaway PostgreSQL (unless
# SEESAW_DATABASE_URL is set) and runs the whole test suite with ctest.
#   scripts/test.sh            the suite, warnings as errors
#   scripts/test.sh --tsan     the suite under ThreadSanitizer
#   scripts/test.sh --asan     the suite under AddressSanitizer + UBSan
# Extra arguments after -- go to ctest (e.g. -- -L unit).
# Then scripts/fuzz.sh runs each fuzz target for 15 s (a clang build of its
# own), unless SEESAW_SKIP_FUZZ=1.
# SEESAW_BUILD_DIR chooses the build directory (the server's data goes in it too).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build}
flags=(-DSEESAW_WERROR=ON -DSEESAW_BUILD_TESTS=ON -DSEESAW_BUILD_EXAMPLES=ON -DSEESAW_BUILD_BENCH=ON -DSEESAW_BUILD_CLI=ON)
case "${1:-}" in
  --tsan) build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build-tsan}; flags+=(-DSEESAW_TSAN=ON); shift ;;
  --asan) build_dir=${SEESAW_BUILD_DIR:-$SEESAW_ROOT/build-asan}; flags+=(-DSEESAW_ASAN=ON); shift ;;
esac
[ "${1:-}" = "--" ] && shift

seesaw_install_deps "${SEESAW_TEST_PACKAGES[@]}"
seesaw_build "$build_dir" RelWithDebInfo "${flags[@]}"
seesaw_start_postgres "$build_dir/pg" fast
# The store and dispatcher suites run again through it (ctest label pgbouncer).
seesaw_start_pgbouncer "$build_dir/pgbouncer" "$SEESAW_DATABASE_URL"
log "running the tests"
cd "$build_dir"
export SEESAW_TEST_DATABASE_URL=$SEESAW_DATABASE_URL
export SEESAW_TEST_PGBOUNCER_URL=$SEESAW_PGBOUNCER_URL
ctest --output-on-failure -j "${SEESAW_JOBS:-2}" "$@"
if [ "${SEESAW_SKIP_FUZZ:-0}" != 1 ]; then
  SEESAW_FUZZ_SEED=${SEESAW_FUZZ_SEED:-1} "$SEESAW_ROOT/scripts/fuzz.sh" 15
fi
