#!/bin/sh
# test.sh — install what the tests need, then build and run every test:
#   build/        gcc, the plain build: unit, end-to-end, ops tests
#   build-asan/   clang, AddressSanitizer+UndefinedBehaviorSanitizer, plus the
#                 libFuzzer harnesses run for a bounded time
#   build-tsan/   gcc, ThreadSanitizer
# Exits non-zero when any test in any build failed. The README's test
# command and .ci/run are exactly this script.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh test

# Sanitizer reports end the process with an error status, so a report fails
# the test that caused it even when its assertions passed.
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:exitcode=23"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0

# suite NAME BUILD_DIR CTEST_ARGS -- CMAKE_ARGS...
suite() {
	name=$1 dir=$2 select=$3
	shift 4
	echo "== $name: building in $dir" >&2
	scripts/build.sh "$dir" "$@"
	echo "== $name: testing" >&2
	# shellcheck disable=SC2086
	(cd "$dir" && ctest --output-on-failure -j 2 $select) | tee -a "$log" || failed=1
}

suite plain build "" --
suite asan+ubsan+fuzz build-asan "-LE ops" -- -DCMAKE_C_COMPILER=clang -DSMM_SANITIZE=address -DSMM_FUZZ=ON
suite tsan build-tsan "-LE ops|fuzz" -- -DSMM_SANITIZE=thread

passed=$(sed -n 's/.* tests passed, \([0-9]*\) tests failed out of \([0-9]*\)/\2 \1/p' "$log" |
	awk '{p += $1 - $2; f += $2} END {print p, f}')
set -- $passed
echo "all builds: $1 passed, $2 failed"
[ "$failed" -eq 0 ] && [ "$2" -eq 0 ]
