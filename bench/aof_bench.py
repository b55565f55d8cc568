#!/usr/bin/env python3
"""aof_bench.py — what the append-only log costs, against Redis's, with one neutral client.

    bench/aof_bench.py [--server build/server/smm-server] [--lineload ../shared/bench/lineload.c]
                       [--secs 3] [--rounds 3] [--replay 10000000] [--stall 1000000]
                       [--only-stall]

Pair throughput (lineload's pair mode: 50 connections, batches of P=16 creates then P deletes):
smm-server without a log, with --aof and --fsync everysec, and with --fsync always; redis-server
without persistence and with appendonly yes under appendfsync everysec and always. Rounds
alternate the servers cell by cell; each figure is the median. Then one run per always-server
under strace (seccomp filter: only fsync/fdatasync stop) counts syncs per second. With
--replay N, a log of at least N records is made with the same load (--fsync no) and the
restart's "aof: loaded N records in T ms" line gives replay's records per second.
With --stall N, a server is filled to N live blocks (two mallocs and a free per block kept,
so the log holds history to drop), then `compact` is sent while a client keeps changing
blocks; the server's "aof: rewrote the log" line gives how long the allocator thread
stopped (to copy the block table, and to switch files) and the log's size before and after.
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
    argv = [a.server, "--memory", "100000000", "--policy", "tlsf", "--aof", path, "--fsync", "no",
            "--aof-rewrite-min", "1T"]  # replay the whole history, not a rewrite of it
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


def pipelined(sock, lines):
    """Send lines (bytes, one request each) and return their replies, decoded."""
    sock.sendall(b"".join(lines))
    f, out = sock.makefile("rb"), []
    for _ in lines:
        out.append(json.loads(f.readline()))
    return out


def fill_blocks(port, n):
    """n live blocks of 16 bytes, each after a malloc and free of another."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        done = 0
        while done < n:
            k = min(2000, n - done)
            reps = pipelined(s, [b'{"op":"malloc","id":1,"size":16}\n'] * (2 * k))
            frees = [('{"op":"free","addr":%d,"key":"%s"}\n' % (r["addr"], r["key"])).encode()
                     for r in reps[1::2]]
            assert all(r.get("ok") for r in pipelined(s, frees))
            done += k


def stall(a, tmp):
    path = os.path.join(tmp, "stall.aof")
    port = free_port()
    env = dict(os.environ, SMM_ADMIN_TOKEN="bench")
    p = subprocess.Popen([a.server, "--memory", str(64 * a.stall), "--policy", "tlsf", "--aof", path,
                          "--fsync", "everysec", "--aof-rewrite-min", "1T", "--port", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    wait_port(port)
    try:
        fill_blocks(port, a.stall)
        with socket.create_connection(("127.0.0.1", port)) as s:
            assert pipelined(s, [b'{"op":"compact","token":"bench"}\n'])[0]["ok"]
            # Changes while the rewrite runs, for its tail; until it is done.
            while stats(port)["aof_rewrites"] == 0:
                pipelined(s, [b'{"op":"malloc","id":2,"size":8}\n'] * 100)
    finally:
        stop(p)
    m = re.search(r"rewrote the log: (\d+) blocks, (\d+) -> (\d+) bytes; the allocator thread "
                  r"stopped (\d+) us to copy them, (\d+) us to switch", p.stderr.read())
    return tuple(int(x) for x in m.groups())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default=os.path.join(ROOT, "build/server/smm-server"))
    ap.add_argument("--lineload", default=os.path.join(ROOT, "../shared/bench/lineload.c"))
    ap.add_argument("--secs", default=3, type=float)
    ap.add_argument("--rounds", default=3, type=int)
    ap.add_argument("--replay", default=0, type=int)
    ap.add_argument("--stall", default=0, type=int)
    ap.add_argument("--only-stall", action="store_true")
    a = ap.parse_args()
    if a.only_stall:
        tmp = tempfile.mkdtemp(prefix="smm-aof-bench-", dir="/tmp")
        try:
            return print_stall(a, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
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
        if a.stall:
            print_stall(a, tmp)
        print("load after:", os.getloadavg())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def print_stall(a, tmp):
    blocks, before, after, copy_us, switch_us = stall(a, tmp)
    print("rewrite: %d live blocks, log %.1f MB -> %.1f MB; allocator thread stopped %.1f ms "
          "to copy, %.1f ms to switch: %.1f ms per million live blocks at most"
          % (blocks, before / 1e6, after / 1e6, copy_us / 1e3, switch_us / 1e3,
             max(copy_us, switch_us) / 1e3 * 1e6 / blocks))
    return 0


sys.exit(main())
