#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang-14, ASan + UBSan) into build-fuzz/ and runs each
# for SECONDS (default 300) from a fresh copy of its seed corpus (tests/fuzz/corpus/<target>).
# Exits non-zero when any target finds a crash, a hang or a leak, printing the input that
# reproduces it (kept in build-fuzz/artifacts/<target>/) and the command to replay it.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-300}
targets=(migration_file statement_split knexfile decrypt scrub)

scripts/install-deps.sh fuzz
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIGRATE_FUZZ=ON \
  -DMIGRATE_SANITIZE=address,undefined >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
failed=()
for target in "${targets[@]}"; do
  corpus=$root/build-fuzz/corpus/$target
  artifacts=$root/build-fuzz/artifacts/$target
  rm -rf "$corpus" && mkdir -p "$corpus" "$artifacts"
  cp "tests/fuzz/corpus/$target/"* "$corpus/"
  log=$root/build-fuzz/$target.log
  dict=()
  case "$target" in
    knexfile) dict=(-dict=tests/fuzz/knexfile.dict) ;;
    migration_file | statement_split) dict=(-dict=tests/fuzz/sql.dict) ;;
  esac
  started=$SECONDS
  # -timeout: an input taking 10 s is a hang, reported like a crash.
  if build-fuzz/bin/fuzz_"$target" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $target: no crash in $((SECONDS - started)) s, ${runs:-?} inputs, corpus of $(ls "$corpus" | wc -l)"
  else
    failed+=("$target")
    echo "fuzz: $target FAILED after $((SECONDS - started)) s; the end of $log:"
    grep -v '^#[0-9]' "$log" | tail -40
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "fuzz: $target: reproducer ${reproducer:-(none written, see the log)}"
    [ -n "$reproducer" ] && echo "fuzz: replay with: build-fuzz/bin/fuzz_$target $reproducer"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s each without a crash"
