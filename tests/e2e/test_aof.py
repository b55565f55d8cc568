"""test_aof.py — the append-only log (issue 11): restarts lose nothing.

Real server, real files: restart equality under every policy, kill -9 at
seeded moments during pipelined load, torn and corrupt logs, a full disk,
and rewrites: many during a load, then restart equality; the size after
one; kill -9 during them; compact's errors.
"""
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

from harness import SANITIZED, SERVER, TIMEOUT, Conn, Server
from test_http import get, http_port

TOKEN = "aof-token"
POLICIES = ["bump", "first-fit", "next-fit", "best-fit", "worst-fit", "buddy", "tlsf"]
STATE_FIELDS = ("memory_size", "used", "free", "largest_free", "blocks", "free_extents",
                "leases")
# kill -9 moments: fewer under sanitizers, whose start-up alone takes a second.
CRASH_MOMENTS = 8 if SANITIZED else 20


def start(path, *args, fsync="always", memory="4096", policy="first-fit"):
    return Server("--aof", path, "--fsync", fsync, "--memory", memory, "--policy", policy,
                  *args, env={"SMM_ADMIN_TOKEN": TOKEN})


def state(server):
    """The whole state a client can see: memory, blocks (lease time left
    rounded away) and the arena's counters."""
    c = server.connect()
    d = c.call({"op": "dump", "blocks": True})
    s = c.call({"op": "stats"})
    c.close()
    blocks = [(b["addr"], b["size"], b["id"], "ttl_ms" in b, b.get("scope"))
              for b in d["blocks"]]
    return d["memory"], blocks, {k: s[k] for k in STATE_FIELDS}


def released(conn):
    """Wait until no connection-scoped block is left (a closed connection's
    release has run)."""
    def scoped_left():
        d = conn.call({"op": "dump", "blocks": True})
        return any(b.get("scope") == "connection" for b in d["blocks"])
    deadline = time.monotonic() + TIMEOUT
    while scoped_left():
        if time.monotonic() > deadline:
            raise AssertionError("the scoped block was not released")
        time.sleep(0.01)


def records(path):
    """Offsets at which each record of the log at path starts, and its end."""
    with open(path, "rb") as f:
        data = f.read()
    offs, at = [], 0
    while at + 8 <= len(data):
        n = struct.unpack_from("<I", data, at)[0]
        offs.append(at)
        at += 8 + n
    return offs, len(data)


def check_aof(path, *extra):
    p = subprocess.run([SERVER, "--check-aof", path, *extra], capture_output=True,
                       text=True, timeout=TIMEOUT * 3)
    return p.returncode, p.stdout + p.stderr


def failed_start(path, *args):
    """Start a server that must refuse; return (status, stderr)."""
    p = subprocess.run([SERVER, "--port", "0", "--aof", path, "--memory", "4096",
                        "--policy", "first-fit", *args], capture_output=True, text=True,
                       timeout=TIMEOUT * 3)
    return p.returncode, p.stderr


class Dir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="smm-aof-")
        self.path = os.path.join(self.dir, "smm.aof")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait(TIMEOUT)
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, *args, **kw):
        s = start(self.path, *args, **kw)
        self.servers.append(s)
        return s

    def stop(self, s):
        status, log = s.stop()
        self.assertEqual(status, 0, log)
        self.assertNotIn("Sanitizer", log)
        self.assertNotIn("runtime error:", log)
        return log


def random_mix(conn, rng, n, live):
    """n seeded random changes; keeps {addr: key} of the live blocks in live."""
    for _ in range(n):
        r = rng.random()
        if r < 0.45 or not live:
            req = {"op": "malloc", "id": rng.randrange(100), "size": rng.randrange(1, 90)}
            if rng.random() < 0.3:
                req["ttl_ms"] = rng.choice([3600000, 7200000])
            rep = conn.call(req)
            if rep.get("ok"):
                live[rep["addr"]] = rep["key"]
            continue
        addr = rng.choice(sorted(live))
        key = live[addr]
        if r < 0.65:
            req = {"op": "fill", "addr": addr, "key": key}
            if rng.random() < 0.5:
                req["char"] = rng.choice("xyz#@")
        elif r < 0.85:
            req = {"op": "free", "addr": addr, "key": key}
            del live[addr]
        elif r < 0.9:
            req = {"op": "free", "addr": addr, "token": TOKEN}
            del live[addr]
        elif r < 0.99:
            req = {"op": "renew", "addr": addr, "key": key, "ttl_ms": rng.choice([0, 3600000])}
        else:
            req = {"op": "reset", "token": TOKEN}
            live.clear()
        rep = conn.call(req)
        assert rep.get("ok"), (req, rep)


class RestartTest(Dir):
    def test_restart_equality_every_policy(self):
        for policy in POLICIES:
            with self.subTest(policy=policy):
                if os.path.exists(self.path):
                    os.unlink(self.path)
                s = self.start(policy=policy, fsync="no")
                c = s.connect()
                scoped = s.connect()
                # A connection-scoped block interleaved with the rest: its
                # release must replay at the same point, so later placement
                # still matches.
                self.assertTrue(scoped.call({"op": "malloc", "id": 7, "size": 33,
                                             "scope": "connection"})["ok"])
                live = {}
                random_mix(c, random.Random(policy), 150, live)
                scoped.close()
                # The release runs on the loop that owns scoped, which with
                # several loops (SMM_IO_THREADS) need not keep pace with c's.
                released(c)
                random_mix(c, random.Random(policy + "2"), 150, live)
                held = s.connect()
                self.assertTrue(held.call({"op": "malloc", "id": 8, "size": 5,
                                           "scope": "connection"})["ok"])
                before = state(s)
                c.close()
                self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
                self.stop(s)
                held.close()
                s = self.start(policy=policy, fsync="no")
                self.assertRegex(s.log, r"aof: loaded \d+ records \(\d+ blocks\) in \d+ ms")
                after = state(s)
                # Only the block of the connection still open at the stop is gone.
                gone = [b for b in before[1] if b not in after[1]]
                self.assertEqual(len(gone), 1)
                self.assertEqual(gone[0][2], 8)
                self.assertEqual(after[1], [b for b in before[1] if b != gone[0]])
                self.assertEqual(after[2]["blocks"], before[2]["blocks"] - 1)
                c = s.connect()
                for addr, key in live.items():
                    rep = c.call({"op": "fill", "addr": addr, "key": key, "char": "k"})
                    self.assertTrue(rep.get("ok"), (policy, addr, rep))
                c.close()
                # A second restart (with the release of the held block now in
                # the log) gives the state just left.
                left = state(s)
                self.stop(s)
                s = self.start(policy=policy, fsync="no")
                self.assertEqual(state(s), left)
                self.stop(s)

    def test_lease_ends_while_down(self):
        s = self.start(fsync="no")
        c = s.connect()
        short = c.call({"op": "malloc", "id": 1, "size": 10, "ttl_ms": 300})
        long_ = c.call({"op": "malloc", "id": 2, "size": 10, "ttl_ms": 3600000})
        c.close()
        self.stop(s)
        deadline = time.monotonic() + TIMEOUT
        time.sleep(0.4)  # outlive the 300 ms lease while no server runs
        s = self.start(fsync="no")
        c = s.connect()
        while time.monotonic() < deadline:
            d = c.call({"op": "dump", "blocks": True})
            if len(d["blocks"]) == 1:
                break
        self.assertEqual([b["addr"] for b in d["blocks"]], [long_["addr"]])
        self.assertGreater(d["blocks"][0]["ttl_ms"], 3500000)
        self.assertEqual(c.call({"op": "fill", "addr": short["addr"], "key": short["key"]})
                         ["error"], "bad_addr")
        c.close()
        self.stop(s)
        s = self.start(fsync="no")
        self.assertEqual(len(state(s)[1]), 1)
        self.stop(s)

    def test_flags_and_other_arena(self):
        status, err = failed_start(self.path, "--fsync", "sometimes")
        self.assertEqual(status, 2)
        self.assertIn("--fsync", err)
        p = subprocess.run([SERVER, "--fix"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--fix goes with --check-aof", p.stderr)
        s = self.start()
        c = s.connect()
        c.call({"op": "malloc", "id": 1, "size": 1})
        c.close()
        self.stop(s)
        status, err = failed_start(self.path, "--policy", "buddy")
        self.assertEqual(status, 1)
        self.assertIn("written for --memory 4096 --align 1 --filler . --policy first-fit", err)
        status, out = check_aof(os.path.join(self.dir, "missing"))
        self.assertEqual(status, 1)
        self.assertIn("cannot read", out)


class CrashTest(Dir):
    def load_until_kill(self, s, rng, kill_after):
        """Pipelined mallocs and frees (16 in flight) until kill_after
        replies came, then kill -9; returns what was sent and acknowledged."""
        c = s.connect()
        sent, acked_mallocs, acked_frees, pending, live = {}, {}, set(), [], []
        sent_frees = set()
        seq, replies, killed = 0, 0, False
        while True:
            while not killed and len(pending) < 16:
                seq += 1
                if live and rng.random() < 0.3:
                    addr, key, i = live.pop(rng.randrange(len(live)))
                    req = {"op": "free", "addr": addr, "key": key}
                    pending.append(("free", i))
                    sent_frees.add(i)
                else:
                    req = {"op": "malloc", "id": seq, "size": rng.randrange(1, 64)}
                    sent[seq] = req
                    pending.append(("malloc", seq))
                c.send(json.dumps(req) + "\n")
            try:
                rep = c.reply()
            except (AssertionError, OSError):
                break
            kind, i = pending.pop(0)
            replies += 1
            if kind == "malloc" and rep.get("ok"):
                acked_mallocs[i] = (rep["addr"], rep["key"], rep["size"])
                live.append((rep["addr"], rep["key"], i))
            elif kind == "free":
                self.assertTrue(rep.get("ok"), rep)
                acked_frees.add(i)
            if replies == kill_after:
                s.proc.send_signal(signal.SIGKILL)
                killed = True
        c.close()
        s.stop()
        return sent, acked_mallocs, acked_frees, sent_frees

    def test_kill_9_during_load_fsync_always(self):
        rng = random.Random(11)
        for moment in range(CRASH_MOMENTS):
            with self.subTest(moment=moment):
                policy = POLICIES[moment % len(POLICIES)]
                if os.path.exists(self.path):
                    os.unlink(self.path)
                s = self.start(policy=policy, memory="65536")
                sent, acked, freed, maybe = self.load_until_kill(s, rng, rng.randrange(20, 1500))
                s = self.start(policy=policy, memory="65536")
                _, blocks, _ = state(s)
                by_id = {b[2]: b for b in blocks}
                for i, (addr, key, size) in acked.items():
                    if i in freed:
                        self.assertNotIn(i, by_id, "acknowledged free undone")
                    elif i in maybe and i not in by_id:
                        continue  # its free was sent; the kill came before the reply
                    else:
                        self.assertEqual(by_id.get(i), (addr, size, i, False, None),
                                         "acknowledged malloc lost")
                for i in by_id:
                    self.assertIn(i, sent, "a block nobody asked for")
                c = s.connect()
                for i, (addr, key, size) in list(acked.items())[:50]:
                    if i in by_id:
                        self.assertTrue(c.call({"op": "fill", "addr": addr, "key": key})["ok"])
                c.close()
                self.stop(s)

    def test_kill_9_fsync_everysec_loses_at_most_a_second(self):
        # kill -9 leaves what was written in the page cache, so nothing
        # acknowledged may be lost; that the thread syncs every second is
        # seen in aof_last_fsync_ms_ago under load.
        rng = random.Random(12)
        s = self.start(fsync="everysec", memory="1M")
        c = s.connect()
        t0, worst = time.monotonic(), 0
        while time.monotonic() - t0 < 2.5:
            c.call({"op": "malloc", "id": 1, "size": 1})
            worst = max(worst, c.call({"op": "stats"})["aof_last_fsync_ms_ago"])
        self.assertLess(worst, 1000 + (3000 if SANITIZED else 800))
        self.assertTrue(c.call({"op": "reset", "token": TOKEN})["ok"])
        c.close()
        sent, acked, freed, maybe = self.load_until_kill(s, rng, 800)
        s = self.start(fsync="everysec", memory="1M")
        ids = {b[2] for b in state(s)[1]}
        self.assertEqual({i for i in acked if i not in maybe} - ids, set())
        self.stop(s)


class DamageTest(Dir):
    def make_log(self):
        s = self.start(fsync="no")
        c = s.connect()
        a = c.call({"op": "malloc", "id": 1, "size": 100})
        b = c.call({"op": "malloc", "id": 2, "size": 50, "ttl_ms": 3600000})
        d = c.call({"op": "malloc", "id": 3, "size": 10})
        e = c.call({"op": "malloc", "id": 4, "size": 10})
        self.assertTrue(c.call({"op": "fill", "addr": a["addr"], "key": a["key"]})["ok"])
        self.assertTrue(c.call({"op": "fill", "addr": b["addr"], "key": b["key"],
                                "char": "#"})["ok"])
        self.assertTrue(c.call({"op": "free", "addr": d["addr"], "key": d["key"]})["ok"])
        self.assertTrue(c.call({"op": "free", "addr": e["addr"], "token": TOKEN})["ok"])
        c.close()
        self.stop(s)
        with open(self.path, "rb") as f:
            return f.read()

    def state_of(self, data):
        with open(self.path, "wb") as f:
            f.write(data)
        s = self.start(fsync="no")
        st = state(s)
        self.stop(s)
        return st, s.log

    def test_torn_tail_every_offset_of_last_three_records(self):
        data = self.make_log()
        offs, end = records(self.path)
        self.assertEqual(end, len(data))
        bounds = offs[-4:] + [end]
        expected = {b: self.state_of(data[:b])[0] for b in bounds[:-1]}
        for cut in range(bounds[0], end):
            with self.subTest(cut=cut):
                whole = max(b for b in bounds[:-1] if b <= cut)
                st, log = self.state_of(data[:cut])
                self.assertEqual(st, expected[whole])
                if cut != whole:
                    self.assertIn("torn last record at offset %d; truncated %d bytes"
                                  % (whole, cut - whole), log)
        self.assertEqual(self.state_of(data)[0][1][-1][2], 2)

    def test_flipped_byte_in_a_middle_record(self):
        data = self.make_log()
        offs, end = records(self.path)
        bad = offs[len(offs) // 2]
        broken = bytearray(data)
        broken[bad + 12] ^= 0x40
        with open(self.path, "wb") as f:
            f.write(broken)
        status, err = failed_start(self.path)
        self.assertEqual(status, 1)
        self.assertIn("%s: damaged at offset %d: checksum mismatch" % (self.path, bad), err)
        status, out = check_aof(self.path)
        self.assertEqual(status, 1)
        self.assertIn("damaged at offset %d" % bad, out)
        self.assertIn("%d bytes from there on" % (end - bad), out)
        status, out = check_aof(self.path, "--fix")
        self.assertEqual(status, 0, out)
        self.assertIn("truncating to %d bytes: %d bytes lost" % (bad, end - bad), out)
        self.assertEqual(os.path.getsize(self.path), bad)
        self.assertEqual(check_aof(self.path)[0], 0)
        self.assertEqual(self.state_of(bytes(broken[:bad]))[0],
                         self.state_of(data[:bad])[0])

    def test_impossible_record(self):
        data = bytearray(self.make_log())
        offs, _ = records(self.path)
        at = offs[2]
        # A valid checksum over a record of an unknown type.
        payload = bytes([99]) + bytes(16)
        data[at:at] = struct.pack("<II", len(payload), crc32c(payload)) + payload
        with open(self.path, "wb") as f:
            f.write(data)
        status, err = failed_start(self.path)
        self.assertEqual(status, 1)
        self.assertIn("damaged at offset %d: record of unknown type 99" % at, err)


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


class DiskFullTest(Dir):
    def test_full_disk_unavailable_then_recovers(self):
        mnt = os.path.join(self.dir, "small")
        os.mkdir(mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt],
                           capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode != 0:
            self.skipTest("cannot mount a 256k tmpfs (needs root): %s" % p.stderr.strip())
        try:
            self.full_disk(mnt)
        finally:
            # A server still holding the log would keep the mount busy.
            for server in self.servers:
                if server.proc.poll() is None:
                    server.proc.kill()
                    server.proc.wait(TIMEOUT)
            subprocess.run(["umount", mnt], timeout=TIMEOUT)

    def full_disk(self, mnt):
        self.path = os.path.join(mnt, "smm.aof")
        ballast = os.path.join(mnt, "ballast")
        with open(ballast, "wb") as f:
            f.write(b"x" * (256 * 1024 - 8192))
        s = self.start("--http-port", "0", memory="1M")
        web = http_port(s)
        self.assertEqual(get(web, "/healthz")[0], 200)
        c = s.connect()
        acked, refused = {}, None
        for i in range(2000):
            rep = c.call({"op": "malloc", "id": i, "size": 3})
            if rep.get("ok"):
                acked[i] = rep
            else:
                refused = rep
                break
        self.assertIsNotNone(refused, "the log never filled the disk")
        self.assertEqual(refused["error"], "unavailable", (refused, s.log))
        self.assertIn("No space left on device", refused["message"], s.log)
        # Reads go on; changes are refused while the disk is full.
        self.assertTrue(c.call({"op": "ping"})["ok"])
        self.assertTrue(c.call({"op": "dump", "length": 10})["ok"])
        self.assertGreater(c.call({"op": "stats"})["aof_errors"], 0)
        # A load balancer sees it too: /healthz fails while changes are refused.
        status, _, body = get(web, "/healthz")
        self.assertEqual((status, body), (503, "the append-only log cannot be written\n"))
        self.assertEqual(c.call({"op": "malloc", "id": 1, "size": 1}).get("error"), "unavailable",
                         s.log)
        os.unlink(ballast)
        deadline = time.monotonic() + TIMEOUT
        while True:
            rep = c.call({"op": "malloc", "id": 5000, "size": 3})
            if rep.get("ok") or time.monotonic() > deadline:
                break
        self.assertTrue(rep.get("ok"), (rep, s.log))
        acked[5000] = rep
        self.assertEqual(get(web, "/healthz")[:3:2], (200, "ok\n"))
        c.close()
        # The warning reaches the harness through the server's stderr, which
        # a reader thread collects: wait for it rather than race the replies.
        self.assertIsNotNone(s.wait_log("aof: cannot write the log: No space left on device"), s.log)
        self.stop(s)
        s = self.start(memory="1M")
        blocks = {b[2]: b for b in state(s)[1]}
        for i, rep in acked.items():
            self.assertEqual(blocks.get(i), (rep["addr"], 3, i, False, None), s.log)
        self.stop(s)


BLOCK_RECORD = 58  # bytes a rewritten log takes per live block, and for its config record


def pipelined_mix(conn, rng, n, live, window=16):
    """n seeded random changes, window in flight at once; keeps {addr: key}
    of the live blocks in live. A change is only picked for a block whose
    malloc was answered, so none of them can fail."""
    pending, busy = [], set()
    for _ in range(n):
        free = [a for a in live if a not in busy]
        r = rng.random()
        if r < 0.5 or not free:
            req = {"op": "malloc", "id": rng.randrange(100), "size": rng.randrange(1, 60)}
            if rng.random() < 0.2:
                req["ttl_ms"] = 3600000
        else:
            addr = rng.choice(sorted(free))
            busy.add(addr)
            req = {"op": "fill" if r < 0.7 else "free", "addr": addr, "key": live[addr]}
            if r < 0.6:
                req["char"] = rng.choice("xyz")
        conn.send(json.dumps(req) + "\n")
        pending.append(req)
        while len(pending) >= window or (pending and len(pending) == n):
            collect(conn, pending, live, busy)
    while pending:
        collect(conn, pending, live, busy)


def collect(conn, pending, live, busy):
    req, rep = pending.pop(0), conn.reply()
    assert rep.get("ok") or (req["op"] == "malloc" and rep["error"] == "no_memory"), (req, rep)
    if req["op"] == "malloc" and rep.get("ok"):
        live[rep["addr"]] = rep["key"]
    elif req["op"] == "free":
        del live[req["addr"]]
    busy.discard(req.get("addr"))


def wait_rewrites(conn, at_least):
    """Poll stats until aof_rewrites reaches at_least; return the stats."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        st = conn.call({"op": "stats"})
        if st["aof_rewrites"] >= at_least or time.monotonic() > deadline:
            return st


class RewriteTest(Dir):
    def test_rewrites_under_load_then_restart_equality(self):
        for policy in POLICIES:
            with self.subTest(policy=policy):
                if os.path.exists(self.path):
                    os.unlink(self.path)
                s = self.start("--aof-rewrite-min", "64K", policy=policy, fsync="everysec",
                               memory="256K")
                c = s.connect()
                rng, live = random.Random("rw" + policy), {}
                for _ in range(4):
                    # Rewrites start as the log grows; then one by hand,
                    # which finishes while more load runs.
                    pipelined_mix(c, rng, 1200, live)
                    done = c.call({"op": "stats"})["aof_rewrites"]
                    self.assertEqual(c.call({"op": "compact", "token": TOKEN}), {"ok": True})
                    pipelined_mix(c, rng, 300, live)
                    st = wait_rewrites(c, done + 1)
                    self.assertGreater(st["aof_rewrites"], done, s.log)
                self.assertGreaterEqual(st["aof_rewrites"], 4, s.log)
                self.assertEqual(st["aof_errors"], 0)
                before = state(s)
                c.close()
                log = self.stop(s)
                self.assertRegex(log, r"aof: rewrote the log: \d+ blocks, \d+ -> \d+ bytes")
                self.assertFalse(os.path.exists(self.path + ".rewrite"))
                s = self.start("--aof-rewrite-min", "64K", policy=policy, fsync="everysec",
                               memory="256K")
                self.assertEqual(state(s), before)
                c = s.connect()
                for addr, key in live.items():
                    rep = c.call({"op": "fill", "addr": addr, "key": key, "char": "k"})
                    self.assertTrue(rep.get("ok"), (policy, addr, rep))
                # Changes after a restart from a rewritten log replay too.
                pipelined_mix(c, rng, 300, live)
                left = state(s)
                c.close()
                self.stop(s)
                s = self.start(policy=policy, fsync="everysec", memory="256K")
                self.assertEqual(state(s), left)
                self.stop(s)

    def test_size_after_rewrite_is_proportional_to_live_blocks(self):
        s = self.start(memory="1M", fsync="no")
        c = s.connect()
        live, sizes = {}, []
        for want in (300, 600):
            while len(live) < want:  # churn: five changes per block kept
                for _ in range(4):
                    rep = c.call({"op": "malloc", "id": 1, "size": 7})
                    self.assertTrue(c.call({"op": "fill", "addr": rep["addr"],
                                            "key": rep["key"]})["ok"])
                    self.assertTrue(c.call({"op": "free", "addr": rep["addr"],
                                            "key": rep["key"]})["ok"])
                rep = c.call({"op": "malloc", "id": 2, "size": 5, "ttl_ms": 3600000})
                live[rep["addr"]] = rep["key"]
            grown = c.call({"op": "stats"})["aof_size"]
            done = c.call({"op": "stats"})["aof_rewrites"] + 1
            self.assertEqual(c.call({"op": "compact", "token": TOKEN}), {"ok": True})
            st = wait_rewrites(c, done)
            self.assertEqual(st["aof_rewrites"], done, s.log)
            self.assertEqual(st["aof_size"], BLOCK_RECORD * (1 + want))
            self.assertEqual(os.path.getsize(self.path), st["aof_size"])
            self.assertLess(st["aof_size"] * 4, grown)
            sizes.append(st["aof_size"] - BLOCK_RECORD)
        self.assertEqual(sizes[1], 2 * sizes[0])
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
        c.close()
        self.stop(s)
        status, out = check_aof(self.path)
        self.assertEqual(status, 0, out)
        self.assertIn("601 good records, %d bytes, 600 live blocks" % (BLOCK_RECORD * 601), out)

    def test_kill_9_during_rewrites_leaves_a_log_that_replays(self):
        rng = random.Random(21)
        for moment in range(4 if SANITIZED else 8):
            with self.subTest(moment=moment):
                if os.path.exists(self.path):
                    os.unlink(self.path)
                s = self.start("--aof-rewrite-min", "16K", memory="1M", fsync="always",
                               policy=POLICIES[moment % len(POLICIES)])
                c = s.connect()
                live = {}
                pipelined_mix(c, rng, 2000, live)
                # Rewrites start and finish during this load: kill -9 at a
                # seeded moment of it, with a compact asked just before.
                c.send(json.dumps({"op": "compact", "token": TOKEN}) + "\n")
                self.assertEqual(c.reply(), {"ok": True})
                pipelined_mix(c, rng, rng.randrange(0, 400), live)
                before = state(s)
                s.proc.send_signal(signal.SIGKILL)
                c.close()
                s.stop()
                s = self.start("--aof-rewrite-min", "16K", memory="1M", fsync="always",
                               policy=POLICIES[moment % len(POLICIES)])
                self.assertEqual(state(s)[:2], before[:2], s.log)
                self.assertFalse(os.path.exists(self.path + ".rewrite"))
                self.stop(s)

    def test_unfinished_rewrite_is_removed_and_the_old_log_kept(self):
        s = self.start(fsync="no")
        c = s.connect()
        rep = c.call({"op": "malloc", "id": 3, "size": 10})
        c.close()
        before = state(s)
        self.stop(s)
        with open(self.path, "rb") as f:
            old = f.read()
        with open(self.path + ".rewrite", "wb") as f:
            f.write(old[:len(old) // 2])  # a rewrite cut short before its rename
        s = self.start(fsync="no")
        self.assertIn("aof: removed %s.rewrite, left by a rewrite that did not finish"
                      % self.path, s.log)
        self.assertFalse(os.path.exists(self.path + ".rewrite"))
        self.assertEqual(state(s), before)
        c = s.connect()
        self.assertTrue(c.call({"op": "fill", "addr": rep["addr"], "key": rep["key"]})["ok"])
        c.close()
        self.stop(s)

    def test_compact_errors(self):
        s = self.start()
        c = s.connect()
        self.assertEqual(c.call({"op": "compact"})["error"], "bad_request")
        self.assertEqual(c.call({"op": "compact", "token": "wrong"}),
                         {"ok": False, "error": "forbidden",
                          "message": "wrong or missing admin token"})
        # The new log's file cannot be made: unavailable, and the log stays.
        os.mkdir(self.path + ".rewrite")
        rep = c.call({"op": "compact", "token": TOKEN})
        self.assertEqual(rep["error"], "unavailable")
        self.assertIn("cannot create %s.rewrite: Is a directory" % self.path, rep["message"])
        self.assertTrue(c.call({"op": "malloc", "id": 1, "size": 1})["ok"])
        self.assertEqual(c.call({"op": "stats"})["aof_rewrites"], 0)
        c.close()
        self.stop(s)
        os.rmdir(self.path + ".rewrite")
        # No log, or no admin token configured.
        plain = Server(env={"SMM_ADMIN_TOKEN": TOKEN})
        self.servers.append(plain)
        c = plain.connect()
        self.assertEqual(c.call({"op": "compact", "token": TOKEN}),
                         {"ok": False, "error": "bad_request",
                          "message": "this server keeps no log (see --aof)"})
        c.close()
        self.stop(plain)
        bare = Server("--aof", self.path, "--memory", "4096", "--policy", "first-fit")
        self.servers.append(bare)
        c = bare.connect()
        self.assertEqual(c.call({"op": "compact", "token": TOKEN}),
                         {"ok": False, "error": "forbidden",
                          "message": "the server has no admin token configured"})
        c.close()
        self.stop(bare)

    def test_automatic_rewrite_that_cannot_start_is_logged_and_counted(self):
        os.mkdir(self.path + ".rewrite")
        s = self.start("--aof-rewrite-min", "4K", fsync="no")
        c = s.connect()
        for i in range(200):
            self.assertTrue(c.call({"op": "malloc", "id": 1, "size": 1})["ok"])
        self.assertTrue(s.wait_log(r"aof: cannot rewrite the log: cannot create \S+\.rewrite"))
        st = c.call({"op": "stats"})
        self.assertGreater(st["aof_errors"], 0)
        self.assertEqual(st["aof_rewrites"], 0)
        c.close()
        self.stop(s)
        status, err = failed_start(self.path, "--aof-rewrite-min", "0")
        self.assertEqual(status, 2)
        self.assertIn("--aof-rewrite-min", err)


if __name__ == "__main__":
    unittest.main()
