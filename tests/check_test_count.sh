#!/usr/bin/env bash
# check_test_count.sh BUILD_DIR TESTS_DIR: fails unless ctest registers exactly one test per
# TEST_CASE in the unit and integration sources (Catch2 v2's discovery splits names at ';', and a
# filter that matches nothing passes).
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
