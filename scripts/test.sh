#!/usr/bin/env bash
# Installs what is missing, builds, starts a throwaway PostgreSQL cluster, runs every test with
# ctest, and stops the cluster on any exit. Exits non-zero on any failure.
#   scripts/test.sh                  the whole suite
#   scripts/test.sh -L integration   only the integration tests (any ctest arguments pass through)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh
CMAKE_ARGS="-DMIGRATE_WERROR=ON" scripts/build.sh
(cd tests/knex && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
(cd tools/import-knex && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

work=$(mktemp -d /tmp/migrate-test.XXXXXX)
cleanup() { "$root/scripts/pg-cluster.sh" stop "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
scripts/pg-cluster.sh start "$work/pg"
source "$work/pg/env"

cd build
ctest --output-on-failure --no-tests=error -j"$(nproc)" "$@"
if [ "${IMAGE_TEST:-0}" = 1 ]; then "$root/scripts/image-test.sh"; fi   # the Docker image, with podman (README "Docker image")
