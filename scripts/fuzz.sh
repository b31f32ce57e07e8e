#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang and runs each for a
# while on a copy of its seed corpus (the committed corpus does not grow).
#   scripts/fuzz.sh          60 s per target
#   scripts/fuzz.sh 600      ten minutes per target
# Fails when a target finds a crash, a sanitizer report or a broken property,
# and prints the input that reproduces it: run the target on that file
# (build-fuzz/tests/fuzz/<target>_fuzz <file>) to see it again. Run by
# scripts/test.sh (15 s per target) unless SEESAW_SKIP_FUZZ=1.
# SEESAW_FUZZ_BUILD_DIR chooses the build directory (default build-fuzz).
# SEESAW_FUZZ_SEED fixes libFuzzer's seed (scripts/test.sh sets 1, so CI
# explores the same inputs every run); unset, each run draws its own.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

seconds=${1:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/fuzz.sh [seconds per target, 1 or more]"
build_dir=${SEESAW_FUZZ_BUILD_DIR:-$SEESAW_ROOT/build-fuzz}
fuzz_dir=$SEESAW_ROOT/tests/fuzz

# clang and its libFuzzer runtime (libclang-rt-dev: libclang_rt.fuzzer for
# Debian's default clang) are needed here only.
SEESAW_PACKAGES+=(clang libclang-rt-dev)
seesaw_install_deps
probe=$(mktemp -d)
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe/probe.cpp"
clang++ -fsanitize=fuzzer "$probe/probe.cpp" -o "$probe/probe" 2>"$probe/err" \
  || { cat "$probe/err" >&2; die "clang++ cannot link libFuzzer (-fsanitize=fuzzer): install libclang-rt-dev"; }
rm -rf "$probe"

log "building the fuzz targets in $build_dir"
# Assertions stay on (no NDEBUG): RapidJSON's are properties too.
CC=clang CXX=clang++ cmake -S "$SEESAW_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DSEESAW_FUZZ=ON -DSEESAW_BUILD_TESTS=OFF -DSEESAW_BUILD_CLI=OFF \
  -DSEESAW_BUILD_BENCH=OFF -DSEESAW_BUILD_EXAMPLES=OFF -DSEESAW_INSTALL=OFF >/dev/null
cmake --build "$build_dir" -j "${SEESAW_JOBS:-2}" --target seesaw_fuzz_targets

# target, longest input, dictionary
targets=(
  "job_id 64 -"
  "cli_parse 64 -"
  "payload_reader 4096 json.dict"
  "enqueue_validation 4096 json.dict"
  "pretty_json 8192 json.dict"
)
failed=()
for entry in "${targets[@]}"; do
  read -r name max_len dict <<<"$entry"
  work=$build_dir/fuzz-runs/$name
  rm -rf "$work"
  mkdir -p "$work/artifacts"
  cp -r "$fuzz_dir/corpus/$name" "$work/corpus"
  args=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -print_final_stats=1
    -artifact_prefix="$work/artifacts/")
  [ "$dict" = - ] || args+=(-dict="$fuzz_dir/$dict")
  [ -z "${SEESAW_FUZZ_SEED:-}" ] || args+=(-seed="$SEESAW_FUZZ_SEED")
  log "fuzzing $name for ${seconds}s"
  if "$build_dir/tests/fuzz/${name}_fuzz" "${args[@]}" "$work/corpus" >"$work/log" 2>&1; then
    grep -E "^#[0-9]+[[:space:]]+DONE" "$work/log" | tail -n 1 || true
    grep -E '^stat::number_of_executed_units' "$work/log" || true
  else
    tail -n 40 "$work/log" >&2
    artifacts=("$work"/artifacts/*)
    if [ -e "${artifacts[0]}" ]; then
      for input in "${artifacts[@]}"; do failed+=("$name: $input"); done
    else
      failed+=("$name: no reproducer written, see $work/log")
    fi
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'error: a fuzz target failed; reproduce with %s/tests/fuzz/<target>_fuzz <input>:\n' "$build_dir" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
log "no target found a failure (logs and grown corpora in $build_dir/fuzz-runs)"
