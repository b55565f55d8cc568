#!/usr/bin/env python3
"""server.py — smm-server's own benchmark: the four cells of issue 12 driven by smm-client load.

    bench/server.py [--server build/server/smm-server] [--client build/client/smm-client]
                    [--secs 4] [--malloc-count build/tests/libsmm_malloc_count.so] [--no-redis]
                    [-- EXTRA SERVER FLAGS]

Starts smm-server on a free loopback port and runs `smm-client load --json` (50 connections,
one client thread) for each cell: "malloc" (malloc then free of the same block) and "ping",
pipeline P = 1 and 16. While the load runs it measures, over the same window and per request
the server received (its stats "requests" counter): context switches of all the server's
threads (voluntary and not, from /proc/PID/task/*/status), CPU time of the event-loop threads and
of the allocator thread (/proc/PID/task/*/stat), system calls (perf stat -e
raw_syscalls:sys_enter, when perf works here) and, with --malloc-count (the LD_PRELOAD
counter tests/alloc/malloc_count.c builds), heap allocations. Then, when redis-server is
installed, it runs ../shared/bench/vs-redis.py on the same binary. Not a test: it asserts nothing.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CELLS = [("malloc", 1), ("malloc", 16), ("ping", 1), ("ping", 16)]
VS_REDIS = os.path.join(HERE, "..", "..", "shared", "bench", "vs-redis.py")


def start_server(a, count_file):
    env = dict(os.environ)
    if a.malloc_count:
        env.update(LD_PRELOAD=os.path.abspath(a.malloc_count), SMM_MALLOC_COUNT_FILE=count_file)
    proc = subprocess.Popen([a.server, "--port", "0", "--memory", "100000000", *a.extra],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = re.search(r"listening on \S+:(\d+)", proc.stderr.readline())
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise SystemExit("server.py: smm-server did not start")


def requests_seen(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b'{"op":"stats"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("server.py: server closed the stats connection")
            buf += chunk
    return json.loads(buf)["requests"]


def ctx_switches(pid):
    vol = invol = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            text = f.read()
        vol += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", text, re.M).group(1))
        invol += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", text, re.M).group(1))
    return vol, invol


def cpu_seconds(pid):
    """CPU seconds (user + system) of the event-loop threads (the main one and, with
    --io-threads, those named smm-loopN) and of the others (the allocator thread)."""
    tick = os.sysconf("SC_CLK_TCK")
    loop = other = 0.0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            comm, rest = f.read().split("(", 1)[1].rsplit(")", 1)
        fields = rest.split()
        secs = (int(fields[11]) + int(fields[12])) / tick
        if int(tid) == pid or comm.startswith("smm-loop"):
            loop += secs
        else:
            other += secs
    return loop, other


def allocations(count_file):
    with open(count_file, "rb") as f:
        return int.from_bytes(f.read(8), "little")


def syscalls_during(pid, secs):
    """System calls the server makes in the next secs seconds, or None without perf."""
    if not shutil.which("perf"):
        time.sleep(secs)
        return None
    r = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-p", str(pid),
                        "--", "sleep", str(secs)], capture_output=True, text=True)
    m = re.search(r"^(\d+),", r.stderr, re.M)
    return int(m.group(1)) if m else None


def cell(a, pid, port, count_file, op, pipe):
    load = subprocess.Popen([a.client, "load", "--port", str(port), "--json", "--connections", "50",
                             "--threads", "1", "--pipeline", str(pipe), "--duration", str(a.secs),
                             "--op", op], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)  # connections up, free lists and buffers at their working size
    r0, c0, t0 = requests_seen(port), ctx_switches(pid), cpu_seconds(pid)
    a0 = allocations(count_file) if a.malloc_count else 0
    sys_n = syscalls_during(pid, max(a.secs - 1.5, 0.5))
    r1, c1, t1 = requests_seen(port), ctx_switches(pid), cpu_seconds(pid)
    a1 = allocations(count_file) if a.malloc_count else 0
    out, _ = load.communicate(timeout=a.secs + 60)
    res = json.loads(out.strip().splitlines()[-1])
    n = max(r1 - r0 - 1, 1)  # the second stats request is not load
    return {
        "cell": "%s P=%d" % (op, pipe), "requests_per_s": round(res["requests_per_s"]),
        "p99_us": res["latency_us"]["p99"], "errors": res["errors"],
        "vol_cs_per_req": round((c1[0] - c0[0]) / n, 4),
        "invol_cs_per_req": round((c1[1] - c0[1]) / n, 4),
        "syscalls_per_req": None if sys_n is None else round(sys_n / n, 4),
        "loop_cpu_us_per_req": round((t1[0] - t0[0]) * 1e6 / n, 3),
        "allocator_cpu_us_per_req": round((t1[1] - t0[1]) * 1e6 / n, 3),
        "allocs_per_req": round((a1 - a0) / n, 4) if a.malloc_count else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default="build/server/smm-server")
    ap.add_argument("--client", default="build/client/smm-client")
    ap.add_argument("--secs", default=4.0, type=float)
    ap.add_argument("--malloc-count", help="path of the LD_PRELOAD allocation counter")
    ap.add_argument("--no-redis", action="store_true", help="skip vs-redis.py")
    ap.add_argument("extra", nargs="*", help="extra smm-server flags (after --)")
    a = ap.parse_args()
    fd, count_file = tempfile.mkstemp(prefix="smm-bench-count-")
    os.write(fd, bytes(8))
    os.close(fd)
    proc, port = start_server(a, count_file)
    try:
        print("load %s  commit %s" % (os.getloadavg()[0], subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()))
        for op, pipe in CELLS:
            print(json.dumps(cell(a, proc.pid, port, count_file, op, pipe)), flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
        os.unlink(count_file)
    if not a.no_redis and shutil.which("redis-server") and os.path.exists(VS_REDIS):
        return subprocess.run([sys.executable, VS_REDIS, "--server", a.server, "--rounds", "3",
                               *(["--", *a.extra] if a.extra else [])]).returncode
    return 0


sys.exit(main())
