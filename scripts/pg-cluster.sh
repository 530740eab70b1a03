#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests, the demo and benchmarks.
#   pg-cluster.sh init  DIR [PORT]  create a cluster in DIR listening on 127.0.0.1:PORT and 127.0.0.2:PORT
#                                   (a free port if none): two addresses, two "servers" for per-host caps
#   pg-cluster.sh start DIR [PORT]  init if needed, then start it and wait until it accepts connections
#   pg-cluster.sh stop  DIR         stop it (fast shutdown); safe to call twice
# DIR/env holds PGHOST, PGPORT, PGUSER and PGPASSWORD for the superuser, to be sourced, and
# MIGRATE_TEST_SERVER_LOG, the server's log (DIR/server.log), whose lines start with
# "time [pid] user@database " so that a test can read what one database was sent.
# Tenant roles authenticate with scram-sha-256 over TCP, with or without TLS: DIR/tls holds a
# throwaway CA (ca.crt, exported as MIGRATE_TEST_CA) and the server's certificate for localhost and
# 127.0.0.1, signed by it. DURABLE=1 keeps fsync on (benchmarks).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg-cluster.sh init|start|stop DIR [PORT]}
dir=${2:?usage: pg-cluster.sh init|start|stop DIR [PORT]}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "pg-cluster: no free port found" >&2; exit 1
}

# A CA and a server certificate (CN localhost, IP 127.0.0.1) it signs, in DIR/tls; the CA's key is
# thrown away once it has signed.
make_tls() {
  local tls=$1
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=migrate test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>"$tls/openssl.log" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>>"$tls/openssl.log" &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$tls/server.ext" &&
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 3650 \
    -extfile "$tls/server.ext" -out "$tls/server.crt" 2>>"$tls/openssl.log" ||
    { cat "$tls/openssl.log" >&2; exit 1; }
  rm -f "$tls/ca.key" "$tls/ca.srl" "$tls/server.csr" "$tls/server.ext" "$tls/openssl.log"
  chmod 600 "$tls/server.key"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$tls"
  return 0
}

init_cluster() {
  local port=${1:-$(free_port)}
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
    chmod a+x "$(dirname "$dir")"   # the server user must be able to reach DIR
    runuser -u postgres -- test -w "$dir" ||
      { echo "pg-cluster: user postgres cannot reach $dir; put it under a folder others may enter (chmod a+x)" >&2; exit 1; }
  fi
  chmod 700 "$dir"
  local password
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" > "$dir/.pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/.pwfile"
  as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres --pwfile="$dir/.pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/.pwfile"
  # Clients of 127.0.0.2 may come from that address too.
  echo "host all all 127.0.0.2/32 scram-sha-256" >>"$dir/data/pg_hba.conf"
  local tls
  tls="$(cd "$dir" && pwd)/tls"
  make_tls "$tls"
  local fsync=off
  [ "${DURABLE:-0}" = 1 ] && fsync=on
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1,127.0.0.2'
log_line_prefix = '%m [%p] %q%u@%d '
port = $port
unix_socket_directories = '$dir'
max_connections = 300
password_encryption = 'scram-sha-256'
fsync = $fsync
synchronous_commit = $fsync
full_page_writes = $fsync
logging_collector = off
ssl = on
ssl_cert_file = '$tls/server.crt'
ssl_key_file = '$tls/server.key'
CONF
  cat >"$dir/env" <<ENV
export PGHOST=127.0.0.1
export PGPORT=$port
export PGUSER=postgres
export PGPASSWORD=$password
export PGDATABASE=postgres
export MIGRATE_TEST_CA=$tls/ca.crt
export MIGRATE_TEST_SERVER_LOG=$(cd "$dir" && pwd)/server.log
ENV
}

case "$cmd" in
  init)
    init_cluster "${3:-}"
    ;;
  start)
    [ -d "$dir/data" ] || init_cluster "${3:-}"
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
    fi
    ;;
  *)
    echo "usage: pg-cluster.sh init|start|stop DIR [PORT]" >&2; exit 2
    ;;
esac
