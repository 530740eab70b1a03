#!/usr/bin/env bash
# Builds the Docker image from the Dockerfile as it is, with podman, and runs it for real against a
# throwaway PostgreSQL cluster: `migrate all-tenants` (the image's CMD) migrates three tenants whose
# ledgers then list every file of migrations/tenant; the container runs as a user other than root;
# `--version` works; and SIGTERM sent to the container (migrate is its PID 1) stops a tenant blocked
# in a migration gracefully: exit 143, the tenant rolled back, its locks released.
# Exits non-zero on any failure, and where podman cannot run a container at all. Prints how long
# each phase took. scripts/test.sh runs it when IMAGE_TEST=1.
#
# No image registry is reachable here, so the base images are made from Debian's packages
# (mmdebstrap) the first time, and kept by podman for the next runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
image=migrate:test
# In this VM, crun and podman's default limits fail: runc, and limits of our own, on every build and run.
podman_cmd=(podman --runtime runc)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)

phase_started=$SECONDS
phase() { echo "image-test: $1 took $((SECONDS - phase_started)) s"; phase_started=$SECONDS; }
fail() { echo "image-test: FAILED: $*" >&2; exit 1; }

# --- tools: podman with runc, mmdebstrap for the base images, uidmap for podman's user namespaces.
missing=()
for p in podman runc mmdebstrap uidmap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "image-test: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
scripts/install-deps.sh   # PostgreSQL and psql for the cluster
phase "tools"

work=$(mktemp -d /tmp/migrate-image-test.XXXXXX)
holder_pid=""
container=migrate-image-test-$$
cleanup() {
  [ -z "$holder_pid" ] || kill "$holder_pid" 2>/dev/null || true
  podman rm -f --ignore "$container" >/dev/null 2>&1 || true
  "$root/scripts/pg-cluster.sh" stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

# --- base images. One minbase tarball serves as both debian:bookworm (the build stage) and
# debian:bookworm-slim (the runtime stage): the official two differ only in documentation and
# locale files that slim leaves out, and minbase (Essential packages, apt) is what both stages
# start from; the build stage installs its compiler and libraries itself, with install-deps.sh.
# Named under localhost/, as images made here and not pulled; podman finds them for the
# Dockerfile's short names (FROM debian:bookworm) with --pull=never.
bases=(localhost/debian:bookworm-slim localhost/debian:bookworm)
absent=()
for base in "${bases[@]}"; do podman image exists "$base" || absent+=("$base"); done
if [ ${#absent[@]} -gt 0 ]; then
  echo "image-test: making ${absent[*]} from Debian's packages (mmdebstrap --variant=minbase bookworm)"
  mmdebstrap --quiet --variant=minbase bookworm "$work/rootfs.tar" ||
    fail "mmdebstrap could not make the base image"
  for base in "${absent[@]}"; do podman import --quiet "$work/rootfs.tar" "$base" >/dev/null; done
  rm -f "$work/rootfs.tar"
fi
phase "base images"

# --- can podman run a container here at all? Say so plainly rather than fail later in the build.
if ! "${podman_cmd[@]}" run --rm --network host "${limits[@]}" --pull=never "${bases[0]}" true \
    >"$work/engine.log" 2>&1; then
  echo "image-test: podman cannot run a container on this machine, so the image cannot be tested:" >&2
  cat "$work/engine.log" >&2
  exit 1
fi
phase "engine check"

# --- the image, from the Dockerfile as it is (apt inside the build reaches Debian through the
# host's network).
if ! "${podman_cmd[@]}" build --network host "${limits[@]}" --pull=never -t "$image" . >"$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log" >&2
  fail "podman build"
fi
echo "image-test: built $image ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}'))"
phase "image build"

# migrate in the image, with the secrets passed by name only (-e NAME: the value comes from this
# environment and never appears in podman's arguments).
in_image() {
  "${podman_cmd[@]}" run --rm -i --network host "${limits[@]}" --pull=never \
    -e CENTRAL_DATABASE_URL -e DB_ENCRYPTION_KEY "$image" "$@"
}

# --- a cluster, a central database (its tenants table from `migrate central` in the image) and
# three tenants, each with its own role, database and password encrypted by `migrate encrypt`.
scripts/pg-cluster.sh start "$work/pg"
source "$work/pg/env"
source scripts/lib/tenants.sh
MIGRATE=in_image   # what create_tenant runs for `encrypt`
DB_ENCRYPTION_KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')   # 32 characters
export DB_ENCRYPTION_KEY
CENTRAL_DATABASE_URL=$(create_central platform)
export CENTRAL_DATABASE_URL
in_image central >"$work/central.log" 2>&1 || { cat "$work/central.log" >&2; fail "migrate central in the image"; }
tenants=(acme-corp globex initech)
for slug in "${tenants[@]}"; do create_tenant platform "$slug"; done
phase "cluster and tenants"

# ledger DB: the names in the tenant database's knex_migrations, sorted.
ledger() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c 'SELECT name FROM knex_migrations ORDER BY name'; }
expected=$(ls migrations/tenant | LC_ALL=C sort)

# --- the image's CMD: all-tenants, in the production environment the image sets.
status=0
in_image </dev/null >"$work/all-tenants.log" 2>&1 || status=$?
cat "$work/all-tenants.log"
[ $status -eq 0 ] || fail "all-tenants in the image exited $status"
for slug in "${tenants[@]}"; do
  db="tenant_${slug//-/_}"
  [ "$(ledger "$db")" = "$expected" ] ||
    fail "$db's knex_migrations holds [$(ledger "$db" | paste -sd' ')], not every file of migrations/tenant [$(echo "$expected" | paste -sd' ')]"
done
echo "image-test: ok: all-tenants in the image migrated ${tenants[*]}; each ledger lists the $(wc -l <<<"$expected") files of migrations/tenant"
phase "all-tenants"

# --- a user other than root, --version, and every library the binary needs resolved in the image.
uid=$("${podman_cmd[@]}" run --rm --network host "${limits[@]}" --pull=never --entrypoint id "$image" -u)
[ "$uid" != 0 ] || fail "the container runs as root"
echo "image-test: ok: the container runs as uid $uid"
version=$(sed -n 's/^project(migrate VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
said=$(in_image --version </dev/null)
[ "$said" = "migrate $version" ] || fail "--version printed '$said', expected 'migrate $version'"
echo "image-test: ok: --version prints '$said'"
unresolved=$("${podman_cmd[@]}" run --rm --network host "${limits[@]}" --pull=never --entrypoint ldd "$image" \
  /usr/local/bin/migrate | grep 'not found' || true)
[ -z "$unresolved" ] || fail "libraries missing in the image: $unresolved"
echo "image-test: ok: ldd finds every library of /usr/local/bin/migrate in the image"
phase "user, version, libraries"

# --- SIGTERM to the container reaches migrate as PID 1 and stops gracefully. A fourth tenant has
# its first migration applied (`up`); this script then holds an ACCESS EXCLUSIVE lock on its users
# table, so that the next migration (contacts, with a foreign key to users) waits on it.
create_tenant platform slow
slow_db=tenant_slow
in_image up --tenant slow </dev/null >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "up --tenant slow"; }
before=$(ledger "$slow_db")
[ "$(wc -l <<<"$before")" = 1 ] || fail "up --tenant slow left [$before] in the ledger, expected one migration"

mkfifo "$work/hold.in"
psql -X -At -v ON_ERROR_STOP=1 -d "$slow_db" <"$work/hold.in" >"$work/hold.out" 2>&1 &
holder_pid=$!
exec 3>"$work/hold.in"
echo "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&3

# poll_until DESCRIPTION SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds, or fails.
poll_until() {
  local what=$1 deadline=$((SECONDS + $2))
  shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "$what: not within the deadline"
    sleep 0.1
  done
}
holding() { grep -qx locked "$work/hold.out"; }
poll_until "the lock on $slow_db's users table" 30 holding

"${podman_cmd[@]}" run --rm --name "$container" --network host "${limits[@]}" --pull=never \
  -e CENTRAL_DATABASE_URL -e DB_ENCRYPTION_KEY "$image" </dev/null >"$work/term.log" 2>&1 &
run_pid=$!
# The container's session in the slow tenant waits for the lock (with the image's production
# settings, lock_timeout 5 s and then retries: a signal during a retry's backoff stops it the same way).
blocked() {
  kill -0 "$run_pid" 2>/dev/null || { cat "$work/term.log" >&2; fail "the container exited before it waited for the lock"; }
  [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$slow_db'
       AND usename = '$slow_db' AND wait_event_type = 'Lock'")" = 1 ]
}
poll_until "the container's migration waiting for the lock" 60 blocked
podman kill --signal TERM "$container" >/dev/null
exited() { ! kill -0 "$run_pid" 2>/dev/null; }
poll_until "the container's exit after SIGTERM" 60 exited
status=0
wait "$run_pid" || status=$?
cat "$work/term.log"
[ $status -eq 143 ] || fail "after SIGTERM the container exited $status, expected 143 (README: Stopping a run)"
grep -q 'Interrupted: .*slow' "$work/term.log" || fail "the summary does not name slow as interrupted"

echo "ROLLBACK;" >&3
exec 3>&-
wait "$holder_pid" || true
holder_pid=""
after=$(ledger "$slow_db")
[ "$after" = "$before" ] || fail "slow's ledger is [$after] after the graceful stop, expected [$before] (rolled back)"
lock_row=$(psql -X -At -d "$slow_db" -c 'SELECT coalesce(max(is_locked), 0) FROM knex_migrations_lock')
[ "$lock_row" = 0 ] || fail "slow's knex_migrations_lock is_locked = $lock_row after the graceful stop"
gone() {
  [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
       WHERE l.locktype = 'advisory' AND d.datname = '$slow_db'")" = 0 ]
}
poll_until "the release of slow's advisory lock" 30 gone
echo "image-test: ok: SIGTERM stopped the container gracefully: exit 143, slow rolled back to [$before], its lock row 0, no advisory lock"
phase "SIGTERM"

echo "image-test: passed in $SECONDS s"
