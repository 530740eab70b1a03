#!/usr/bin/env bash
# run.sh [N...]: builds, makes a fleet of each size N (default 200 1000), and runs each side
# REPS times (default 3) side by side: migrate, the knex script, and the floors. Prints medians
# and ratios; raw figures go to bench/results/. Not a test: it has no pass or fail.
#   PARALLELISM  tenants in flight for migrate and the floors (default 8)
#   REPS         repetitions per measurement (default 3)
#   PHASES       "fresh noop" (default), or "noop" alone: migrate and the connect floor with nothing
#                pending (the fleet is migrated once, unmeasured, first)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
sizes=("${@:-200 1000}")
read -r -a sizes <<<"${sizes[*]}"
reps=${REPS:-3}
parallelism=${PARALLELISM:-8}
phases=${PHASES:-fresh noop}

"$root/scripts/install-deps.sh"
BUILD_TYPE=Release "$root/scripts/build.sh" >/dev/null
(cd "$here/knex" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
migrate="$root/build/bin/migrate"
floor="$root/build/bin/connect_floor"

mkdir -p "$here/results"
results="$here/results/$(date -u +%Y%m%dT%H%M%SZ).tsv"
printf 'n\tside\tphase\trep\tseconds\tmax_rss_kib\n' >"$results"

# The test cluster serves TLS; knex (node-pg without ssl) does not use it, so neither do migrate and
# the floors here: the comparison stays like for like.
export PGSSLMODE=disable

work=$(mktemp -d /tmp/migrate-bench.XXXXXX)
chmod 755 "$work"  # the cluster's server user must reach it
cleanup() { for d in "$work"/fleet-*; do [ -d "$d/pg" ] && "$root/scripts/pg-cluster.sh" stop "$d/pg"; done; rm -rf "$work"; }
trap cleanup EXIT

# measure N SIDE PHASE REP COMMAND...: runs COMMAND under GNU time and records wall time and peak RSS.
measure() {
  local n=$1 side=$2 phase=$3 rep=$4
  shift 4
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>&1 || { echo "bench: $side $phase failed:"; tail -5 "$work/out"; }
  read -r seconds rss < <(tail -n 1 "$work/time")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$side" "$phase" "$rep" "$seconds" "$rss" >>"$results"
  printf '  %-8s %-6s rep %s: %6.2f s, %6d KiB\n' "$side" "$phase" "$rep" "$seconds" "$rss"
}

for n in "${sizes[@]}"; do
  fleet="$work/fleet-$n"
  "$here/make_fleet.sh" "$n" "$fleet"
  source "$fleet/fleet.env"
  echo "N=$n, parallelism $parallelism, $reps repetitions"
  if [ "$phases" = noop ]; then
    "$migrate" --knexfile "$here/knexfile.yaml" --env bench all-tenants --concurrency "$parallelism" >/dev/null
    for rep in $(seq 1 "$reps"); do
      measure "$n" migrate noop "$rep" "$migrate" --knexfile "$here/knexfile.yaml" --env bench all-tenants --concurrency "$parallelism"
      measure "$n" floor noop "$rep" "$floor" "$fleet/tenants.tsv" "$parallelism"
      measure "$n" ledger noop "$rep" "$floor" "$fleet/tenants.tsv" "$parallelism" "SELECT name FROM knex_migrations"
    done
    "$root/scripts/pg-cluster.sh" stop "$fleet/pg"
    continue
  fi
  for rep in $(seq 1 "$reps"); do
    "$here/reset_fleet.sh" "$fleet"
    measure "$n" migrate fresh "$rep" "$migrate" --knexfile "$here/knexfile.yaml" --env bench all-tenants --concurrency "$parallelism"
    measure "$n" migrate noop "$rep" "$migrate" --knexfile "$here/knexfile.yaml" --env bench all-tenants --concurrency "$parallelism"
    measure "$n" floor noop "$rep" "$floor" "$fleet/tenants.tsv" "$parallelism"
    measure "$n" ledger noop "$rep" "$floor" "$fleet/tenants.tsv" "$parallelism" "SELECT name FROM knex_migrations"
    "$here/reset_fleet.sh" "$fleet"
    measure "$n" knex fresh "$rep" node "$here/knex/all_tenants.js"
    measure "$n" knex noop "$rep" node "$here/knex/all_tenants.js"
    "$here/reset_fleet.sh" "$fleet"
    measure "$n" psql fresh "$rep" "$here/psql_floor.sh" "$fleet" "$parallelism"
  done
  "$root/scripts/pg-cluster.sh" stop "$fleet/pg"
done

echo
echo "Raw figures: $results"
"$here/summarize.sh" "$results"
