#!/usr/bin/env bash
# Installs the Debian packages migrate needs to build and test; does nothing when all are there.
#   scripts/install-deps.sh        what the build, the tests and the sanitizer builds need (GCC's runtimes)
#   scripts/install-deps.sh fuzz   and clang with libFuzzer, for scripts/fuzz.sh
#   scripts/install-deps.sh build  only what compiling the migrate binary needs (the Dockerfile's build stage)
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libpqxx-dev libpq-dev libssl-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev
)
if [ "${1:-}" != build ]; then
  packages+=(catch2 postgresql-15 postgresql-client-15 pgbouncer openssl)
  # Node and npm run knex in the tests; the machine image has them, a bare Debian gets Debian's.
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
  # GNU time measures the benchmarks' peak memory.
  packages+=(time)
fi
if [ "${1:-}" = fuzz ]; then packages+=(clang-14 libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
