#!/usr/bin/env bash
# The long crash trials (tests/chaos) on a throwaway cluster:
#   scripts/chaos.sh [TRIALS] [SEED]
# TRIALS SIGKILLs of `migrate all-tenants` at random moments (default 200), then TRIALS/10 rounds
# (at least 2) of three replicas through terminated backends and restarts of the tenants' server.
# Every random choice comes from SEED (default: a random one); it is printed, and the same SEED
# makes the same choices again. Prints one line per trial, then the table; exits non-zero on any
# inconsistency, stuck lock, duplicate application or spurious failure.
set -euo pipefail
cd "$(dirname "$0")/.."

trials=${1:-200}
seed=${2:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}
rounds=$((trials / 10 > 2 ? trials / 10 : 2))

scripts/install-deps.sh
CMAKE_ARGS="-DMIGRATE_WERROR=ON" scripts/build.sh
source scripts/lib/test-cluster.sh
start_test_cluster

echo "scripts/chaos.sh $trials $seed: $trials kill trials, $rounds replica rounds"
build/bin/chaos_trials --kills "$trials" --rounds "$rounds" --seed "$seed"
