#!/bin/sh
# demo.sh — the main job end to end: install the build packages, build,
# start smm-server (150-byte arena, the seed's), run the seed's ten threads
# with `smm-client demo`, show a short session as `nc` would see it, then
# stop the server. Extra arguments go to `smm-client demo` (e.g. --seed 7).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh demo
# No test suite: the demo list installs no cmocka (scripts/deps.sh test does).
scripts/build.sh build -DSMM_TESTS=OFF >/dev/null

log=$(mktemp)
build/server/smm-server --port 0 --memory 150 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null; rm -f "$log"' EXIT

# Wait (at most 10 s) for the server's "listening on HOST:PORT" line.
port=""
for _ in $(seq 100); do
	port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$log")
	[ -n "$port" ] && break
	kill -0 "$server" 2>/dev/null || break
	sleep 0.1
done
[ -n "$port" ] || { cat "$log" >&2; echo "demo.sh: smm-server did not start" >&2; exit 1; }
cat "$log"

echo "\$ smm-client demo $*"
build/client/smm-client --port "$port" demo "$@"

echo
echo "\$ smm-client stats"
build/client/smm-client --port "$port" stats
echo
echo "The same server with nc, one JSON request per line:"
session='{"op":"ping"}
{"op":"malloc","id":42,"size":4,"tag":"mine"}
{"op":"dump","offset":130,"blocks":true}
{"op":"free","addr":0,"key":"0000000000000000"}'
echo "$session" | sed 's/^/> /'
echo "$session" | nc -N 127.0.0.1 "$port" | sed 's/^/< /'

kill -TERM "$server"
wait "$server"
status=$?
trap 'rm -f "$log"' EXIT
tail -n 2 "$log"
exit $status
