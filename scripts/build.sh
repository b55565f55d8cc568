#!/bin/sh
# build.sh — configure and build smm: the single source of the build steps,
# used by the README's commands, .ci/run and docker/Dockerfile alike.
#   scripts/build.sh [BUILD_DIR] [extra cmake arguments...]
# BUILD_DIR defaults to build/. Example: scripts/build.sh build-asan -DSMM_SANITIZE=address
# The test suite is configured unless the arguments say -DSMM_TESTS=OFF (the
# demo, the install and the image do: their package lists hold no cmocka); it
# is passed every time so that a directory configured once without tests does
# not silently stay so. SMM_CONFIGURE_ONLY=1 stops after configuring (the
# package-list guard, tests/e2e/test_ops_deps.py, uses it).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-"$root/build"}
[ $# -gt 0 ] && shift
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMM_TESTS=ON "$@" >/dev/null
[ "${SMM_CONFIGURE_ONLY:-0}" = 1 ] && exit 0
cmake --build "$dir" -j "$(nproc)"
