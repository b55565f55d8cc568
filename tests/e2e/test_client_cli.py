"""test_client_cli.py — smm-client's command-line conventions (issue 9):
-h and `help [COMMAND]` as --help, each command's --help about its own
options, --size with K/M/G suffixes, --color and NO_COLOR, the load
progress heading, and load runs cut short by Ctrl-C or a lost server,
which still print what they measured."""
import json
import os
import pty
import re
import select
import signal
import subprocess
import time
import unittest

from harness import CLIENT, Server, ServerTest, TIMEOUT
from test_client import client

COMMANDS = ("ping", "malloc", "fill", "free", "dump", "stats", "reset", "demo", "load")


def read_all(fd, proc, timeout=TIMEOUT):
    """Everything written to the pty fd until proc exits (and the pty drains)."""
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out.decode(errors="replace")


def with_tty(args, stream, env=None):
    """Run smm-client with stdout or stderr on a pseudo-terminal; returns
    (exit status, what the terminal got, the other stream)."""
    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env.update(env or {})
    kw = {"stdout": slave, "stderr": subprocess.PIPE} if stream == "stdout" else \
         {"stdout": subprocess.PIPE, "stderr": slave}
    proc = subprocess.Popen([CLIENT, *args], env=full_env, **kw)
    os.close(slave)
    try:
        tty = read_all(master, proc)
        out, err = proc.communicate(timeout=TIMEOUT)
        return proc.returncode, tty, (err if stream == "stdout" else out).decode()
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)


class Help(unittest.TestCase):
    def test_h_and_help_word_are_help(self):
        overview = client("--help")
        self.assertEqual(overview.returncode, 0)
        for args in (["-h"], ["help"]):
            p = client(*args)
            self.assertEqual((p.returncode, p.stdout), (0, overview.stdout), args)
        for cmd in COMMANDS:
            want = client(cmd, "--help").stdout
            self.assertTrue(want.startswith("Usage: smm-client %s " % cmd))
            for args in ([cmd, "-h"], ["help", cmd]):
                p = client(*args)
                self.assertEqual((p.returncode, p.stdout, p.stderr), (0, want, ""), args)
        p = client("help", "pong")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown command 'pong'", p.stderr)
        self.assertRegex(client("-V").stdout, r"^smm-client \d+\.\d+\.\d+ \(protocol 1\)\n$")

    def test_each_command_describes_its_own_options(self):
        malloc = client("malloc", "--help").stdout
        self.assertNotIn("load", malloc)
        self.assertIn("--size N", malloc)
        self.assertIn("K, M, G, T", malloc)
        ping = client("ping", "--help").stdout
        self.assertNotIn("summary", ping)
        self.assertIn("--json ", ping)
        load = client("load", "--help").stdout
        self.assertIn("--size MIN-MAX", load)
        self.assertNotIn("reply line", load)
        self.assertIn("130", load)
        demo = client("demo", "--help").stdout
        self.assertNotIn("client threads", demo)
        self.assertIn("--color WHEN", demo)


class Sizes(ServerTest):
    server_args = ("--memory", "3M")

    def test_size_suffixes_like_the_servers_memory(self):
        p = client("malloc", "--size", "2M", port=self.server.port)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^addr=0 size=2097152 id=0 key=[0-9a-f]{16}\n$")
        p = client("malloc", "--size", "1k", "--json", port=self.server.port)
        self.assertEqual(json.loads(p.stdout)["size"], 1024)
        p = client("malloc", "--size", "2MB", port=self.server.port)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--size: invalid value '2MB'", p.stderr)


class Color(ServerTest):
    def setUp(self):
        super().setUp()
        c = self.connect()
        c.call({"op": "malloc", "id": 1, "size": 4})

    def test_color_flag_and_no_color(self):
        # Not a terminal: no colour unless asked.
        self.assertNotIn("\033[", client("dump", port=self.server.port).stdout)
        p = client("dump", "--color=always", port=self.server.port)
        self.assertIn("\033[32m\033[7m::::\033[0m", p.stdout)
        p = client("dump", "--color", "always", port=self.server.port, env={"NO_COLOR": "1"})
        self.assertIn("\033[", p.stdout)  # the flag wins
        # A terminal: colour, unless NO_COLOR is set (and not empty) or --color never.
        port = ["--port", str(self.server.port)]
        for env, args, coloured in (({}, [], True), ({"NO_COLOR": "1"}, [], False),
                                    ({"NO_COLOR": ""}, [], True),
                                    ({}, ["--color", "never"], False)):
            status, tty, _ = with_tty(["dump", *args, *port], "stdout", env)
            self.assertEqual(status, 0)
            self.assertEqual("\033[" in tty, coloured, (env, args, tty))
            self.assertIn("allocated, not yet filled", tty)


class LoadProgress(ServerTest):
    server_args = ("--memory", "1M")

    def test_heading_from_the_first_second(self):
        status, tty, out = with_tty(["load", "--duration", "1.5", "--port",
                                     str(self.server.port)], "stderr")
        self.assertEqual(status, 0, tty)
        self.assertTrue(tty.startswith("elapsed  requests/s      errors\r\n"), repr(tty))
        # A line at once (before the first second is over), then one a second.
        self.assertRegex(tty, r"^[^\r]*\r\s+0\.\ds\s+\d+\s+0\x1b\[K")
        self.assertRegex(tty, r"\r\s+1\.\ds\s+\d+\s+0\x1b\[K")
        self.assertTrue(tty.endswith("\r\033[K\033[A\033[K"), repr(tty))
        self.assertTrue(out.startswith("load: malloc+free"))


def wait_for_requests(server, at_least=200):
    """Wait until the server has answered at_least requests (the run is going)."""
    c = server.connect()
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            if c.call({"op": "stats"})["requests"] >= at_least:
                return
            time.sleep(0.02)
        raise AssertionError("the load run did not start")
    finally:
        c.close()


def start_load(port, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("SMM_HOST", "SMM_PORT")}
    return subprocess.Popen([CLIENT, "load", "--duration", "60", "--port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


class Interrupted(ServerTest):
    server_args = ("--memory", "1M")

    def interrupt(self, *args):
        proc = start_load(self.server.port, *args)
        try:
            wait_for_requests(self.server)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=TIMEOUT)
        self.assertEqual((proc.returncode, err), (130, "smm-client: interrupted\n"))
        # Units in flight finished: every block the run took is freed.
        stats = self.connect().call({"op": "stats"})
        self.assertEqual((stats["used"], stats["blocks"]), (0, 0))
        return out

    def test_ctrl_c_prints_the_summary_so_far(self):
        out = self.interrupt()
        self.assertRegex(out, r"^load: malloc\+free of 1-16 bytes, 4 connections on 2 threads,"
                              r" pipeline 1\n"
                              r"interrupted   by SIGINT: the figures cover the run so far\n"
                              r"requests      [1-9]\d* in \d+\.\d\d s \(\d+ requests/s\)\n"
                              r"errors        0\n"
                              r"latency \(us\)  p50 \d+ p90 \d+ p99 \d+ p99\.9 \d+  max \d+\n$")

    def test_ctrl_c_json(self):
        s = json.loads(self.interrupt("--json", "--op", "ping"))
        self.assertEqual((s["interrupted"], s["op"]), ("sigint", "ping"))
        self.assertGreater(s["requests"], 0)
        self.assertLess(s["elapsed_s"], 60)


TOKEN = "t0ken-for-verbose"
TRACE = re.compile(r"^\[(main|thread \d+)\] ([<>]) (\{.*\})$")


def traces(stderr):
    """[(who, direction, parsed line)] from --verbose output; every line must be one."""
    out = []
    for line in stderr.splitlines():
        m = TRACE.match(line)
        if not m:
            raise AssertionError("not a trace line: %r" % line)
        out.append((m.group(1), m.group(2), json.loads(m.group(3))))
    return out


class Verbose(ServerTest):
    server_args = ("--memory", "30")
    server_env = {"SMM_ADMIN_TOKEN": TOKEN}

    def test_demo_threads_send_my_malloc_and_show_the_traffic(self):
        quiet = client("demo", "--seed", "4", "--threads", "3", port=self.server.port)
        p = client("demo", "--seed", "4", "--threads", "3", "--verbose", "--reset",
                   port=self.server.port, env={"SMM_ADMIN_TOKEN": TOKEN})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[0], quiet.stdout.splitlines()[0])
        lines = traces(p.stderr)
        main = [(d, l) for who, d, l in lines if who == "main"]
        self.assertEqual(main[0], (">", {"op": "reset", "token": "(hidden)"}))
        self.assertNotIn(TOKEN, p.stderr)
        self.assertEqual(main[2], (">", {"op": "stats"}))
        self.assertEqual(main[-2], (">", {"op": "dump", "offset": 0, "blocks": True}))
        for i in range(3):
            mine = [(d, l) for who, d, l in lines if who == "thread %d" % i]
            self.assertEqual(mine[0][0], ">")
            self.assertEqual(mine[0][1]["op"], "my_malloc")  # the seed's name
            self.assertEqual(mine[0][1]["id"], i)
            self.assertEqual(mine[1][0], "<")
            self.assertIn("ok", mine[1][1])
            if mine[1][1]["ok"]:
                self.assertEqual([d for d, _ in mine], [">", "<", ">", "<"])
                self.assertEqual(mine[2][1]["op"], "fill")

    def test_one_shot_commands(self):
        p = client("malloc", "--size", "3", "--id", "2", "--verbose", port=self.server.port)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^addr=0 size=3 id=2 key=[0-9a-f]{16}\n$")
        (w1, d1, req), (w2, d2, rep) = traces(p.stderr)
        self.assertEqual((w1, d1, req), ("main", ">", {"op": "malloc", "id": 2, "size": 3}))
        self.assertEqual((w2, d2, rep["ok"], rep["addr"]), ("main", "<", True, 0))
        p = client("ping", "--verbose", "--json", port=self.server.port)
        self.assertEqual((p.stdout, p.stderr), ('{"ok":true}\n',
                                                '[main] > {"op":"ping"}\n[main] < {"ok":true}\n'))
        p = client("reset", "--verbose", port=self.server.port, env={"SMM_ADMIN_TOKEN": "nope"})
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.splitlines()[0], '[main] > {"op":"reset","token":"(hidden)"}')
        self.assertNotIn("nope", p.stderr)
        # The operator's free carries the token too.
        p = client("free", "--addr", "0", "--verbose", port=self.server.port,
                   env={"SMM_ADMIN_TOKEN": TOKEN})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(traces(p.stderr)[0],
                         ("main", ">", {"op": "free", "addr": 0, "token": "(hidden)"}))
        self.assertNotIn(TOKEN, p.stderr)


class LostServer(unittest.TestCase):
    def test_server_gone_mid_run_prints_the_summary_and_exits_2(self):
        for args in ([], ["--json"]):
            server = Server("--memory", "1M")
            proc = start_load(server.port, *args)
            try:
                wait_for_requests(server)
                self.assertEqual(server.stop(signal.SIGKILL)[0], -signal.SIGKILL)
                out, err = proc.communicate(timeout=TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate(timeout=TIMEOUT)
            self.assertEqual(proc.returncode, 2, err)
            self.assertRegex(err, r"^smm-client: 127\.0\.0\.1:%d: .*\n$" % server.port)
            if args:
                s = json.loads(out)
                self.assertEqual(s["interrupted"], "server_lost")
                self.assertGreater(s["requests"], 0)
            else:
                self.assertIn("interrupted   the server went away: the figures cover the run "
                              "so far\n", out)
                self.assertRegex(out, r"requests      [1-9]\d* in ")


if __name__ == "__main__":
    unittest.main()
