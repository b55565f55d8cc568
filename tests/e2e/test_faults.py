"""test_faults.py — hostile and unlucky clients against the real server.

Each test breaks a connection in one way (vanishing with requests queued,
half-closing, resetting mid-reply, churning a thousand connections,
SIGTERM under load) and then proves the server lost nothing: it answers
ping, holds no stray connection, job or descriptor, and its accounting is
exact: stats.used is the sum of the live blocks that dump lists, and
stats.blocks their number.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import unittest

from harness import SANITIZED, TIMEOUT, Conn, ServerTest

# dump returns at most this many bytes of memory per reply.
DUMP_WINDOW = 1024 * 1024


def line(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def raw_socket(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def abort(sock):
    """Close with SO_LINGER 0: the peer gets a RST, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def send_some(sock, data):
    """Send what the kernel takes without blocking; return the byte count."""
    sock.setblocking(False)
    sent = 0
    try:
        while sent < len(data):
            sent += sock.send(data[sent:sent + 65536])
    except (BlockingIOError, InterruptedError):
        pass
    finally:
        sock.settimeout(TIMEOUT)
    return sent


def poll(what, fn, timeout=TIMEOUT):
    """Call fn until it returns a true value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError("%s: not within %.0fs (last: %r)" % (what, timeout, last))


def live_blocks(conn, memory_size):
    """Every live block, from dumps windowed across the whole arena."""
    blocks, offset = {}, 0
    while offset < memory_size:
        r = conn.call({"op": "dump", "offset": offset, "length": DUMP_WINDOW,
                       "blocks": True})
        assert r["ok"], r
        for b in r["blocks"]:
            blocks[b["addr"]] = b
        if r["length"] == 0:
            break
        offset += r["length"]
    return [blocks[a] for a in sorted(blocks)]


def check_accounting(test, conn):
    """The server answers ping and its counters match its blocks exactly.
    Returns (stats, blocks). Call only when no other client is active."""
    test.assertEqual(conn.call({"op": "ping", "tag": "alive"}), {"ok": True, "tag": "alive"})
    stats = conn.call({"op": "stats"})
    test.assertTrue(stats["ok"], stats)
    blocks = live_blocks(conn, stats["memory_size"])
    test.assertEqual(stats["used"], sum(b["size"] for b in blocks), blocks)
    test.assertEqual(stats["blocks"], len(blocks))
    test.assertEqual(stats["free"], stats["memory_size"] - stats["used"])
    for a, b in zip(blocks, blocks[1:]):
        test.assertLessEqual(a["addr"] + a["size"], b["addr"], "blocks overlap")
    again = conn.call({"op": "stats"})
    test.assertEqual((again["used"], again["blocks"]), (stats["used"], stats["blocks"]))
    return stats, blocks


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class FaultTest(ServerTest):
    """ServerTest plus the checks every fault test ends with."""

    def setUp(self):
        super().setUp()
        self.stopped = None

    def tearDown(self):
        if self.stopped is None:
            super().tearDown()
            return
        # The test stopped the server itself; only check how it ended.
        for c in self.conns:
            c.close()
        status, log = self.stopped
        self.assertEqual(status, 0, log)
        self.assertNotIn("ERROR: AddressSanitizer", log)
        self.assertNotIn("WARNING: ThreadSanitizer", log)
        self.assertNotIn("runtime error:", log)

    def quiesce(self, conn):
        """Wait until conn is the only connection and no job is in flight;
        return a stats taken after that."""
        def idle():
            s = conn.call({"op": "stats"})
            return s if s["connections"] == 1 and s["queue_depth"] == 0 else None
        poll("server back to one idle connection", idle)
        # A stats reply's allocator part is taken when the allocator runs
        # it and its loop part when the loop writes it: another loop's job
        # (or, on one loop, one of the same batch) can finish in between.
        # Every other job ended before the idle reply, so this one sees all.
        return conn.call({"op": "stats"})

    def fds_with(self, conn):
        """The server's descriptor count once conn is surely accepted."""
        self.assertEqual(conn.call({"op": "ping"}), {"ok": True})
        return fd_count(self.server.proc.pid)

    def settle_fds(self, baseline):
        """Wait until the server holds no more descriptors than baseline."""
        pid = self.server.proc.pid
        poll("descriptors back to %d" % baseline, lambda: fd_count(pid) <= baseline)


class Baseline(FaultTest):
    """The check every fault test ends with, on an untouched server."""

    server_args = ("--memory", "3M")

    def test_empty_arena_accounts_exactly(self):
        conn = self.connect()
        # A dump window without blocks lists none (and must not trip UBSan:
        # qsort(NULL, 0) in smm_arena_blocks did).
        r = conn.call({"op": "dump", "offset": 0, "length": 8, "blocks": True})
        self.assertEqual((r["ok"], r["blocks"], r["memory"]), (True, [], "........"))
        stats, blocks = check_accounting(self, conn)
        self.assertEqual((stats["used"], stats["blocks"], blocks), (0, 0, []))
        b = conn.call({"op": "malloc", "id": 1, "size": 10})
        stats, blocks = check_accounting(self, conn)  # later windows are empty
        self.assertEqual(blocks, [{"addr": b["addr"], "size": b["size"], "id": 1}])
        self.assertEqual(stats["used"], b["size"])


class DisconnectWithQueuedRequests(FaultTest):
    # Small output limit so the victim's reading pauses with its pipeline
    # still queued; small queue so jobs pile up waiting for the allocator.
    server_args = ("--memory", "4M", "--max-output", "65536", "--queue-depth", "16")

    def test_vanish_while_paused_with_pipeline_queued(self):
        checker = self.connect()
        fds = self.fds_with(checker)
        granted = 0
        for abortive in (True, False, True, False):
            paused = checker.call({"op": "stats"})["output_paused"]
            victim = raw_socket(self.server.port)
            pipeline = line({"op": "malloc", "id": 7, "size": 100}) * 50
            pipeline += line({"op": "dump", "length": 262144}) * 5000
            self.assertGreater(send_some(victim, pipeline), 50 * 40)
            granted += 50
            # The server has granted the 50 mallocs, written dump replies
            # the victim does not read, and stopped reading its pipeline.
            def stuck():
                s = checker.call({"op": "stats"})
                return s["output_paused"] > paused and s["granted"] == granted
            poll("victim paused for unread output", stuck)
            abort(victim) if abortive else victim.close()
            stats = self.quiesce(checker)
            self.assertEqual(stats["granted"], granted)
            self.assertEqual(stats["blocks"], granted)
            self.assertEqual(stats["used"], granted * 100)
            check_accounting(self, checker)
        self.settle_fds(fds)

    def test_vanish_with_jobs_in_flight(self):
        checker = self.connect()
        fds = self.fds_with(checker)
        for i in range(30):
            victim = raw_socket(self.server.port)
            pipeline = line({"op": "malloc", "id": i, "size": 10}) * 3
            pipeline += line({"op": "dump", "length": DUMP_WINDOW, "blocks": True}) * 100
            send_some(victim, pipeline)
            # The first reply is out: the dumps behind it are in the
            # allocator's hands when the victim goes.
            self.assertTrue(victim.recv(1))
            abort(victim) if i % 2 else victim.close()
        stats = self.quiesce(checker)
        # Every grant that happened is a live, accounted block.
        self.assertEqual(stats["blocks"], stats["granted"])
        self.assertGreaterEqual(stats["granted"], 30)
        check_accounting(self, checker)
        self.settle_fds(fds)


class HalfClose(FaultTest):
    server_args = ("--memory", "64K", "--queue-depth", "8", "--max-output", "4096")

    def test_shut_wr_gets_every_reply_then_eof(self):
        n = 3000
        reqs, expect = [], []
        for i in range(n):
            kind = i % 5
            if kind == 0:
                reqs.append({"op": "malloc", "id": i % 62, "size": 1 + i % 7, "tag": i})
                expect.append(("malloc", i))
            elif kind == 1:
                reqs.append({"op": "ping", "tag": i})
                expect.append(("ping", i))
            elif kind == 2:
                reqs.append("not json %d" % i)
                expect.append(("bad_json", None))
            elif kind == 3:
                reqs.append({"op": "stats", "tag": i})
                expect.append(("stats", i))
            else:
                reqs.append({"op": "dump", "length": 64, "tag": i})
                expect.append(("dump", i))
        data = b"".join(line(r) if isinstance(r, dict) else (r + "\n").encode()
                        for r in reqs)
        data = data[:-1]  # the last line ends at the half-close, not at "\n"
        sock = raw_socket(self.server.port)
        errors = []

        def sender():
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                errors.append(e)

        t = threading.Thread(target=sender)
        t.start()
        replies, buf = [], b""
        deadline = time.monotonic() + TIMEOUT * 3
        while True:
            self.assertLess(time.monotonic(), deadline, "replies stalled at %d" % len(replies))
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            chunk = sock.recv(65536)  # a reset raises here and fails the test
            if not chunk:
                break
            buf += chunk
            *done, buf = buf.split(b"\n")
            replies += [json.loads(x) for x in done]
        t.join(TIMEOUT)
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual(buf, b"", "EOF in the middle of a reply line")
        self.assertEqual(len(replies), n)
        keys = []
        for (kind, tag), r in zip(expect, replies):
            if kind == "bad_json":
                self.assertEqual((r["ok"], r["error"]), (False, "bad_json"), r)
                self.assertNotIn("tag", r)
                continue
            self.assertEqual(r.get("tag"), tag, r)
            self.assertTrue(r["ok"], r)
            if kind == "malloc":
                keys.append((r["addr"], r["key"]))
        sock.close()
        # Everything the half-closed client got is really its own.
        conn = self.connect()
        self.quiesce(conn)
        for addr, key in keys:
            self.assertTrue(conn.call({"op": "free", "addr": addr, "key": key})["ok"])
        stats, blocks = check_accounting(self, conn)
        self.assertEqual((stats["used"], blocks), (0, []))


class ResetMidReply(FaultTest):
    server_args = ("--memory", "8M")

    def test_rst_while_big_dump_is_written(self):
        owner = self.connect()
        big = owner.call({"op": "malloc", "id": 5, "size": 4 * 1024 * 1024})
        self.assertTrue(big["ok"], big)
        self.assertTrue(owner.call({"op": "fill", "addr": big["addr"], "key": big["key"]})["ok"])
        fds = self.fds_with(owner)
        for i in range(10):
            victim = raw_socket(self.server.port)
            victim.sendall(line({"op": "dump", "length": DUMP_WINDOW, "blocks": True}) * 8)
            got = b""
            while len(got) < 10000:  # the server is mid-way through a reply
                chunk = victim.recv(10000 - len(got))
                self.assertTrue(chunk)
                got += chunk
            self.assertTrue(got.startswith(b'{"ok":true'), got[:80])
            abort(victim)
        self.quiesce(owner)
        self.settle_fds(fds)
        stats, blocks = check_accounting(self, owner)
        self.assertEqual([(b["addr"], b["size"], b["id"]) for b in blocks],
                         [(big["addr"], big["size"], 5)])
        self.assertTrue(owner.call({"op": "free", "addr": big["addr"], "key": big["key"]})["ok"])
        self.assertEqual(check_accounting(self, owner)[0]["used"], 0)


class ConnectionChurn(FaultTest):
    server_args = ("--memory", "1M")

    def test_thousand_connections_open_and_close(self):
        checker = self.connect()
        fds = self.fds_with(checker)
        port = self.server.port
        # A hundred at once first, closed together.
        crowd = [raw_socket(port) for _ in range(100)]
        poll("crowd accepted", lambda: checker.call({"op": "stats"})["connections"] == 101)
        for i, s in enumerate(crowd):
            abort(s) if i % 2 else s.close()
        mallocs = 0
        for i in range(1000):
            s = raw_socket(port)
            kind = i % 5
            if kind == 0:
                s.close()  # never says a word
            elif kind == 1:
                s.sendall(line({"op": "ping", "tag": i}))
                self.assertEqual(_Lines(s).line(), '{"ok":true,"tag":%d}' % i)
                s.close()
            elif kind == 2:
                s.sendall(line({"op": "malloc", "id": 9, "size": 1}))
                s.close()  # without reading its reply: the grant still stands
                mallocs += 1
            elif kind == 3:
                s.sendall(b'{"op":"mall')  # half a line, then a reset
                abort(s)
            else:
                s.sendall(line({"op": "stats"}))
                abort(s)
        # connections == 1 does not mean every client was read: the last
        # may still wait in the listen backlog, or its malloc may run just
        # after the stats that saw the loop idle. So wait for the grants
        # themselves; a malloc really lost fails here after the timeout.
        self.quiesce(checker)
        stats = poll("every malloc granted",
                     lambda: (lambda s: s if s["granted"] >= mallocs else None)(
                         checker.call({"op": "stats"})))
        self.assertEqual(stats["granted"], mallocs)
        self.assertEqual(stats["blocks"], mallocs)
        self.assertEqual(stats["rejected_connections"], 0)
        self.settle_fds(fds)
        check_accounting(self, checker)


class _Lines(Conn):
    """Conn.line over an existing socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""


class Client(threading.Thread):
    """Pipelines requests tagged 0..n-1 from one thread and reads replies in
    another, keeping every complete reply and whatever partial line is left
    when the connection ends, and how it ended ("eof" or "reset")."""

    def __init__(self, port, requests, read_pause=0.0, read_size=65536):
        super().__init__(daemon=True)
        self.sock = raw_socket(port)
        self.data = b"".join(line(dict(r, tag=i)) for i, r in enumerate(requests))
        self.read_pause = read_pause  # a slow reader, not synchronisation
        self.read_size = read_size
        self.replies, self.rest, self.end = [], b"", None
        self.sender = threading.Thread(target=self._send, daemon=True)

    def _send(self):
        try:
            self.sock.sendall(self.data)
        except OSError:
            pass  # the server stopped reading and closed: expected here

    def run(self):
        self.sender.start()
        deadline = time.monotonic() + TIMEOUT * 4
        buf = b""
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.1, deadline - time.monotonic()))
                chunk = self.sock.recv(self.read_size)
                if not chunk:
                    self.end = "eof"
                    break
                buf += chunk
                *done, buf = buf.split(b"\n")
                self.replies += [json.loads(x) for x in done]
                if self.read_pause:
                    time.sleep(self.read_pause)
            else:
                self.end = "timeout"
        except ConnectionResetError:
            self.end = "reset"
        except socket.timeout:
            self.end = "timeout"
        self.rest = buf
        self.sock.close()


class SigtermUnderLoad(FaultTest):
    # A drain timeout longer than any wait here: shutdown must finish
    # because nothing is owed, not because the timeout fired.
    server_args = ("--memory", "16M", "--drain-timeout", "25")

    def stop_when(self, clients, ready):
        for c in clients:
            c.start()
        poll("load running", lambda: all(ready(c) for c in clients))
        self.server.proc.send_signal(signal.SIGTERM)
        self.stopped = self.server.stop()
        for c in clients:
            c.join(TIMEOUT * 4)
            self.assertFalse(c.is_alive())

    def assert_prefix(self, c):
        """c got replies 0..k-1 in order, each whole and right."""
        for i, r in enumerate(c.replies):
            self.assertEqual(r.get("tag"), i, r)
            self.assertTrue(r["ok"], r)
        self.assertEqual(c.rest, b"", "connection ended inside a reply line "
                         "(after %d whole replies)" % len(c.replies))

    def test_pipelined_clients_get_an_ordered_prefix_and_exit_0(self):
        mix = [{"op": "malloc", "id": 3, "size": 1}, {"op": "ping"},
               {"op": "stats"}, {"op": "dump", "length": 32}]
        clients = [Client(self.server.port, mix * 1000) for _ in range(8)]
        self.stop_when(clients, lambda c: len(c.replies) >= 100)
        self.assertEqual(self.stopped[0], 0, self.stopped[1])
        for c in clients:
            # A FIN after the last owed reply, never a reset (which could
            # destroy replies still in flight).
            self.assertEqual(c.end, "eof", "after %d replies" % len(c.replies))
            self.assertGreaterEqual(len(c.replies), 100)
            self.assert_prefix(c)

    def test_idle_connections_do_not_hold_shutdown(self):
        # Pooled clients sit connected and idle, reading nothing until
        # their next request. They are owed nothing and have sent nothing
        # unread, so SIGTERM must not wait out --drain-timeout for them
        # (docker stop sends SIGKILL after 10 s).
        idle = [self.connect() for _ in range(3)]
        for c in idle:
            self.assertEqual(c.call({"op": "ping"}), {"ok": True})
        started = time.monotonic()
        self.server.proc.send_signal(signal.SIGTERM)
        try:
            self.server.proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        took = time.monotonic() - started
        self.stopped = self.server.stop()
        self.assertEqual(self.stopped[0], 0, self.stopped[1])
        self.assertLess(took, 5.0, "shutdown waited %.1f s for idle connections" % took)
        for c in idle:
            self.assertTrue(c.closed())

    def test_slow_reader_loses_no_written_reply(self):
        # Big replies and a reader slower than the server: at SIGTERM the
        # server still owes megabytes, and has more requests unread. It
        # must deliver every reply it owes and end with a FIN: closing a
        # socket that has unread input sends a RST, and the kernel then
        # throws away replies still in its send buffer.
        reqs = [{"op": "dump", "length": 262144}] * 24 + [{"op": "ping"}] * 20000
        c = Client(self.server.port, reqs, read_pause=0.01, read_size=65536)
        self.stop_when([c], lambda c: len(c.replies) >= 1)
        self.assertEqual(self.stopped[0], 0, self.stopped[1])
        self.assert_prefix(c)
        self.assertEqual(c.end, "eof", "the server reset the connection after "
                         "%d whole replies" % len(c.replies))


if __name__ == "__main__":
    unittest.main()
