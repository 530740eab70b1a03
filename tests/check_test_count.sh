#!/usr/bin/env bash
# check_test_count.sh BUILD_DIR TESTS_DIR: fails unless ctest registers exactly one test per
# TEST_CASE in the unit and integration sources (Catch2 v2's discovery splits names at ';', and a
# filter that matches nothing passes), and unless every test name keeps to letters, digits, spaces
# and -_:,.() (a quote, backtick, slash, $ or + makes a name hard to pass to ctest -R or Catch).
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
  echo "$label: $declared test cases, $registered ctest tests"
done
bad=$(cd "$build" && ctest -N | sed -n 's/^ *Test *#[0-9]*: //p' | LC_ALL=C grep -E '[^A-Za-z0-9 _:,.()-]' || true)
if [ -n "$bad" ]; then
  printf 'check_test_count: names with characters other than letters, digits, spaces and -_:,.():\n%s\n' "$bad" >&2
  exit 1
fi
