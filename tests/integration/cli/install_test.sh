#!/usr/bin/env bash
# Installs the build into a temporary prefix, checks what landed there, and
# builds tests/consumer against it twice (find_package, then pkg-config
# alone), running each build against the test database.
#   install_test.sh <build dir> <source dir>
# Needs SEESAW_TEST_DATABASE_URL (scripts/test.sh sets it).
set -euo pipefail

build_dir=${1:?usage: install_test.sh <build dir> <source dir>}
source_dir=${2:?usage: install_test.sh <build dir> <source dir>}
url=${SEESAW_TEST_DATABASE_URL:-${SEESAW_DATABASE_URL:-}}
[ -n "$url" ] || { echo "FAIL: set SEESAW_TEST_DATABASE_URL" >&2; exit 1; }

work=$(mktemp -d /tmp/seesaw-install-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

step "cmake --install into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "install"; }

step "installed files"
libdir=$(cd "$prefix" && dirname "$(find . -name libseesaw_core.a | head -n 1)")
[ "$libdir" != "." ] && [ -n "$libdir" ] || fail "no libseesaw_core.a under $prefix"
for f in include/seesaw/seesaw.hpp include/seesaw/core/job.hpp include/seesaw/store/pg_job_store.hpp \
         include/seesaw/migrations/migrate.hpp include/seesaw/dispatch/dispatcher.hpp \
         "$libdir"/libseesaw_core.a "$libdir"/libseesaw_store.a "$libdir"/libseesaw_migrations.a \
         "$libdir"/libseesaw_dispatch.a "$libdir"/cmake/seesaw/seesawConfig.cmake \
         "$libdir"/cmake/seesaw/seesawConfigVersion.cmake "$libdir"/cmake/seesaw/seesawTargets.cmake \
         "$libdir"/pkgconfig/seesaw.pc bin/seesaw share/seesaw/migrations/0001_seed_schema.sql; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
# Every migration the source tree holds is installed.
for sql in "$source_dir"/migrations/*.sql; do
  cmp -s "$sql" "$prefix/share/seesaw/migrations/$(basename "$sql")" || fail "migration $(basename "$sql") not installed"
done

step "public headers do not include libpq, libuv or concurrentqueue"
if grep -rnE '#[[:space:]]*include[[:space:]]*[<"](libpq-fe\.h|uv\.h|uv/|concurrentqueue|blockingconcurrentqueue)' \
     "$prefix/include"; then
  fail "a public header includes a private dependency (above)"
fi

step "pkg-config file points at the install prefix"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
[ "$(pkg-config --variable=prefix seesaw)" = "$prefix" ] || fail "seesaw.pc prefix is $(pkg-config --variable=prefix seesaw)"

step "the installed CLI runs"
"$prefix/bin/seesaw" --version | grep -q '^seesaw ' || fail "seesaw --version"
"$prefix/bin/seesaw" migrate --help >/dev/null || fail "seesaw migrate --help"

run_consumer() {
  local binary=$1 schema
  schema="t_consumer_$(basename "$binary")_$$_$RANDOM"
  "$binary" "$url" "$schema" || fail "$binary against the test database"
}

step "consumer with find_package(seesaw CONFIG REQUIRED)"
cmake -S "$source_dir/tests/consumer" -B "$work/consumer-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; fail "configure consumer"; }
cmake --build "$work/consumer-cmake" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build consumer"; }
run_consumer "$work/consumer-cmake/consumer"

step "consumer with pkg-config only"
mkdir -p "$work/consumer-pc"
# shellcheck disable=SC2046
c++ -std=c++20 -Wall -Wextra -Wpedantic -Werror -o "$work/consumer-pc/consumer" "$source_dir/tests/consumer/main.cpp" \
  $(pkg-config --cflags --libs seesaw) || fail "build consumer with pkg-config"
run_consumer "$work/consumer-pc/consumer"

echo "PASS"
