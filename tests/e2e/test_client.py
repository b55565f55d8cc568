"""test_client.py — smm-client against the real server: the seed's demo,
each one-shot command (text, --json, exit status), load runs, and every
way of failing: refused, silent or garbled server (exit 2), error reply
(exit 1), bad usage (exit 2)."""
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import CLIENT, ServerTest, TIMEOUT

TOKEN = "t0ken-for-tests"
COMMANDS = ("ping", "malloc", "fill", "free", "dump", "stats", "reset", "demo", "load")
KEY = re.compile(r"^addr=(\d+) size=(\d+) id=(\d+) key=([0-9a-f]{16})$")


def client(*args, port=None, env=None, timeout=TIMEOUT):
    """Run smm-client with a clean environment; returns the CompletedProcess."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("SMM_HOST", "SMM_PORT", "SMM_ADMIN_TOKEN")}
    full_env.update(env or {})
    argv = [CLIENT, *args] + (["--port", str(port)] if port else [])
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=full_env)


def free_port():
    """A port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def needs_args(cmd):
    """The smallest valid arguments for cmd."""
    return {"malloc": ["--size", "1"], "fill": ["--addr", "0", "--key", "0" * 16],
            "free": ["--addr", "0", "--key", "0" * 16]}.get(cmd, [])


class ClientTest(ServerTest):
    server_env = {"SMM_ADMIN_TOKEN": TOKEN}

    def run_ok(self, *args, env=None):
        p = client(*args, port=self.server.port, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        return p.stdout

    def malloc(self, size, id_=0):
        m = KEY.match(self.run_ok("malloc", "--size", str(size), "--id", str(id_)).strip())
        self.assertIsNotNone(m)
        return int(m.group(1)), m.group(4)


class OneShot(ClientTest):
    def test_ping(self):
        self.assertEqual(self.run_ok("ping"), "pong\n")
        self.assertEqual(self.run_ok("ping", "--json"), '{"ok":true}\n')

    def test_malloc_prints_address_size_and_key(self):
        out = self.run_ok("malloc", "--size", "10", "--id", "3")
        m = KEY.match(out.rstrip("\n"))
        self.assertIsNotNone(m, out)
        self.assertEqual(m.group(1, 2, 3), ("0", "10", "3"))
        reply = json.loads(self.run_ok("malloc", "--size", "5", "--json"))
        self.assertEqual({k: reply[k] for k in ("ok", "addr", "size", "id")},
                         {"ok": True, "addr": 10, "size": 5, "id": 0})
        self.assertRegex(reply["key"], r"^[0-9a-f]{16}$")

    def test_denied_malloc_exits_1(self):
        p = client("malloc", "--size", "151", port=self.server.port)
        self.assertEqual((p.returncode, p.stdout), (1, ""))
        self.assertEqual(p.stderr, "smm-client: no_memory: Not enough memory\n")
        p = client("malloc", "--size", "151", "--json", port=self.server.port)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, '{"ok":false,"addr":-1,"error":"no_memory",'
                                   '"message":"Not enough memory"}\n')

    def test_fill_dump_free(self):
        addr, key = self.malloc(10, 7)
        self.assertEqual(self.run_ok("fill", "--addr", str(addr), "--key", key),
                         "filled 10 bytes at addr 0\n")
        self.assertEqual(self.run_ok("dump", "--raw"), "7" * 10 + "." * 140 + "\n")
        self.assertEqual(self.run_ok("fill", "--addr", "0", "--key", key, "--char", "#"),
                         "filled 10 bytes at addr 0\n")
        self.assertEqual(self.run_ok("dump", "--raw", "--offset", "8", "--length", "4"),
                         "##..\n")
        self.assertEqual(self.run_ok("free", "--addr", "0", "--key", key),
                         "freed 10 bytes at addr 0\n")
        p = client("free", "--addr", "0", "--key", key, port=self.server.port)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "smm-client: bad_addr: no block starts at that address\n")

    def test_wrong_key_exits_1(self):
        addr, key = self.malloc(4)
        wrong = "%016x" % (int(key, 16) ^ 1)
        for cmd in ("fill", "free"):
            p = client(cmd, "--addr", str(addr), "--key", wrong, port=self.server.port)
            self.assertEqual(p.returncode, 1, cmd)
            self.assertEqual(p.stderr, "smm-client: forbidden: wrong key or token\n")
            p = client(cmd, "--addr", str(addr), "--key", wrong, "--json",
                       port=self.server.port)
            self.assertEqual(json.loads(p.stdout)["error"], "forbidden")

    def test_dump_rows_and_blocks(self):
        for size, id_ in ((3, 1), (60, 2)):
            addr, key = self.malloc(size, id_)
            self.run_ok("fill", "--addr", str(addr), "--key", key)
        self.assertEqual(self.run_ok("dump"),
                         "  0  111" + "2" * 47 + "\n"
                         " 50  " + "2" * 13 + "." * 37 + "\n"
                         "100  " + "." * 50 + "\n")
        out = self.run_ok("dump", "--blocks", "--raw")
        self.assertEqual(out.splitlines()[1:], [
            "      addr       size         id  char",
            "         0          3          1  1",
            "         3         60          2  2",
            "2 blocks"])
        raw = self.connect().call({"op": "dump", "offset": 0, "blocks": True})
        self.assertEqual(json.loads(self.run_ok("dump", "--blocks", "--json")), raw)

    def test_allocated_but_unfilled_bytes_do_not_look_free(self):
        self.malloc(10, 3)
        out = self.run_ok("dump")
        self.assertEqual(out, "  0  " + ":" * 10 + "." * 40 + "\n"
                              " 50  " + "." * 50 + "\n"
                              "100  " + "." * 50 + "\n"
                              "(: allocated, not yet filled; . free)\n")
        # --raw and --json keep the server's bytes.
        self.assertEqual(self.run_ok("dump", "--raw"), "." * 150 + "\n")
        self.assertEqual(json.loads(self.run_ok("dump", "--json"))["memory"], "." * 150)
        # Only the window's blocks count.
        self.assertEqual(self.run_ok("dump", "--offset", "5", "--length", "10"),
                         " 5  :::::.....\n(: allocated, not yet filled; . free)\n")
        self.assertEqual(self.run_ok("dump", "--offset", "10", "--length", "10"),
                         "10  ..........\n")

    def test_stats(self):
        self.malloc(20)
        out = self.run_ok("stats")
        self.assertIn("policy                bump\n", out)
        self.assertIn("memory_size           150\n", out)
        self.assertIn("used                  20\n", out)
        self.assertIn("fragmentation         0.000\n", out)
        stats = json.loads(self.run_ok("stats", "--json"))
        self.assertEqual((stats["memory_size"], stats["used"], stats["blocks"]), (150, 20, 1))

    def test_reset_token_from_env_or_file(self):
        self.malloc(5)
        self.malloc(5)
        self.assertEqual(self.run_ok("reset", env={"SMM_ADMIN_TOKEN": TOKEN}),
                         "freed 2 blocks\n")
        with tempfile.NamedTemporaryFile("w", suffix=".token") as f:
            f.write(TOKEN + "\n")
            f.flush()
            self.assertEqual(json.loads(self.run_ok("reset", "--admin-token-file", f.name,
                                                    "--json")),
                             {"ok": True, "freed": 0})
        p = client("reset", port=self.server.port, env={"SMM_ADMIN_TOKEN": "wrong"})
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "smm-client: forbidden: wrong or missing admin token\n")
        p = client("reset", port=self.server.port)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no admin token", p.stderr)
        p = client("reset", "--admin-token-file", "/nonexistent/token", port=self.server.port)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read admin token file /nonexistent/token", p.stderr)

    def test_host_and_port_from_environment(self):
        env = {"SMM_HOST": "127.0.0.1", "SMM_PORT": str(self.server.port)}
        p = client("ping", env=env)
        self.assertEqual((p.returncode, p.stdout), (0, "pong\n"))
        # A flag wins over its variable.
        env["SMM_PORT"] = str(free_port())
        p = client("ping", port=self.server.port, env=env)
        self.assertEqual((p.returncode, p.stdout), (0, "pong\n"))


def parse_demo(out):
    """(header, denied ids in print order, memory, {id: (thread_message, size)})."""
    lines = out.splitlines()
    denied = [int(m.group(1)) for m in
              (re.fullmatch(r"Thread (\d+): Not enough memory", l) for l in lines) if m]
    mem_at, msg_at = lines.index("Memory:"), lines.index("thread_message:")
    memory = "".join(l.split()[1] for l in lines[mem_at + 1:msg_at] if not l.startswith("("))
    slots = {}
    for l in lines[msg_at + 1:]:
        m = re.fullmatch(r"  Thread (\d+): (-?\d+) \(asked (\d+) bytes?\)", l)
        if not m:
            raise AssertionError("unexpected demo line %r" % l)
        slots[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return lines[0], denied, memory, slots


class Demo(ClientTest):
    server_args = ("--memory", "30")

    def check_run(self, out, memory_size):
        header, denied, memory, slots = parse_demo(out)
        self.assertRegex(header, r"^Arena of %d bytes, 10 threads, seed \d+$" % memory_size)
        self.assertEqual(sorted(slots), list(range(10)))
        granted = [i for i, (addr, _) in slots.items() if addr >= 0]
        self.assertEqual(sorted(denied), [i for i, (addr, _) in slots.items() if addr == -1])
        self.assertEqual(len(granted) + len(denied), 10)
        # The workers' blocks are what the server holds: each block has its
        # owner's id character, and under bump they tile the arena from 0.
        dump = self.connect().call({"op": "dump", "blocks": True})
        self.assertEqual(dump["memory"], memory)
        blocks = dump["blocks"]
        self.assertEqual(sorted(b["id"] for b in blocks), sorted(granted))
        at = 0
        for b in blocks:
            self.assertEqual(b["addr"], at)
            self.assertEqual((b["addr"], b["size"]), slots[b["id"]])
            self.assertEqual(memory[at:at + b["size"]], str(b["id"]) * b["size"])
            at += b["size"]
        self.assertEqual(memory[at:], "." * (memory_size - at))
        return denied, slots

    def test_small_arena_denies_some(self):
        out = self.run_ok("demo", "--seed", "4")
        denied, slots = self.check_run(out, 30)
        self.assertGreater(sum(size for _, size in slots.values()), 30)  # seed 4 asks 35
        self.assertTrue(denied)
        self.assertTrue(all(1 <= size <= 5 for _, size in slots.values()))
        # The same seed asks the same sizes.
        with tempfile.NamedTemporaryFile("w") as f:
            f.write(TOKEN)
            f.flush()
            again = self.run_ok("demo", "--seed", "4", "--reset", "--admin-token-file", f.name)
        self.assertEqual({i: s for i, (_, s) in parse_demo(again)[3].items()},
                         {i: s for i, (_, s) in slots.items()})
        self.check_run(again, 30)

    def test_reset_needs_the_token(self):
        p = client("demo", "--reset", port=self.server.port)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no admin token", p.stderr)
        p = client("demo", "--reset", port=self.server.port, env={"SMM_ADMIN_TOKEN": "bad"})
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "smm-client: forbidden: wrong or missing admin token\n")

    def test_unfilled_block_in_the_map(self):
        # A block someone allocated and never filled is not free space.
        self.malloc(6, 9)
        out = self.run_ok("demo", "--seed", "4", "--threads", "2")
        lines = out.splitlines()
        at = lines.index("Memory:")
        self.assertTrue(lines[at + 1].startswith(" 0  ::::::"), out)
        self.assertEqual(lines[at + 2], "(: allocated, not yet filled; . free)")

    def test_threads_flag(self):
        _, denied, _, slots = parse_demo(self.run_ok("demo", "--threads", "3", "--seed", "1"))
        self.assertEqual(sorted(slots), [0, 1, 2])


class DemoLargeArena(ClientTest):
    server_args = ("--memory", "100000")

    def test_none_denied(self):
        out = self.run_ok("demo", "--seed", "4")
        self.assertNotIn("Not enough memory", out)
        denied, slots = Demo.check_run(self, out, 100000)
        self.assertEqual(denied, [])
        self.assertTrue(all(addr >= 0 for addr, _ in slots.values()))


class Load(ClientTest):
    server_args = ("--memory", "1M")

    def load_json(self, *args):
        return json.loads(self.run_ok("load", "--json", *args))

    def assert_arena_empty(self):
        stats = self.connect().call({"op": "stats"})
        self.assertEqual((stats["used"], stats["blocks"]), (0, 0))

    def test_duration_with_pipelining(self):
        p = client("load", "--duration", "2", "--pipeline", "16", "--json",
                   port=self.server.port, timeout=TIMEOUT + 2)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")  # no progress line: stderr is not a terminal
        s = json.loads(p.stdout)
        self.assertGreater(s["requests"], 0)
        self.assertEqual((s["errors"], s["errors_by_code"]), (0, {}))
        self.assertGreaterEqual(s["elapsed_s"], 2.0)
        self.assertEqual((s["connections"], s["threads"], s["pipeline"]), (4, 2, 16))
        lat = s["latency_us"]
        self.assertLessEqual(lat["p50"], lat["p90"])
        self.assertLessEqual(lat["p90"], lat["p99"])
        self.assertLessEqual(lat["p99"], lat["p99_9"])
        self.assertLessEqual(lat["p99_9"], lat["max"])
        self.assert_arena_empty()

    def test_request_count(self):
        s = self.load_json("--requests", "1000", "--pipeline", "8", "--connections", "3")
        self.assertEqual(s["requests"], 1000)  # 500 malloc+free units
        s = self.load_json("--requests", "301", "--op", "ping", "--threads", "3")
        self.assertEqual((s["requests"], s["op"]), (301, "ping"))
        self.assert_arena_empty()

    def test_text_summary(self):
        out = self.run_ok("load", "--requests", "200", "--size", "4-8")
        self.assertRegex(out, r"^load: malloc\+free of 4-8 bytes, 4 connections on 2 threads,"
                              r" pipeline 1\n"
                              r"requests      200 in \d+\.\d\d s \(\d+ requests/s\)\n"
                              r"errors        0\n"
                              r"latency \(us\)  p50 \d+ p90 \d+ p99 \d+ p99\.9 \d+  max \d+\n$")


class LoadSmallArena(ClientTest):
    server_args = ("--memory", "10")

    def test_denials_are_counted_not_fatal(self):
        s = json.loads(self.run_ok("load", "--requests", "400", "--size", "8", "--pipeline",
                                   "4", "--json"))
        self.assertGreater(s["errors_by_code"]["no_memory"], 0)
        self.assertEqual(s["errors"], s["errors_by_code"]["no_memory"])
        stats = self.connect().call({"op": "stats"})
        self.assertEqual((stats["used"], stats["blocks"]), (0, 0))


class ServerFull(ClientTest):
    server_args = ("--max-conns", "1")

    def test_refused_workers_end_the_run_cleanly(self):
        # The demo's own connection takes the only slot; each worker's is
        # refused with "busy" and closed. Whether the client reads that line
        # before the reset is the kernel's race: exit 1 or 2, one line, no dump.
        p = client("demo", port=self.server.port)
        self.assertIn(p.returncode, (1, 2))
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertRegex(p.stderr, r"^smm-client: (busy: too many connections|127\.0\.0\.1:\d+: )")
        self.assertNotIn("Memory:", p.stdout)

    def test_load_reports_busy_as_ping_does(self):
        # One connection fits, the other three are turned away with "busy".
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=TIMEOUT) as held:
            held.sendall(b'{"op":"ping"}\n')
            self.assertEqual(held.recv(64), b'{"ok":true}\n')
            for args in (["ping"], ["load", "--duration", "1"]):
                p = client(*args, port=self.server.port)
                self.assertEqual((p.returncode, p.stderr),
                                 (1, "smm-client: busy: too many connections\n"), args)


class Unreachable(unittest.TestCase):
    def test_refused_exits_2(self):
        port = free_port()
        for cmd in COMMANDS:
            p = client(cmd, *needs_args(cmd), port=port, env={"SMM_ADMIN_TOKEN": TOKEN})
            self.assertEqual(p.returncode, 2, cmd)
            self.assertEqual(p.stdout, "", cmd)
            self.assertEqual(p.stderr, "smm-client: cannot connect to 127.0.0.1:%d: "
                                       "Connection refused\n" % port, cmd)

    def test_unknown_host_exits_2(self):
        p = client("ping", "--host", "no-such-host.invalid")
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot resolve no-such-host.invalid", p.stderr)

    def test_silent_server_times_out(self):
        # The kernel completes the handshake from the backlog; nobody ever answers.
        with socket.socket() as lsock:
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(64)
            port = lsock.getsockname()[1]
            for cmd in ("ping", "demo", "load"):
                start = time.monotonic()
                p = client(cmd, "--timeout", "0.3", port=port)
                self.assertLess(time.monotonic() - start, TIMEOUT, cmd)
                self.assertEqual(p.returncode, 2, cmd)
                self.assertIn("127.0.0.1:%d: no reply from the server within" % port, p.stderr)
                self.assertEqual(p.stderr.count("\n"), 1, p.stderr)

    def test_garbled_or_closing_server_exits_2(self):
        for answer, text in ((b"hello\n", "unreadable reply: not a JSON object"),
                             (b"", "the server closed the connection")):
            with socket.socket() as lsock:
                lsock.bind(("127.0.0.1", 0))
                lsock.listen(1)
                lsock.settimeout(TIMEOUT)

                def serve():
                    conn, _ = lsock.accept()
                    with conn:
                        conn.settimeout(TIMEOUT)
                        conn.recv(4096)
                        conn.sendall(answer)

                t = threading.Thread(target=serve)
                t.start()
                p = client("ping", port=lsock.getsockname()[1])
                t.join(TIMEOUT)
                self.assertFalse(t.is_alive())
                self.assertEqual(p.returncode, 2)
                self.assertIn(text, p.stderr)


class Usage(unittest.TestCase):
    def test_help_for_every_command(self):
        overview = client("--help")
        self.assertEqual(overview.returncode, 0)
        self.assertIn("Usage: smm-client COMMAND", overview.stdout)
        for cmd in COMMANDS:
            self.assertIn("  %s " % cmd, overview.stdout)
            p = client(cmd, "--help")
            self.assertEqual(p.returncode, 0, cmd)
            self.assertTrue(p.stdout.startswith("Usage: smm-client %s" % cmd), p.stdout)
            self.assertIn("--timeout SECONDS", p.stdout)
            self.assertIn("Exit status", p.stdout)

    def test_version(self):
        p = client("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^smm-client \d+\.\d+\.\d+ \(protocol 1\)\n$")

    def test_bad_usage_exits_2(self):
        cases = [
            ([], "no command given", "smm-client --help"),
            (["pong"], "unknown command 'pong'", "smm-client --help"),
            (["ping", "--bogus"], "unknown option '--bogus'", "smm-client ping --help"),
            (["ping", "extra"], "unexpected argument 'extra'", "smm-client ping --help"),
            (["malloc"], "malloc needs --size", "smm-client malloc --help"),
            (["malloc", "--size", "x"], "--size: invalid value 'x'", "smm-client malloc --help"),
            (["free", "--addr", "1", "--key", "xyz"], "--key: invalid value 'xyz'",
             "smm-client free --help"),
            (["dump", "--size", "3"], "dump does not take --size", "smm-client dump --help"),
            (["ping", "--port", "99999"], "--port: invalid value '99999'",
             "smm-client ping --help"),
            (["load", "--duration", "1", "--requests", "2"], "not both",
             "smm-client load --help"),
            (["demo", "--timeout", "soon"], "--timeout: invalid value 'soon'",
             "smm-client demo --help"),
        ]
        for args, text, hint in cases:
            p = client(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, "", args)
            self.assertIn(text, p.stderr, args)
            self.assertIn("Try '%s'." % hint, p.stderr, args)
        p = client("ping", env={"SMM_PORT": "http"})
        self.assertEqual(p.returncode, 2)
        self.assertIn("SMM_PORT: invalid value 'http'", p.stderr)


if __name__ == "__main__":
    unittest.main()
