"""test_http.py — the HTTP side port over real HTTP (issue 13).

/healthz answers 200, and 503 while the server drains at shutdown;
/metrics passes `promtool check metrics` and every number in it equals
what `stats` says at the same moment; /map.json's cells agree with `dump`
with blocks on the seed's 150-byte arena and on a 4 GiB arena holding
100,000 blocks (where it answers within 50 ms); unknown paths are 404,
other methods 405, a bad query 400; and HTTP clients that stall half way
through a request, or just hold connections open, do not slow the main
port down.
"""
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import unittest

from harness import TIMEOUT, Server, ServerTest

HTTP_LISTENING = r"http listening on (\S+):(\d+)"


def http_port(server):
    m = server.wait_log(HTTP_LISTENING)
    assert m, "no http listening line: %r" % server.log
    return int(m.group(2))


def get(port, path, method="GET"):
    """One request on a fresh connection: (status, headers, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        conn.close()


def parse_metrics(text):
    """{'name{labels}': value} for every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def expected_cells(blocks, offset, length, cells):
    """The map the issue defines, worked out in Python from a block list."""
    used, owners = [0] * cells, [dict() for _ in range(cells)]
    bound = lambda i: offset + length * i // cells
    for b in blocks:
        lo, hi = max(b["addr"], offset), min(b["addr"] + b["size"], offset + length)
        if lo >= hi:
            continue
        first = ((lo - offset + 1) * cells - 1) // length
        last = ((hi - 1 - offset + 1) * cells - 1) // length
        for c in range(first, last + 1):
            n = min(hi, bound(c + 1)) - max(lo, bound(c))
            used[c] += n
            owners[c][b["id"]] = owners[c].get(b["id"], 0) + n
    owner = [min(o, key=lambda i: (-o[i], i)) if o else -1 for o in owners]
    return used, owner


class HttpServerTest(ServerTest):
    server_args = ("--http-port", "0")

    def setUp(self):
        super().setUp()
        self.http = http_port(self.server)


class Routes(HttpServerTest):
    def test_healthz_is_ok_while_serving(self):
        status, headers, body = get(self.http, "/healthz")
        self.assertEqual((status, body), (200, "ok\n"))

    def test_unknown_path_is_404_and_other_methods_405(self):
        self.assertEqual(get(self.http, "/nope")[0], 404)
        self.assertEqual(get(self.http, "/metrics/x")[0], 404)
        for method in ("POST", "PUT", "DELETE"):
            status, headers, _ = get(self.http, "/metrics", method)
            self.assertEqual(status, 405, method)
            self.assertEqual(headers.get("Allow"), "GET, HEAD")
        # And nothing changed: no request reached the allocator.
        self.assertEqual(self.connect().call({"op": "stats"})["requests"], 1)

    def test_bad_queries_are_400(self):
        for q in ("cells=0", "cells=16385", "cells=x", "offset=-1", "blocks=2", "offset=151"):
            status, _, body = get(self.http, "/map.json?" + q)
            self.assertEqual(status, 400, q)
            self.assertIn("error", json.loads(body), q)

    def test_page_is_self_contained(self):
        status, headers, body = get(self.http, "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn("/map.json", body)
        # No request leaves the server: no absolute URL to load anything from.
        self.assertFalse(re.search(r"(src|href)=\"(https?:)?//", body), "external resource")

    def test_no_key_ever_appears(self):
        c = self.connect()
        key = c.call({"op": "malloc", "id": 1, "size": 10})["key"]
        for path in ("/map.json", "/metrics", "/"):
            self.assertNotIn(key, get(self.http, path)[2], path)


class ReadmeScrapeConfig(unittest.TestCase):
    def test_the_readmes_prometheus_snippet_is_a_valid_config(self):
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
        with open(readme) as f:
            snippet = re.search(r"```yaml\n(scrape_configs:.*?)```", f.read(), re.S).group(1)
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as cfg:
            cfg.write(snippet)
            cfg.flush()
            check = subprocess.run(["promtool", "check", "config", cfg.name], text=True,
                                   capture_output=True, timeout=TIMEOUT)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)


class Metrics(HttpServerTest):
    def test_promtool_clean_and_equal_to_stats(self):
        c = self.connect()
        key = c.call({"op": "malloc", "id": 3, "size": 10})["key"]
        c.call({"op": "fill", "addr": 0, "key": key})
        c.call({"op": "malloc", "id": 4, "size": 500})           # no_memory
        c.call({"op": "free", "addr": 77, "key": key})           # bad_addr
        c.call("nonsense")                                       # bad_json
        c.call({"op": "map", "cells": 3})
        c.send("\n")                                             # blank: not a request
        stats = c.call({"op": "stats"})
        status, headers, text = get(self.http, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        check = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                               capture_output=True, timeout=TIMEOUT)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, "")
        m = parse_metrics(text)
        plain = {"smm_memory_bytes": "memory_size", "smm_used_bytes": "used",
                 "smm_free_bytes": "free", "smm_largest_free_bytes": "largest_free",
                 "smm_blocks": "blocks", "smm_free_extents": "free_extents",
                 "smm_connections": "connections", "smm_queue_depth": "queue_depth",
                 "smm_leases": "leases", "smm_granted_total": "granted",
                 "smm_denied_total": "denied", "smm_expired_total": "expired",
                 "smm_released_on_close_total": "released_on_close",
                 "smm_bad_requests_total": "bad_requests", "smm_too_large_total": "too_large",
                 "smm_rejected_connections_total": "rejected_connections",
                 "smm_output_paused_total": "output_paused",
                 "smm_idle_closed_total": "idle_closed",
                 "smm_accept_paused_total": "accept_paused"}
        for name, field in plain.items():
            self.assertEqual(m[name], stats[field], name)
        # The allocator may have moved again for /metrics' own batch.
        self.assertGreaterEqual(m["smm_allocator_moves_total"], stats["allocator_moves"])
        self.assertAlmostEqual(m["smm_fragmentation_ratio"], stats["fragmentation"], places=5)
        for op, n in stats["ops"].items():
            self.assertEqual(m['smm_requests_total{op="%s"}' % op], n, op)
        self.assertEqual(stats["ops"]["malloc"], 2)
        self.assertEqual(m['smm_requests_total{op="invalid"}'], 1)
        self.assertEqual(sum(v for k, v in m.items() if k.startswith("smm_requests_total")),
                         stats["requests"])
        for code, n in stats["errors"].items():
            self.assertEqual(m['smm_errors_total{code="%s"}' % code], n, code)
        self.assertEqual((stats["errors"]["no_memory"], stats["errors"]["bad_addr"],
                          stats["errors"]["bad_json"]), (1, 1, 1))
        self.assertGreaterEqual(m["smm_uptime_seconds"] * 1000, stats["uptime_ms"])
        self.assertEqual(m['smm_build_info{version="%s",policy="bump"}' %
                           re.search(r"smm-server (\S+)", self.server.log).group(1)], 1)
        # Every answered request is in its op's histogram, the stats
        # request included (its reply was queued before /metrics asked).
        for op, n in stats["ops"].items():
            self.assertEqual(m['smm_request_duration_seconds_count{op="%s"}' % op], n, op)
            self.assertEqual(m['smm_request_duration_seconds_bucket{op="%s",le="+Inf"}' % op], n)
        self.assertEqual(m['smm_request_duration_seconds_count{op="invalid"}'], 1)


def dump_blocks(conn, offset, length):
    reply = conn.call({"op": "dump", "offset": offset, "length": length, "blocks": True})
    assert reply["ok"] and not reply.get("truncated"), reply
    return reply


class MapSmall(HttpServerTest):
    """The seed's 150-byte arena: the map, cell by cell, against dump."""

    def test_cells_agree_with_dump(self):
        c = self.connect()
        keys = {}
        for i, size in enumerate((14, 20, 17, 15, 15, 21, 12, 22)):
            r = c.call({"op": "malloc", "id": i, "size": size})
            keys[r["addr"]] = r["key"]
        for addr in list(keys)[::2]:
            c.call({"op": "fill", "addr": addr, "key": keys[addr]})
        c.call({"op": "free", "addr": 14, "key": keys[14]})
        d = dump_blocks(c, 0, 150)
        for cells in (150, 7, 1):
            status, _, body = get(self.http, "/map.json?cells=%d" % cells)
            self.assertEqual(status, 200)
            got = json.loads(body)
            m = got["map"]
            self.assertEqual((m["size"], m["offset"], m["length"], m["cells"]),
                             (150, 0, 150, cells))
            used, owner = expected_cells(d["blocks"], 0, 150, cells)
            self.assertEqual(m["used"], used, cells)
            self.assertEqual(m["owner"], owner, cells)
            self.assertEqual(m["blocks"], d["blocks"])
            self.assertEqual(got["stats"]["used"], sum(b["size"] for b in d["blocks"]))
            self.assertEqual(got["policy"], "bump")
        # One cell per byte: exactly dump's picture, filled or not.
        m = json.loads(get(self.http, "/map.json?cells=150")[2])["map"]
        inside = {i for b in d["blocks"] for i in range(b["addr"], b["addr"] + b["size"])}
        for i in set(range(150)) - inside:
            self.assertEqual((m["used"][i], m["unfilled"][i], m["owner"][i]), (0, 0, -1), i)
        for b in d["blocks"]:
            filled = d["memory"][b["addr"]] != "."
            for i in range(b["addr"], b["addr"] + b["size"]):
                self.assertEqual((m["owner"][i], m["unfilled"][i]), (b["id"], 0 if filled else 1))
        # More cells than bytes: one per byte. A window, and a zoom to bytes.
        m = json.loads(get(self.http, "/map.json?cells=4096")[2])["map"]
        self.assertEqual(m["cells"], 150)
        m = json.loads(get(self.http, "/map.json?offset=30&length=10&cells=5")[2])["map"]
        used, owner = expected_cells(d["blocks"], 30, 10, 5)
        self.assertEqual((m["used"], m["owner"]), (used, owner))


class MapLarge(unittest.TestCase):
    """4 GiB holding 100,000 blocks: the same agreement, and within 50 ms."""

    BLOCKS = 100_000
    CELLS = 4096  # 1 MiB each on 4 GiB: one dump window per cell

    def test_cells_agree_with_dump_and_answer_fast(self):
        server = Server("--memory", "4G", "--http-port", "0")
        try:
            port = http_port(server)
            c = server.connect()
            blocks = self.fill(c)
            total = 4 << 30
            used, owner = expected_cells(blocks, 0, total, self.CELLS)
            h = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            times = []
            for _ in range(7):
                start = time.perf_counter()
                h.request("GET", "/map.json?cells=%d" % self.CELLS)
                r = h.getresponse()
                body = r.read()
                times.append((time.perf_counter() - start) * 1000)
                self.assertEqual(r.status, 200)
            h.close()
            got = json.loads(body)["map"]
            print("\n/map.json, %d cells, %d blocks on 4 GiB: median %.1f ms, best %.1f ms"
                  % (self.CELLS, len(blocks), statistics.median(times), min(times)))
            if os.environ.get("SMM_SANITIZE") == "thread":
                # ThreadSanitizer checks every load and store of the walk
                # (plain: 3.3 ms, ASan: 8 ms; TSan: 25-50 ms, 97 ms seen
                # while other builds ran beside it), so there the best of
                # the runs gets five times the 50 ms: a walk of
                # every block (the bug this guards against) takes seconds.
                self.assertLess(min(times), 250.0, times)
            else:
                self.assertLess(statistics.median(times), 50.0, times)
            self.assertTrue(got["blocks_truncated"])
            self.assertEqual(got["used"], used)
            self.assertEqual(got["owner"], owner)
            # And against dump itself, on a sample of cells.
            for cell in random.Random(13).sample(range(self.CELLS), 24):
                d = dump_blocks(c, cell << 20, 1 << 20)
                u, o = expected_cells(d["blocks"], cell << 20, 1 << 20, 1)
                self.assertEqual((got["used"][cell], got["owner"][cell]), (u[0], o[0]), cell)
            c.close()
        finally:
            status, log = server.stop()
        self.assertEqual(status, 0, log)

    def fill(self, c):
        """Pipelines BLOCKS mallocs of 1..60000 bytes; returns the grants."""
        rng = random.Random(7)
        reqs = [{"op": "malloc", "id": rng.randrange(62), "size": rng.randint(1, 60000)}
                for _ in range(self.BLOCKS)]
        data = "".join(json.dumps(r) + "\n" for r in reqs).encode()
        sender = threading.Thread(target=c.send, args=(data,), daemon=True)
        sender.start()
        blocks = []
        while len(blocks) < self.BLOCKS:
            r = c.reply()
            self.assertTrue(r["ok"], r)
            blocks.append({"addr": r["addr"], "size": r["size"], "id": r["id"]})
        sender.join(TIMEOUT)
        return blocks


class Drain(unittest.TestCase):
    def test_healthz_503_while_draining(self):
        server = Server("--memory", "1M", "--http-port", "0", "--drain-timeout", "30")
        try:
            port = http_port(server)
            self.assertEqual(get(port, "/healthz")[0], 200)
            # A client that asks for large dumps and does not read them keeps
            # replies owed, so the drain lasts until it goes away.
            slow = server.connect()
            slow.send('{"op":"dump"}\n' * 16)
            server.proc.send_signal(15)
            self.assertTrue(server.wait_log("stopping after owed replies"))
            status, _, body = get(port, "/healthz")
            self.assertEqual((status, body), (503, "draining\n"))
            slow.close()
        finally:
            status, log = server.stop()
        self.assertEqual(status, 0, log)


class Hostile(HttpServerTest):
    """Stalled and idle HTTP clients cost the main port nothing."""

    def test_stalled_and_idle_http_clients_do_not_stall_the_main_port(self):
        idle = [socket.create_connection(("127.0.0.1", self.http), timeout=TIMEOUT)
                for _ in range(200)]
        half = socket.create_connection(("127.0.0.1", self.http), timeout=TIMEOUT)
        half.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        slow_map = socket.create_connection(("127.0.0.1", self.http), timeout=TIMEOUT)
        slow_map.sendall(b"GET /map.json?cells=16384 HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
        try:
            c = self.connect()
            worst = 0.0
            for i in range(200):
                start = time.perf_counter()
                self.assertEqual(c.call({"op": "ping"}), {"ok": True})
                worst = max(worst, time.perf_counter() - start)
            self.assertEqual(c.call({"op": "malloc", "size": 5})["ok"], True)
            print("\nworst ping round trip with 202 stalled HTTP clients: %.2f ms" % (worst * 1000))
            self.assertLess(worst, 1.0)
            self.assertEqual(get(self.http, "/healthz")[0], 200)
        finally:
            for s in idle + [half, slow_map]:
                s.close()

    def test_clients_gone_before_their_answer(self):
        # Each asks for a map and leaves before the allocator has answered:
        # the answer then goes nowhere, and nothing is used after its free
        # (the sanitizer builds would report it at tearDown).
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", self.http), timeout=TIMEOUT)
            s.sendall(b"GET /map.json?cells=16384 HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            s.close()
        self.assertEqual(get(self.http, "/healthz")[0], 200)
        self.assertEqual(json.loads(get(self.http, "/map.json?cells=3")[2])["map"]["cells"], 3)


if __name__ == "__main__":
    unittest.main()
