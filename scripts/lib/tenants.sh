# Shell helpers to make tenants on a throwaway cluster (demo and benchmarks). Source it with the
# cluster's env loaded (PGHOST, PGPORT, PGUSER, PGPASSWORD) and MIGRATE pointing at the binary.

# random_password: 24 hex characters.
random_password() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }

# create_central DBNAME: an empty central database; prints its URL (superuser, test clusters only).
create_central() {
  echo 'CREATE DATABASE :"db"' | psql -q -v ON_ERROR_STOP=1 -d postgres -v db="$1" >/dev/null
  echo "postgresql://${PGUSER}:${PGPASSWORD}@${PGHOST}:${PGPORT}/$1"
}

# create_tenant CENTRAL_DB SLUG [STATUS]: a role and a database of its own, with a random password
# registered encrypted (by `migrate encrypt`, which reads it from stdin) in CENTRAL_DB's tenants table.
create_tenant() {
  local central=$1 slug=$2 status=${3:-active}
  local role="tenant_${slug//-/_}" db="tenant_${slug//-/_}" password encrypted
  password=$(random_password)
  encrypted=$(printf '%s\n' "$password" | "$MIGRATE" encrypt)
  psql -q -v ON_ERROR_STOP=1 -d postgres -v role="$role" -v db="$db" -v pw="$password" >/dev/null <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"role";
SQL
  psql -q -v ON_ERROR_STOP=1 -d "$central" -v id="t-$slug" -v slug="$slug" -v status="$status" \
    -v host="$PGHOST" -v port="$PGPORT" -v db="$db" -v role="$role" -v enc="$encrypted" >/dev/null <<'SQL'
INSERT INTO tenants (id, slug, name, status, db_host, db_port, db_name, db_user, db_password_encrypted)
VALUES (:'id', :'slug', :'slug', :'status', :'host', :'port', :'db', :'role', :'enc');
SQL
}
