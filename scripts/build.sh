#!/bin/sh
# build.sh — configure and build smm: the single source of the build steps,
# used by the README's commands, .ci/run and docker/Dockerfile alike.
#   scripts/build.sh [BUILD_DIR] [extra cmake arguments...]
# BUILD_DIR defaults to build/. Example: scripts/build.sh build-asan -DSMM_SANITIZE=address
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-"$root/build"}
[ $# -gt 0 ] && shift
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
