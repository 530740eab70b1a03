#!/usr/bin/env bash
# runtime_packages.sh can fail: given the list less a package the binary needs (one it links
# directly, one that comes with libpq), or with a package it does not need, it exits 1 naming it.
#   runtime_packages_can_fail.sh CHECK BINARY LIST
set -euo pipefail
check=${1:?usage: runtime_packages_can_fail.sh CHECK BINARY LIST}
binary=${2:?usage: runtime_packages_can_fail.sh CHECK BINARY LIST}
list=${3:?usage: runtime_packages_can_fail.sh CHECK BINARY LIST}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# expect_failure DESCRIPTION WORDS LIST: the check of LIST exits 1 and prints WORDS.
expect_failure() {
  local status=0
  "$check" "$binary" "$3" >"$work/out" 2>&1 || status=$?
  if [ $status -ne 1 ] || ! grep -qF "$2" "$work/out"; then
    echo "FAILED: $1: the check exited $status, expected 1 with \"$2\"; it printed:" >&2; cat "$work/out" >&2; exit 1
  fi
  echo "ok: $1: $(head -n1 "$work/out")"
}

for package in libpq5 libffi8; do
  grep -qx "$package" "$list" || { echo "FAILED: $package is not a line of $list" >&2; exit 1; }
  grep -vx "$package" "$list" >"$work/list"
  expect_failure "without $package" "$package is missing from $work/list" "$work/list"
done
{ cat "$list"; echo zlib1g; } >"$work/list"
expect_failure "with zlib1g" "zlib1g is in $work/list but" "$work/list"
