"""test_io_threads.py — --io-threads N: connections spread over the N event
loops in turn, pipelined replies stay in order on each, and what is global
stays global: --max-conns, the stats counters, connection ids, idle
timeouts, connection-scoped blocks and the drain at SIGTERM."""
import re
import unittest

from harness import Server, ServerTest
from test_http import get, http_port, parse_metrics
from test_limits import wait_for

OPENED = r"connection (\d+) opened on loop (\d+)"


def opened(server, count):
    """The (id, loop) of the first count connections the log names."""
    server.wait_log(r"(?s)(%s.*){%d}" % (OPENED, count))
    return [(int(i), int(n)) for i, n in re.findall(OPENED, server.log)]


class Spread(ServerTest):
    server_args = ("--io-threads", "3", "--memory", "1M", "--log-level", "debug")

    def test_connections_take_turns_and_replies_stay_in_order(self):
        conns = [self.connect() for _ in range(9)]
        seen = opened(self.server, 9)
        self.assertEqual(len(seen), 9, self.server.log)
        self.assertEqual(sorted(i for i, _ in seen), list(range(1, 10)))
        self.assertEqual(sorted(n for _, n in seen), [0, 0, 0, 1, 1, 1, 2, 2, 2])
        # Every connection pipelines its whole batch before any reply is
        # read, so the loops and the allocator interleave them all.
        per_conn = 60
        for k, c in enumerate(conns):
            lines = []
            for i in range(per_conn):
                tag = k * 1000 + i
                op = ('{"op":"malloc","size":8,"tag":%d}' if i % 3 == 0 else
                      '{"op":"ping","tag":%d}' if i % 3 == 1 else
                      '{"op":"stats","tag":%d}')
                lines.append(op % tag)
            c.send("\n".join(lines) + "\n")
        for k, c in enumerate(conns):
            for i in range(per_conn):
                r = c.reply()
                self.assertEqual(r["tag"], k * 1000 + i)
                self.assertTrue(r["ok"], r)
                if i % 3 == 0:
                    self.assertEqual(r["size"], 8)
        s = conns[4].call({"op": "stats"})
        self.assertEqual(s["requests"], 9 * per_conn + 1)
        self.assertEqual(s["ops"]["malloc"], 9 * per_conn // 3)
        self.assertEqual(s["ops"]["ping"], 9 * per_conn // 3)
        self.assertEqual(s["connections"], 9)
        self.assertEqual(s["blocks"], 9 * per_conn // 3)
        self.assertEqual(s["queue_depth"], 0)


class ConnLimitAcrossLoops(ServerTest):
    server_args = ("--io-threads", "3", "--max-conns", "4")

    def test_max_conns_counts_every_loop(self):
        conns = [self.connect() for _ in range(4)]
        for c in conns:
            self.assertEqual(c.call({"op": "ping"}), {"ok": True})
        extra = self.connect()
        self.assertEqual(extra.line(),
                         '{"ok":false,"error":"busy","message":"too many connections"}')
        self.assertTrue(extra.closed())
        s = conns[0].call({"op": "stats"})
        self.assertEqual((s["connections"], s["rejected_connections"]), (4, 1))
        # Closing one on loop 1 frees a slot for the main loop's listener.
        conns[1].close()
        wait_for(lambda: conns[0].call({"op": "stats"})["connections"] == 3, "the close")
        d = self.connect()
        self.assertEqual(d.call({"op": "ping"}), {"ok": True})


class IdleAcrossLoops(ServerTest):
    server_args = ("--io-threads", "2", "--idle-timeout", "1")

    def test_every_loop_closes_idle_connections(self):
        a, b = self.connect(), self.connect()
        self.assertTrue(a.closed())
        self.assertTrue(b.closed())
        c = self.connect()
        s = c.call({"op": "stats"})
        self.assertEqual(s["idle_closed"], 2)


class ScopeAcrossLoops(ServerTest):
    server_args = ("--io-threads", "2", "--memory", "1000")

    def test_blocks_of_a_connection_on_another_loop_go_when_it_closes(self):
        a, b = self.connect(), self.connect()  # loops 0 and 1
        r = b.call({"op": "malloc", "size": 100, "scope": "connection"})
        self.assertTrue(r["ok"], r)
        self.assertEqual(a.call({"op": "stats"})["blocks"], 1)
        b.close()
        wait_for(lambda: a.call({"op": "stats"})["blocks"] == 0, "the release")


class MetricsAcrossLoops(ServerTest):
    server_args = ("--io-threads", "3", "--http-port", "0", "--memory", "1000")

    def test_metrics_sum_every_loop(self):
        conns = [self.connect() for _ in range(3)]  # one on each loop
        for k, c in enumerate(conns):
            for _ in range(k + 1):
                self.assertEqual(c.call({"op": "ping"}), {"ok": True})
            self.assertTrue(c.call({"op": "malloc", "size": 2000})["error"] == "no_memory")
        status, _, text = get(http_port(self.server), "/metrics")
        self.assertEqual(status, 200)
        m = parse_metrics(text)
        self.assertEqual(m['smm_requests_total{op="ping"}'], 6)
        self.assertEqual(m['smm_requests_total{op="malloc"}'], 3)
        self.assertEqual(m['smm_errors_total{code="no_memory"}'], 3)
        self.assertEqual(m['smm_request_duration_seconds_count{op="ping"}'], 6)
        self.assertEqual(m["smm_connections"], 3)


class DrainAcrossLoops(unittest.TestCase):
    def test_sigterm_answers_every_loop_then_exits(self):
        server = Server("--io-threads", "3", "--memory", "1M")
        try:
            conns = [server.connect() for _ in range(6)]
            n = 200
            for k, c in enumerate(conns):
                c.send("".join('{"op":"malloc","size":4,"tag":%d}\n' % (k * 1000 + i)
                               for i in range(n)))
            # Every request read, so every loop owes replies when the
            # signal comes (some may be written already).
            probe = server.connect()
            wait_for(lambda: probe.call({"op": "stats"})["requests"] >= 6 * n + 1, "reads")
            status, log = server.stop()
            for k, c in enumerate(conns):
                for i in range(n):
                    self.assertEqual(c.reply()["tag"], k * 1000 + i)
                self.assertTrue(c.closed())
            self.assertEqual(status, 0, log)
            self.assertIn("stopped", log)
            self.assertNotIn("closing anyway", log)
            for c in conns + [probe]:
                c.close()
        finally:
            if server.proc.poll() is None:
                server.stop()


class Bounds(unittest.TestCase):
    def test_environment_sets_io_threads(self):
        server = Server("--log-level", "debug", env={"SMM_IO_THREADS": "2"})
        try:
            a, b = server.connect(), server.connect()
            self.assertEqual(a.call({"op": "ping"}), {"ok": True})
            self.assertEqual(b.call({"op": "ping"}), {"ok": True})
            self.assertEqual(sorted(n for _, n in opened(server, 2)), [0, 1])
            a.close()
            b.close()
        finally:
            status, log = server.stop()
            self.assertEqual(status, 0, log)


if __name__ == "__main__":
    unittest.main()
