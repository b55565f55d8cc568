"""test_limits.py — every limit has a default, a counter and a test that
trips it; bad input gets a clear error and leaves the server unchanged."""
import json
import os
import resource
import socket
import time
import unittest

from harness import Conn, Server, ServerTest, TIMEOUT


def wait_for(pred, what, timeout=TIMEOUT):
    """Poll pred() until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class OutputLimit(ServerTest):
    server_args = ("--memory", "100000", "--max-output", "65536")

    def test_reader_that_does_not_read_is_paused_not_buffered(self):
        slow = self.connect()
        # A modest receive window, so the kernel cannot absorb what the
        # server should be holding back.
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        n = 200  # 200 dumps of 100 kB: 20 MB if the server buffered them all
        slow.send("".join('{"op":"dump","tag":%d}\n' % i for i in range(n)))
        other = self.connect()
        s = wait_for(lambda: (lambda s: s if s["output_paused"] >= 1 else None)(
            other.call({"op": "stats"})), "output_paused")
        # Paused after about --max-output plus what the kernel buffers took,
        # not after reading all 200.
        self.assertLess(s["requests"], n // 2)
        with open("/proc/%d/status" % self.server.proc.pid) as f:
            rss_kb = int(f.read().split("VmRSS:")[1].split()[0])
        self.assertLess(rss_kb, 100 * 1024)
        for i in range(n):
            self.assertEqual(slow.reply()["tag"], i)
        self.assertEqual(other.call({"op": "ping"}), {"ok": True})


class ConnLimit(ServerTest):
    server_args = ("--max-conns", "2")

    def test_busy_beyond_max_conns(self):
        a, b = self.connect(), self.connect()
        self.assertEqual(a.call({"op": "ping"}), {"ok": True})
        self.assertEqual(b.call({"op": "ping"}), {"ok": True})
        c = self.connect()
        self.assertEqual(c.line(), '{"ok":false,"error":"busy","message":"too many connections"}')
        self.assertTrue(c.closed())
        self.assertEqual(a.call({"op": "stats"})["rejected_connections"], 1)
        b.close()
        self.conns.remove(b)
        # Once the server has seen the close (on whichever loop owns b),
        # the next connection gets the slot; before that it may be busy.
        wait_for(lambda: a.call({"op": "stats"})["connections"] == 1, "the close")
        d = self.connect()
        self.assertEqual(d.call({"op": "ping"}), {"ok": True})


class DescriptorExhaustion(unittest.TestCase):
    def test_emfile_pauses_accept_instead_of_spinning(self):
        def few_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))

        server = Server("--max-conns", "1000", preexec_fn=few_fds)
        extra = []
        try:
            a = server.connect()
            self.assertEqual(a.call({"op": "ping"}), {"ok": True})
            start = time.monotonic()
            for _ in range(30):
                extra.append(Conn(server.port))  # the backlog takes what accept can't
            s = wait_for(lambda: (lambda s: s if s["accept_paused"] >= 1 else None)(
                a.call({"op": "stats"})), "accept_paused")
            elapsed = time.monotonic() - start
            # One retry per 100 ms, not a busy loop.
            self.assertLessEqual(s["accept_paused"], elapsed / 0.1 + 5)
            self.assertLess(s["connections"], 24)
            for c in extra:
                c.close()
            extra = []
            late = Conn(server.port)
            extra.append(late)
            self.assertEqual(late.call({"op": "ping"}), {"ok": True})
            self.assertIsNotNone(server.wait_log("accept:"), server.log)
            a.close()
        finally:
            for c in extra:
                c.close()
            status, log = server.stop()
            self.assertEqual(status, 0, log)


class IdleTimeout(ServerTest):
    server_args = ("--idle-timeout", "1")

    def test_idle_connection_is_closed_and_counted(self):
        idle = self.connect()
        self.assertEqual(idle.call({"op": "ping"}), {"ok": True})
        t0 = time.monotonic()
        self.assertTrue(idle.closed())
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        self.assertEqual(self.connect().call({"op": "stats"})["idle_closed"], 1)


class IdleTimeoutNonReader(ServerTest):
    server_args = ("--idle-timeout", "1", "--memory", "1M")

    def test_peer_that_stops_reading_is_closed_too(self):
        stuck = self.connect()
        stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        stuck.send('{"op":"dump"}\n' * 8)  # 8 MiB it never reads
        watcher = self.connect()
        s = wait_for(lambda: (lambda s: s if s["idle_closed"] >= 1 else None)(
            watcher.call({"op": "stats"})), "the stuck peer to be closed")
        self.assertEqual((s["idle_closed"], s["connections"]), (1, 1))


class DrainTimeout(unittest.TestCase):
    def test_shutdown_gives_up_on_a_peer_that_never_reads(self):
        server = Server("--drain-timeout", "1", "--memory", "1M")
        stuck = server.connect()
        stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        stuck.send('{"op":"dump"}\n' * 8)
        self.assertEqual(server.connect().call({"op": "ping"}), {"ok": True})
        t0 = time.monotonic()
        status, log = server.stop()
        self.assertEqual(status, 0, log)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("replies still owed after 1 s", log)
        stuck.close()


class QueueDepth(ServerTest):
    server_args = ("--queue-depth", "1", "--memory", "10000")

    def test_full_queue_pauses_reading_and_loses_nothing(self):
        conns = [self.connect() for _ in range(3)]
        for k, c in enumerate(conns):
            c.send("".join('{"op":"malloc","id":%d,"size":1,"tag":%d}\n' % (k, i)
                           for i in range(500)))
        for k, c in enumerate(conns):
            for i in range(500):
                r = c.reply()
                self.assertEqual((r["ok"], r["tag"], r["id"]), (True, i, k))
        s = conns[0].call({"op": "stats"})
        self.assertEqual((s["used"], s["blocks"], s["queue_depth"]), (1500, 1500, 0))


class LineLimit(ServerTest):
    server_args = ("--max-line", "100")

    def test_exactly_the_limit_and_one_byte_over(self):
        c = self.connect()
        head = '{"op":"ping","tag":"'
        fit = head + "x" * (100 - len(head) - 2) + '"}'
        self.assertEqual(len(fit), 100)
        over = head + "x" * (101 - len(head) - 2) + '"}'
        c.send(fit + "\n")
        self.assertTrue(c.reply()["ok"])
        c.send(over + "\n")
        self.assertEqual(c.reply()["error"], "too_large")
        c.send(fit + "\r\n")  # the \r counts: 101 bytes before the \n
        self.assertEqual(c.reply()["error"], "too_large")
        self.assertEqual(c.call({"op": "stats"})["too_large"], 2)

    def test_long_line_is_refused_before_its_newline_arrives(self):
        c = self.connect()
        c.send("y" * 150)
        self.assertEqual(c.reply()["error"], "too_large")
        c.send("y" * 5000 + '\n{"op":"ping","tag":"next"}\n')
        self.assertEqual(c.reply(), {"ok": True, "tag": "next"})


class BadInput(ServerTest):
    server_args = ("--memory", "64")

    def state(self, c):
        s = c.call({"op": "stats"})
        d = c.call({"op": "dump", "blocks": True})
        return (s["used"], s["blocks"], s["granted"], d["memory"], json.dumps(d["blocks"]))

    def test_each_bad_input_is_answered_and_changes_nothing(self):
        c = self.connect()
        a = c.call({"op": "malloc", "id": 5, "size": 8})
        c.call({"op": "fill", "addr": 0, "key": a["key"]})
        before = self.state(c)
        wrong_len_key = a["key"][:-1]
        deep = '{"op":"ping","tag":' + "[" * 100 + "]" * 100 + "}"
        cases = [
            (b"\x00\x01garbage\xfe", "bad_json"),
            (b'{"op":"ping","x":"\x00"}', "bad_json"),
            (b'{"op":"p\xc3\x28ng"}', "bad_json"),
            (b"[1,2,3]", "bad_json"),
            (b'"ping"', "bad_json"),
            (b"12", "bad_json"),
            (deep.encode(), "bad_json"),
            (b'{"op":"malloc","size":99999999999999999999999}', "bad_request"),
            (b'{"op":"malloc","size":1.5}', "bad_request"),
            (b'{"op":"malloc","size":-1}', "bad_request"),
            (b'{"op":"malloc","size":0}', "bad_request"),
            (b'{"op":"malloc","size":"8"}', "bad_request"),
            (b'{"op":"malloc","size":8,"size":9}', "bad_request"),
            (b'{"op":"malloc","op":"free","size":8}', "bad_request"),
            (('{"op":"free","addr":0,"key":"%s"}' % wrong_len_key).encode(), "bad_request"),
            (('{"op":"free","addr":64,"key":"%s"}' % a["key"]).encode(), "bad_addr"),
            (('{"op":"fill","addr":9007199254740991,"key":"%s"}' % a["key"]).encode(), "bad_addr"),
            (('{"op":"fill","addr":3,"key":"%s"}' % a["key"]).encode(), "bad_addr"),
            (('{"op":"ping","tag":"%s"}' % ("t" * 5000)).encode(), "bad_request"),
            (b'{"op":"ping","tag":' + b"{\"a\":" * 40 + b"1" + b"}" * 40 + b"}", "bad_json"),
            (b'{"op":"dump","length":"all"}', "bad_request"),
        ]
        for line, code in cases:
            c.send(line + b"\n")
            r = c.reply()
            self.assertEqual((r["ok"], r["error"]), (False, code), line[:60])
            self.assertTrue(r["message"], line[:60])
        self.assertEqual(self.state(c), before)
        self.assertEqual(c.call({"op": "ping"}), {"ok": True})

    def test_final_line_without_newline_is_answered(self):
        c = self.connect()
        c.send('{"op":"malloc","size":4}')
        c.sock.shutdown(socket.SHUT_WR)
        r = c.reply()
        self.assertEqual((r["ok"], r["size"]), (True, 4))
        self.assertTrue(c.closed())


if __name__ == "__main__":
    unittest.main()
