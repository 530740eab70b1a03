#!/usr/bin/env bash
# reset_fleet.sh DIR: every tenant database of the fleet in DIR back to empty (its public schema
# dropped and made again), over the cluster's local socket, so the next run is a fresh apply.
set -euo pipefail
dir=${1:?usage: reset_fleet.sh DIR}
source "$dir/fleet.env"
script="$dir/reset.sql"
: >"$script"
while IFS=$'\t' read -r _ _ db user _; do
  printf '\\c %s\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public AUTHORIZATION %s;\n' "$db" "$user" >>"$script"
done <"$dir/tenants.tsv"
PGHOST="$dir/pg" psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$script" >/dev/null 2>&1
rm -f "$script"
