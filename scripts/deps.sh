#!/bin/sh
# deps.sh — install the Debian 12 packages smm needs; the single list.
#   scripts/deps.sh build    compile smm (also what the Docker build stage uses)
#   scripts/deps.sh demo     build + nc, for scripts/demo.sh and the README's nc session
#   scripts/deps.sh test     build + run every test, sanitizer build and fuzzer
#   scripts/deps.sh --list demo   print a list's packages, one a line, install nothing
# Packages already present are not fetched again. Needs root (or sudo).
# The demo and build lists build with -DSMM_TESTS=OFF: the test suite needs
# cmocka and python3, which only the test list installs. tests/e2e/test_ops_deps.py
# configures each README command's build with nothing but its list's pkg-config files.
set -eu

build="build-essential cmake pkg-config libevent-dev libcjson-dev"
demo="$build netcat-openbsd"
test="$build libcmocka-dev clang libclang-rt-14-dev python3 netcat-openbsd docker-compose man-db prometheus chromium chromium-driver"

list=0
[ "${1:-}" = --list ] && { list=1; shift; }

case "${1:-build}" in
build) pkgs=$build ;;
demo) pkgs=$demo ;;
test) pkgs=$test ;;
*) echo "usage: $0 [--list] build|demo|test" >&2; exit 2 ;;
esac
if [ "$list" = 1 ]; then
	# shellcheck disable=SC2086
	printf '%s\n' $pkgs
	exit 0
fi

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps.sh: installing$missing" >&2
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
