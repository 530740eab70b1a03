#!/usr/bin/env bash
# Configures and builds migrate into build/ (the executable is build/bin/migrate).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" ${CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"
