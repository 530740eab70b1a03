#!/usr/bin/env bash
# check_test_count.sh BUILD_DIR TESTS_DIR: fails unless ctest registers exactly one test per
# TEST_CASE in the unit and integration sources (Catch2 v2's discovery splits names at ';', and a
# filter that matches nothing passes), and unless every test name keeps to letters, digits, spaces
# and -_:,.() (a quote, backtick, slash, $ or + makes a name hard to pass to ctest -R or Catch),
# the names match one for one, and no tag hides a test or keeps it from failing.
set -euo pipefail
build=$1
tests=$2
for label in unit integration; do
  declared=$(cat "$tests/$label"/*.cpp | grep -cE '^\s*TEST_CASE\(')
  registered=$(cd "$build" && ctest -N -L "^$label\$" | grep -cE '^\s*Test +#')
  if [ "$declared" != "$registered" ]; then
    echo "check_test_count: $label: $declared TEST_CASEs in $tests/$label, but ctest runs $registered tests" >&2
    exit 1
  fi
  # The same names, too: a name split in two at ';' could cancel out a test gone missing.
  listed=$("$build/bin/${label}_tests" --list-test-names-only 2>/dev/null | sed '/^$/d' | LC_ALL=C sort || true)
  run=$(cd "$build" && ctest -N -L "^$label\$" | sed -n "s/^ *Test *#[0-9]*: $label: \{0,1\}//p" | LC_ALL=C sort)
  if [ "$listed" != "$run" ]; then
    echo "check_test_count: $label: the test cases and the tests ctest runs differ (< binary, > ctest):" >&2
    diff <(printf '%s\n' "$listed") <(printf '%s\n' "$run") >&2 || true
    exit 1
  fi
  echo "$label: $declared test cases, $registered ctest tests, the same names"
done
# Tags that make a test not run ([.], [.name], [!hide]) or never fail ([!mayfail], [!shouldfail]).
hiding=$(grep -nE '"(\[[^]"]*\])*\[(\.|\.[A-Za-z0-9_-]+|!hide|!mayfail|!shouldfail)\]' "$tests"/unit/*.cpp \
  "$tests"/integration/*.cpp || true)
if [ -n "$hiding" ]; then
  printf 'check_test_count: a tag that hides a test or keeps it from failing:\n%s\n' "$hiding" >&2
  exit 1
fi
bad=$(cd "$build" && ctest -N | sed -n 's/^ *Test *#[0-9]*: //p' | LC_ALL=C grep -E '[^A-Za-z0-9 _:,.()-]' || true)
if [ -n "$bad" ]; then
  printf 'check_test_count: names with characters other than letters, digits, spaces and -_:,.():\n%s\n' "$bad" >&2
  exit 1
fi
