"""test_protocol.py — protocol v1 end to end, as a person with nc sees it.

Each test starts the real smm-server on port 0 and reads like a transcript:
send a line, expect a line.
"""
import json
import os
import re
import signal
import socket
import tempfile
import threading
import unittest

from harness import Conn, Server, ServerTest, TIMEOUT

KEY = re.compile(r'^[0-9a-f]{16}$')


def used_by_blocks(dump):
    return sum(b["size"] for b in dump["blocks"])


class Ops(ServerTest):
    server_args = ("--memory", "150")

    def test_ping_and_tags(self):
        c = self.connect()
        c.send('{"op":"ping"}\n')
        self.assertEqual(c.line(), '{"ok":true}')
        for tag in ['"t1"', '42', 'null', '[1,{"a":[true]}]', '{"x":"y"}']:
            c.send('{"op":"ping","tag":%s}\n' % tag)
            self.assertEqual(c.line(), '{"ok":true,"tag":%s}' % tag)

    def test_tag_is_echoed_byte_for_byte(self):
        c = self.connect()
        # Numbers no double holds exactly, escapes and spaces come back as sent.
        for tag in ['12345678901234567890', '1e999', '-0.10', '"\\u00e9\\n"',
                    '{ "a" : [ 1 ,2 ] }', '"caf\u00e9"']:
            c.send('{"op":"ping","tag":%s}\n' % tag)
            self.assertEqual(c.line(), '{"ok":true,"tag":%s}' % tag)
        # On error replies too.
        c.send('{"op":"malloc","size":0,"tag":12345678901234567890}\n')
        self.assertTrue(c.line().endswith(',"tag":12345678901234567890}'))
        # A raw control character would make the reply invalid JSON: refused.
        c.send('{"op":"ping","tag":"a\x01b"}\n')
        r = c.reply()
        self.assertEqual((r["ok"], r["error"]), (False, "bad_request"))
        self.assertIn("control character", r["message"])
        self.assertNotIn("tag", r)

    def test_malloc_fill_dump_free(self):
        c = self.connect()
        r = c.call({"op": "malloc", "id": 3, "size": 10})
        self.assertEqual((r["ok"], r["addr"], r["size"], r["id"]), (True, 0, 10, 3))
        self.assertRegex(r["key"], KEY)
        r2 = c.call({"op": "my_malloc", "id": 11, "size": 5})
        self.assertEqual((r2["addr"], r2["size"], r2["id"]), (10, 5, 11))
        self.assertNotEqual(r["key"], r2["key"])
        self.assertEqual(c.call({"op": "fill", "addr": 0, "key": r["key"]}),
                         {"ok": True, "addr": 0, "size": 10})
        self.assertEqual(c.call({"op": "fill", "addr": 10, "key": r2["key"], "char": "#"}),
                         {"ok": True, "addr": 10, "size": 5})
        d = c.call({"op": "dump"})
        self.assertEqual(d["memory"], "3" * 10 + "#" * 5 + "." * 135)
        self.assertEqual((d["size"], d["offset"], d["length"]), (150, 0, 150))
        self.assertEqual(c.call({"op": "free", "addr": 0, "key": r["key"]}),
                         {"ok": True, "addr": 0, "size": 10})
        self.assertEqual(c.call({"op": "dump"})["memory"], "." * 10 + "#" * 5 + "." * 135)
        again = c.call({"op": "free", "addr": 0, "key": r["key"]})
        self.assertEqual((again["ok"], again["error"]), (False, "bad_addr"))

    def test_id_characters(self):
        c = self.connect()
        for i, (ident, ch) in enumerate([(0, "0"), (9, "9"), (10, "A"), (35, "Z"), (36, "a"),
                                         (61, "z"), (62, "0"), (2147483647, "1")]):
            r = c.call({"op": "malloc", "id": ident, "size": 1})
            c.call({"op": "fill", "addr": r["addr"], "key": r["key"]})
            self.assertEqual(c.call({"op": "dump", "offset": i, "length": 1})["memory"], ch, ident)

    def test_exact_fit_and_no_memory(self):
        c = self.connect()
        c.send('{"op":"malloc","size":151}\n')
        self.assertEqual(c.line(), '{"ok":false,"addr":-1,"error":"no_memory","message":"Not enough memory"}')
        self.assertTrue(c.call({"op": "malloc", "size": 100})["ok"])
        self.assertEqual(c.call({"op": "malloc", "size": 51})["addr"], -1)
        r = c.call({"op": "malloc", "size": 50})
        self.assertEqual((r["ok"], r["addr"]), (True, 100))
        s = c.call({"op": "stats"})
        self.assertEqual((s["used"], s["free"], s["largest_free"], s["blocks"]), (150, 0, 0, 2))
        self.assertEqual((s["granted"], s["denied"]), (2, 2))

    def test_bump_reuses_only_the_top(self):
        c = self.connect()
        a = c.call({"op": "malloc", "size": 50})
        b = c.call({"op": "malloc", "size": 50})
        c.call({"op": "free", "addr": a["addr"], "key": a["key"]})
        self.assertEqual(c.call({"op": "malloc", "size": 51})["addr"], -1)
        self.assertEqual(c.call({"op": "malloc", "size": 10})["addr"], 100)
        t = c.call({"op": "malloc", "size": 40})
        c.call({"op": "free", "addr": t["addr"], "key": t["key"]})
        self.assertEqual(c.call({"op": "malloc", "size": 40})["addr"], 110)
        self.assertEqual(c.call({"op": "stats"})["policy"], "bump")
        self.assertTrue(b["ok"])

    def test_dump_window_and_blocks(self):
        c = self.connect()
        a = c.call({"op": "malloc", "id": 1, "size": 4})
        b = c.call({"op": "malloc", "id": 2, "size": 4})
        c.call({"op": "fill", "addr": a["addr"], "key": a["key"]})
        c.call({"op": "fill", "addr": b["addr"], "key": b["key"]})
        d = c.call({"op": "dump", "offset": 2, "length": 4, "blocks": True})
        self.assertEqual(d, {"ok": True, "size": 150, "offset": 2, "length": 4, "memory": "1122",
                             "blocks": [{"addr": 0, "size": 4, "id": 1},
                                        {"addr": 4, "size": 4, "id": 2}]})
        d = c.call({"op": "dump", "offset": 148, "length": 100})
        self.assertEqual((d["length"], d["memory"]), (2, ".."))
        d = c.call({"op": "dump", "offset": 150})
        self.assertEqual((d["ok"], d["length"], d["memory"]), (True, 0, ""))
        e = c.call({"op": "dump", "offset": 151})
        self.assertEqual((e["ok"], e["error"]), (False, "bad_request"))
        self.assertNotIn("key", json.dumps(c.call({"op": "dump", "blocks": True})))

    def test_wrong_key_is_forbidden_and_changes_nothing(self):
        c = self.connect()
        a = c.call({"op": "malloc", "id": 1, "size": 8})
        c.call({"op": "fill", "addr": 0, "key": a["key"]})
        before = c.call({"op": "dump", "blocks": True})
        wrong = "%016x" % (int(a["key"], 16) ^ 1)
        for op in ("fill", "free"):
            c.send('{"op":"%s","addr":0,"key":"%s","tag":7}\n' % (op, wrong))
            self.assertEqual(c.line(), '{"ok":false,"error":"forbidden","message":"wrong key or token","tag":7}')
        self.assertEqual(c.call({"op": "dump", "blocks": True}), before)
        # Another connection may use the block with the right key: keys, not connections, own blocks.
        other = self.connect()
        self.assertTrue(other.call({"op": "free", "addr": 0, "key": a["key"]})["ok"])

    def test_stats_fields(self):
        c = self.connect()
        s = c.call({"op": "stats"})
        for field in ("memory_size", "used", "free", "largest_free", "blocks", "policy", "requests",
                      "granted", "denied", "connections", "queue_depth", "uptime_ms",
                      "free_extents", "fragmentation"):
            self.assertIn(field, s)
        self.assertEqual((s["memory_size"], s["used"], s["free"], s["connections"]), (150, 0, 150, 1))
        self.assertEqual(s["fragmentation"], 0)

    def test_every_error_code(self):
        c = self.connect()
        cases = [
            ("not json", '{"ok":false,"error":"bad_json","message":"request is not valid JSON"}'),
            ('[1]', '{"ok":false,"error":"bad_json","message":"request is not a JSON object"}'),
            ('{"op":"malloc","size":0}', '{"ok":false,"error":"bad_request","message":"\\"size\\" must be an integer from 1 to 9007199254740991"}'),
            ('{"op":"malloc","size":-3}', None), ('{"op":"malloc","size":2.5}', None),
            ('{"op":"malloc","size":"ten"}', None), ('{"size":1}', None),
            ('{"op":"fly"}', '{"ok":false,"error":"unknown_op","message":"unknown op \\"fly\\"; '
             'valid ops: ping, malloc, my_malloc, fill, free, dump, stats, reset, renew, map, '
             'compact"}'),
            ('{"op":"free","addr":99,"key":"0000000000000000"}',
             '{"ok":false,"error":"bad_addr","message":"no block starts at that address"}'),
            ('{"op":"reset","token":"x"}', '{"ok":false,"error":"forbidden",'
             '"message":"the server has no admin token configured"}'),
        ]
        for line, want in cases:
            c.send(line + "\n")
            got = c.line()
            if want:
                self.assertEqual(got, want, line)
            else:
                self.assertEqual(json.loads(got)["error"], "bad_request", line)
        self.assertEqual(c.call({"op": "ping"}), {"ok": True})
        s = c.call({"op": "stats"})
        self.assertEqual((s["used"], s["blocks"], s["granted"]), (0, 0, 0))
        self.assertEqual(s["bad_requests"], 8)

    def test_requests_must_be_rfc_8259_json(self):
        # cJSON took these; the scanner (issue 12) follows RFC 8259.
        c = self.connect()
        bad = '{"ok":false,"error":"bad_json","message":"request is not valid JSON"}'
        for line in ['{"op":"malloc","size":01}', '{"op":"malloc","size":1.}',
                     '{"op":"ping","tag":[-.5]}', '{"op":"ping","x":00}',
                     '{"op":\x01"ping"}', '{"op":"reset","token":"a\tb"}']:
            c.send(line + "\n")
            self.assertEqual(c.line(), bad, line)
        # A fraction is no integer even where a double would round it to one.
        c.send('{"op":"malloc","size":1.00000000000000001,"tag":1}\n')
        self.assertEqual(c.line(), '{"ok":false,"error":"bad_request","message":'
                         '"\\"size\\" must be an integer from 1 to 9007199254740991","tag":1}')
        # What RFC 8259 allows still works: exponents, escaped names, a BOM.
        c.send('\ufeff{"\\u006fp":"malloc","size":1.6e1,"tag":[1E+0,-0.5e-1]}\n')
        self.assertEqual(json.loads(c.line())["size"], 16)

    def test_pipelined_100_in_one_write(self):
        c = self.connect()
        lines = []
        for i in range(100):
            op = ["ping", "stats", "malloc", "dump", "bogus"][i % 5]
            req = {"op": op, "tag": i}
            if op == "malloc":
                req["size"] = 1
            lines.append(json.dumps(req))
        c.send("\n".join(lines) + "\n")
        for i in range(100):
            r = c.reply()
            self.assertEqual(r["tag"], i)
            self.assertEqual(r["ok"], i % 5 != 4)
            if i % 5 == 2:
                self.assertEqual(r["addr"], i // 5)

    def test_request_split_across_small_writes(self):
        c = self.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for ch in '{"op":"malloc","id":4,"size":3,"tag":"split"}\r\n':
            c.send(ch)
        r = c.reply()
        self.assertEqual((r["ok"], r["size"], r["tag"]), (True, 3, "split"))

    def test_blank_lines_crlf_and_unterminated_last_line(self):
        c = self.connect()
        c.send('\n\r\n   \n{"op":"ping","tag":1}\r\n\n{"op":"ping","tag":2}')
        self.assertEqual(c.reply(), {"ok": True, "tag": 1})
        c.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(c.reply(), {"ok": True, "tag": 2})
        self.assertTrue(c.closed())

    def test_too_long_line_then_valid_request(self):
        c = self.connect()
        c.send('{"op":"ping","tag":"' + "x" * 70000 + '"}\n{"op":"ping","tag":"after"}\n')
        self.assertEqual(c.line(), '{"ok":false,"error":"too_large",'
                                   '"message":"line longer than the server\'s limit of 65536 bytes"}')
        self.assertEqual(c.reply(), {"ok": True, "tag": "after"})
        self.assertEqual(c.call({"op": "stats"})["too_large"], 1)


class OneLoop(ServerTest):
    # One event loop reads connections in the order their bytes came, so
    # the queue's order holds across connections; with several loops (the
    # suite may run with SMM_IO_THREADS set) it holds within each one.
    server_args = ("--memory", "150", "--io-threads", "1")

    def test_closing_with_requests_in_flight_keeps_allocations(self):
        c = self.connect()
        c.send('{"op":"malloc","size":1}\n' * 50)
        c.close()
        self.conns.remove(c)
        d = self.connect()
        # The server answers the next request only after the allocator saw
        # the earlier ones (one FIFO), so the 50 grants are visible now.
        s = d.call({"op": "stats"})
        self.assertEqual((s["used"], s["blocks"]), (50, 50))
        self.assertEqual(used_by_blocks(d.call({"op": "dump", "blocks": True})), 50)


class Concurrency(ServerTest):
    server_args = ("--memory", "1000")

    def test_ten_connections_fill_the_arena(self):
        grants = [[] for _ in range(10)]
        errors = []

        def worker(i):
            try:
                c = Conn(self.server.port)
                while True:
                    r = c.call({"op": "malloc", "id": i, "size": 1 + (i * 7) % 13})
                    if not r["ok"]:
                        self.assertEqual(r["error"], "no_memory")
                        break
                    grants[i].append(r)
                    self.assertTrue(c.call({"op": "fill", "addr": r["addr"], "key": r["key"]})["ok"])
                c.close()
            except Exception as e:  # reported below: assertions in threads don't fail tests
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 3)
            self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        spans = sorted((g["addr"], g["addr"] + g["size"], g["id"]) for gs in grants for g in gs)
        for (a0, a1, _), (b0, _, _) in zip(spans, spans[1:]):
            self.assertLessEqual(a1, b0, "blocks overlap")
        total = sum(e - s for s, e, _ in spans)
        self.assertLessEqual(total, 1000)
        c = self.connect()
        s = c.call({"op": "stats"})
        d = c.call({"op": "dump", "blocks": True})
        self.assertEqual(s["used"], total)
        self.assertEqual(s["blocks"], len(spans))
        self.assertEqual([(b["addr"], b["addr"] + b["size"], b["id"]) for b in d["blocks"]], spans)
        for s0, e0, ident in spans:
            self.assertEqual(set(d["memory"][s0:e0]), {"0123456789"[ident]})


class Admin(unittest.TestCase):
    def run_reset(self, server, token):
        c = server.connect()
        a = c.call({"op": "malloc", "size": 5})
        c.call({"op": "fill", "addr": a["addr"], "key": a["key"]})
        r = c.call({"op": "reset", "token": token})
        s = c.call({"op": "stats"})
        memory = c.call({"op": "dump", "length": 5})["memory"]
        # A reset scrubs: the next owner never sees the previous one's bytes.
        self.assertEqual(memory, "....." if r["ok"] else "00000")
        c.close()
        return r, s

    def test_reset_with_token_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".token") as f:
            f.write("s3cret\n")
            f.flush()
            server = Server("--admin-token-file", f.name)
            try:
                r, s = self.run_reset(server, "s3cret")
                self.assertEqual(r, {"ok": True, "freed": 1})
                self.assertEqual((s["used"], s["blocks"]), (0, 0))
                r, s = self.run_reset(server, "s3cre")
                self.assertEqual((r["error"], r["message"]),
                                 ("forbidden", "wrong or missing admin token"))
                self.assertEqual(s["used"], 5)
            finally:
                self.assertEqual(server.stop()[0], 0)

    def test_reset_with_env_token_and_without_any(self):
        server = Server(env={"SMM_ADMIN_TOKEN": "envtok"})
        try:
            self.assertTrue(self.run_reset(server, "envtok")[0]["ok"])
        finally:
            self.assertEqual(server.stop()[0], 0)
        server = Server()
        try:
            r, s = self.run_reset(server, "")
            self.assertEqual((r["error"], r["message"]),
                             ("forbidden", "the server has no admin token configured"))
            self.assertEqual(s["used"], 5)
        finally:
            self.assertEqual(server.stop()[0], 0)


class Secrets(unittest.TestCase):
    def test_keys_and_token_never_logged(self):
        with tempfile.NamedTemporaryFile("w", suffix=".token") as f:
            f.write("t0psecret\n")
            f.flush()
            server = Server("--log-level", "debug", "--admin-token-file", f.name)
            c = server.connect()
            key = c.call({"op": "malloc", "size": 3})["key"]
            c.call({"op": "fill", "addr": 0, "key": key})
            c.call({"op": "reset", "token": "t0psecret"})
            c.call({"op": "reset", "token": "guess"})
            self.assertNotIn(key, json.dumps(c.call({"op": "stats"})))
            c.close()
            status, log = server.stop()
        self.assertEqual(status, 0, log)
        self.assertIn("connection 1 opened", log)  # debug logging was on
        self.assertNotIn(key, log)
        self.assertNotIn("t0psecret", log)
        self.assertNotIn("guess", log)


class Shutdown(unittest.TestCase):
    def test_sigterm_answers_queued_requests_and_exits_0(self):
        server = Server("--memory", "100000")
        c = server.connect()
        c.send('{"op":"malloc","size":1}\n' * 2000)
        first = c.reply()
        self.assertTrue(first["ok"])
        server.proc.send_signal(signal.SIGTERM)
        answered = 1
        try:
            while answered < 2000:
                self.assertTrue(c.reply()["ok"])
                answered += 1
        except AssertionError:
            pass  # requests still unread when reading stopped are not answered
        self.assertTrue(c.closed())
        c.close()
        status, log = server.proc.wait(TIMEOUT), server.stop()[1]
        self.assertEqual(status, 0, log)
        self.assertIn("stopping", log)
        self.assertGreaterEqual(answered, 1)

    def test_sigint_exits_0(self):
        server = Server()
        self.assertEqual(server.connect().call({"op": "ping"}), {"ok": True})
        status, log = server.stop(signal.SIGINT)
        self.assertEqual(status, 0, log)


if __name__ == "__main__":
    unittest.main()
