#!/usr/bin/env bash
# Builds migrate and its tests with sanitizers into a folder of their own, starts a throwaway
# PostgreSQL and runs tests under them with ctest. A sanitizer report, in a test or in a migrate
# child a test started, fails the run. Exits non-zero on any failure.
#   scripts/sanitize.sh asan [ctest args]   ASan + UBSan (build-asan/): the unit and integration tests
#   scripts/sanitize.sh tsan [ctest args]   TSan (build-tsan/): the fleet, claims, signals and cancel tests
# ctest arguments, when given, choose the tests instead (e.g. scripts/sanitize.sh asan -R scrub).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=${1:-}
case "$mode" in
  asan) sanitize=address,undefined ;;
  tsan) sanitize=thread ;;
  *) echo "usage: scripts/sanitize.sh asan|tsan [ctest args]" >&2; exit 2 ;;
esac
shift
build=build-$mode

scripts/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIGRATE_WERROR=ON -DMIGRATE_SANITIZE="$sanitize" >/dev/null
# TSan runs integration tests only: no need to build the unit tests and benchmarks there.
targets=()
[ "$mode" = tsan ] && targets=(--target migrate integration_tests)
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
[ "$mode" = asan ] && (cd tests/knex && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
[ "$mode" = asan ] && (cd tools/import-knex && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

# A report ends the program at once with status 86, which no test expects of migrate (0, 1, 2, 130,
# 143); tests/support/process.cpp also fails a test whose migrate child printed a report.
export ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:exitcode=86:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1:exitcode=86:second_deadlock_stack=1:suppressions=$root/tests/sanitizers/tsan.supp"

selection=("$@")
if [ ${#selection[@]} -eq 0 ]; then
  if [ "$mode" = asan ]; then
    selection=(-L 'unit|integration')
  else
    # ctest labels only say unit or integration: the Catch tags choose the tests, by their names
    # (after the prefix "integration:", which ctest shows without its space). Catch v2 exits with
    # the number of tests it listed.
    names=$("$build/bin/integration_tests" --list-test-names-only '[fleet],[claims],[signals],[cancel]' || true)
    [ -n "$names" ] || { echo "sanitize: no fleet, claims, signals or cancel test found" >&2; exit 1; }
    regex=$(printf '%s\n' "$names" | sed -e '/^$/d' -e 's/[][().*+?^$|\\]/\\&/g' -e 's/^/^integration: ?/' -e 's/$/$/' |
      paste -sd'|')
    selection=(-R "$regex")
  fi
fi

cd "$build"
"$root/scripts/lib/with-cluster.sh" ctest --output-on-failure --no-tests=error -j"$(nproc)" "${selection[@]}"
