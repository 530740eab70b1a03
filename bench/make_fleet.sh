#!/usr/bin/env bash
# make_fleet.sh N DIR: a throwaway durable PostgreSQL cluster in DIR/pg with a central database and
# N tenants, each with its own role, database and encrypted password. Writes DIR/fleet.env (to
# source) and DIR/tenants.tsv (host, port, db, user, plaintext password: for the floors only).
# The cluster is left running; bench/run.sh stops it.
set -euo pipefail
n=${1:?usage: make_fleet.sh N DIR}
dir=${2:?usage: make_fleet.sh N DIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
export MIGRATE=${MIGRATE:-$root/build/bin/migrate}

mkdir -p "$dir"
DURABLE=1 "$root/scripts/pg-cluster.sh" start "$dir/pg"
source "$dir/pg/env"
source "$root/scripts/lib/tenants.sh"

export DB_ENCRYPTION_KEY="bench-key-0123456789abcdef-32chr"
export CENTRAL_DATABASE_URL=$(create_central platform)
"$MIGRATE" --knexfile "$root/knexfile.yaml" central >/dev/null

: >"$dir/tenants.tsv"
sql="$dir/create_tenants.sql"
insert="$dir/insert_tenants.sql"
: >"$sql"
echo "COPY tenants (id, slug, status, db_host, db_port, db_name, db_user, db_password_encrypted) FROM STDIN;" >"$insert"
for i in $(seq -w 1 "$n"); do
  slug="tenant-$i" name="bench_tenant_$i" password=$(random_password)
  encrypted=$(printf '%s\n' "$password" | "$MIGRATE" encrypt)
  echo "CREATE ROLE $name LOGIN PASSWORD '$password';" >>"$sql"
  echo "CREATE DATABASE $name OWNER $name;" >>"$sql"
  printf 't-%s\t%s\tactive\t%s\t%s\t%s\t%s\t%s\n' "$i" "$slug" "$PGHOST" "$PGPORT" "$name" "$name" "$encrypted" >>"$insert"
  printf '%s\t%s\t%s\t%s\t%s\n' "$PGHOST" "$PGPORT" "$name" "$name" "$password" >>"$dir/tenants.tsv"
done
echo '\.' >>"$insert"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$sql" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d platform -f "$insert" >/dev/null
rm -f "$sql" "$insert"

cat >"$dir/fleet.env" <<ENV
source "$dir/pg/env"
export DB_ENCRYPTION_KEY="$DB_ENCRYPTION_KEY"
export CENTRAL_DATABASE_URL="$CENTRAL_DATABASE_URL"
export FLEET_SIZE=$n
ENV
echo "make_fleet: $n tenants in $dir"
