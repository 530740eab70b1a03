#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster of its own (scripts/pg-cluster.sh): starts it,
# exports its PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and MIGRATE_TEST_CA, runs the command,
# then stops and removes the cluster on any exit. Exits with the command's status.
#   scripts/lib/with-cluster.sh COMMAND [ARGS...]
set -euo pipefail
scripts=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d /tmp/migrate-test.XXXXXX)
cleanup() { "$scripts/pg-cluster.sh" stop "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
"$scripts/pg-cluster.sh" start "$work/pg"
source "$work/pg/env"
"$@"
