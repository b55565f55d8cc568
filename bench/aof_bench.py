#!/usr/bin/env python3
"""aof_bench.py — what the append-only log costs, against Redis's, with one neutral client.

    bench/aof_bench.py [--server build/server/smm-server] [--lineload ../shared/bench/lineload.c]
                       [--secs 3] [--rounds 3] [--replay 10000000]

Pair throughput (lineload's pair mode: 50 connections, batches of P=16 creates then P deletes):
smm-server without a log, with --aof and --fsync everysec, and with --fsync always; redis-server
without persistence and with appendonly yes under appendfsync everysec and always. Rounds
alternate the servers cell by cell; each figure is the median. Then one run per always-server
under strace (seccomp filter: only fsync/fdatasync stop) counts syncs per second. With
--replay N, a log of at least N records is made with the same load (--fsync no) and the
restart's "aof: loaded N records in T ms" line gives replay's records per second.
A program, not a test: nothing here runs in CTest. Logs go to a temporary directory on the
disk under /tmp (not tmpfs on this machine: check with df).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_lineload(src):
    exe = os.path.join(tempfile.gettempdir(), "smm-aof-bench-lineload")
    subprocess.run(["cc", "-O2", "-o", exe, src, "-lpthread"], check=True)
    return exe


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, secs=600):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("aof_bench: nothing listens on %d" % port)


def load(exe, port, kind, secs, pipe=16):
    r = subprocess.run([exe, "--port", str(port), "--mode", kind + "-pair", "--conns", "50",
                        "--pipeline", str(pipe), "--seconds", str(secs)],
                       capture_output=True, text=True, timeout=secs + 120)
    if not r.stdout.strip():
        raise SystemExit("aof_bench: lineload %s on %d: %s" % (kind, port, r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


def servers(a, tmp):
    """name -> (kind, argv without the port)."""
    smm = [a.server, "--memory", "100000000", "--policy", "tlsf"]
    red = ["redis-server", "--save", ""]
    return {
        "smm no log": ("smm", smm),
        "smm everysec": ("smm", smm + ["--aof", os.path.join(tmp, "e.aof"), "--fsync", "everysec"]),
        "smm always": ("smm", smm + ["--aof", os.path.join(tmp, "a.aof"), "--fsync", "always"]),
        "redis no aof": ("redis", red + ["--appendonly", "no"]),
        "redis everysec": ("redis", red + ["--appendonly", "yes", "--appendfsync", "everysec",
                                           "--appenddirname", "everysec", "--dir", tmp]),
        "redis always": ("redis", red + ["--appendonly", "yes", "--appendfsync", "always",
                                         "--appenddirname", "always", "--dir", tmp]),
    }


def start(kind, argv, port, trace=None):
    argv = argv + (["--port", str(port)])
    if trace:
        argv = ["strace", "-f", "--seccomp-bpf", "-c", "-e", "trace=fsync,fdatasync",
                "-o", trace] + argv
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def stop(p, traced=False):
    """SIGTERM the server (under strace: strace's child, so strace ends with it
    and writes its summary)."""
    if traced:
        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
            os.kill(int(f.read().split()[0]), signal.SIGTERM)
    else:
        p.terminate()
    p.wait(60)


def throughput(a, exe, tmp):
    rows = {}
    for i in range(a.rounds):
        # Each round starts with another server, so no server always runs
        # right after the same neighbour.
        order = list(servers(a, tmp).items())
        for name, _ in order[i % len(order):] + order[:i % len(order)]:
            # Every run starts from an empty log of its own: no replay at
            # start, no log grown by earlier rounds (Redis would rewrite).
            fresh = tempfile.mkdtemp(dir=tmp)
            kind, argv = servers(a, fresh)[name]
            port = free_port()
            p = start(kind, argv, port)
            try:
                r = load(exe, port, kind, a.secs)
            finally:
                stop(p)
            rows.setdefault(name, []).append(r)
            print("  %-15s %9.0f req/s" % (name, r["rps"]), flush=True)
    for name, runs in rows.items():
        runs.sort(key=lambda r: r["rps"])
        rows[name] = runs[len(runs) // 2]
    return rows


def syncs_per_second(a, exe, tmp, name):
    kind, argv = servers(a, tempfile.mkdtemp(dir=tmp))[name]
    trace = os.path.join(tmp, "strace.out")
    port = free_port()
    p = start(kind, argv, port, trace)
    try:
        r = load(exe, port, kind, a.secs)
    finally:
        stop(p, traced=True)
    with open(trace) as f:
        calls = sum(int(m.group(1)) for m in
                    re.finditer(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?f(?:data)?sync$",
                                f.read(), re.M))
    return calls / r["seconds"], r["rps"]


def stats(port):
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        s.sendall(b'{"op":"stats"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            buf += s.recv(65536)
    return json.loads(buf)


def replay(a, exe, tmp):
    path = os.path.join(tmp, "replay.aof")
    argv = [a.server, "--memory", "100000000", "--policy", "tlsf", "--aof", path, "--fsync", "no"]
    port = free_port()
    p = subprocess.Popen(argv + ["--port", str(port)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port)
    try:
        while True:
            load(exe, port, "smm", 5)
            st = stats(port)
            # A pair is a 65-byte malloc record and a 17-byte free record.
            if st["aof_size"] // 41 >= a.replay:
                break
    finally:
        stop(p)
    port = free_port()
    p = subprocess.Popen(argv + ["--port", str(port)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    line = ""
    while "listening on" not in line:
        line = p.stderr.readline()
        m = re.search(r"aof: loaded (\d+) records \((\d+) blocks\) in (\d+) ms", line)
        if m:
            loaded = tuple(int(x) for x in m.groups())
    stop(p)
    t0 = time.monotonic()
    subprocess.run([a.server, "--check-aof", path], capture_output=True, check=True)
    check_s = time.monotonic() - t0
    return loaded, os.path.getsize(path), check_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default=os.path.join(ROOT, "build/server/smm-server"))
    ap.add_argument("--lineload", default=os.path.join(ROOT, "../shared/bench/lineload.c"))
    ap.add_argument("--secs", default=3, type=float)
    ap.add_argument("--rounds", default=3, type=int)
    ap.add_argument("--replay", default=0, type=int)
    a = ap.parse_args()
    exe = build_lineload(a.lineload)
    tmp = tempfile.mkdtemp(prefix="smm-aof-bench-", dir="/tmp")
    try:
        print("load before:", os.getloadavg())
        rows = throughput(a, exe, tmp)
        base = {"smm": rows["smm no log"]["rps"], "redis": rows["redis no aof"]["rps"]}
        for name, r in rows.items():
            kind = name.split()[0]
            print("%-15s %9.0f req/s  %.2fx its no-log  batch p99 %6d us  errors %d"
                  % (name, r["rps"], r["rps"] / base[kind], r["batch_p99_us"], r["errors"]))
        for name in ("smm always", "redis always"):
            per_s, rps = syncs_per_second(a, exe, tmp, name)
            print("%-15s %9.0f syncs/s under strace (%.0f req/s there, %.1f req per sync)"
                  % (name, per_s, rps, rps / per_s if per_s else 0))
        if a.replay:
            (n, blocks, ms), size, check_s = replay(a, exe, tmp)
            print("replay: %d records (%d live blocks, %.0f MB) in %d ms: %.0f records/s; "
                  "--check-aof %.1f s" % (n, blocks, size / 1e6, ms, n / (ms / 1000.0), check_s))
        print("load after:", os.getloadavg())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


sys.exit(main())
