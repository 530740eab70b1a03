#!/usr/bin/env bash
# psql_floor.sh DIR PARALLELISM: the fresh-apply floor. All 25 up sections as one file, applied to
# every tenant by psql in a single transaction (-1), PARALLELISM tenants at a time.
set -euo pipefail
dir=${1:?usage: psql_floor.sh DIR PARALLELISM}
parallelism=${2:?usage: psql_floor.sh DIR PARALLELISM}
here=$(cd "$(dirname "$0")" && pwd)
all="$dir/all_up.sql"
for file in "$here"/migrations/*.sql; do
  sed -n '/^-- migrate:up/,/^-- migrate:down/p' "$file" | sed '1d;$d'
done >"$all"

# PARALLELISM workers, each taking every PARALLELISM-th tenant; the password goes to psql through
# its environment, never its argument list.
for worker in $(seq 0 $((parallelism - 1))); do
  awk -v p="$parallelism" -v w="$worker" 'NR % p == w' "$dir/tenants.tsv" |
    while IFS=$'\t' read -r host port db user password; do
      PGPASSWORD="$password" psql -X -q -1 -v ON_ERROR_STOP=1 -h "$host" -p "$port" -d "$db" -U "$user" -f "$all" >/dev/null
    done &
done
wait
