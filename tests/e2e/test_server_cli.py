"""test_server_cli.py — smm-server's command line: help, version, bad
flags (exit 2), start-up failures (exit 1), environment settings."""
import re
import subprocess
import unittest

from harness import SERVER, Server, TIMEOUT


def run(*args, env=None):
    return subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env=env)


class Cli(unittest.TestCase):
    def test_help_lists_every_flag(self):
        p = run("--help")
        self.assertEqual(p.returncode, 0)
        for flag in ("--host", "--port", "--memory", "--policy", "--filler", "--align",
                     "--admin-token-file", "--max-line", "--max-conns", "--queue-depth",
                     "--io-threads", "--allocator-cpu", "--max-output", "--idle-timeout", "--log-level", "--log-format",
                     "--version"):
            self.assertIn(flag, p.stdout)
        self.assertIn("SMM_MEMORY", p.stdout)

    def test_version(self):
        p = run("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^smm-server \d+\.\d+\.\d+ \(protocol 1\)\n$")
        self.assertEqual(run("-V").stdout, p.stdout)

    def test_short_help_listed(self):
        p = run("-h")
        self.assertEqual((p.returncode, p.stdout), (0, run("--help").stdout))
        self.assertIn("  -h, --help ", p.stdout)
        self.assertIn("  -V, --version ", p.stdout)

    def test_bad_flags_exit_2(self):
        cases = [
            (["--bogus"], "unknown option '--bogus'"),
            (["--port"], "missing value for"),
            (["--port", "70000"], "--port: invalid value '70000'"),
            (["--memory", "0"], "--memory: invalid value '0'"),
            (["--memory", "12Q"], "--memory: invalid value '12Q'"),
            (["--policy", "nope"], "unknown policy 'nope'"),
            (["--align", "3"], "--align: invalid value '3'"),
            (["--filler", " "], "--filler: invalid value ' '"),
            (["--log-level", "loud"], "--log-level: invalid value 'loud'"),
            (["--queue-depth", "0"], "--queue-depth must be at least 1"),
            (["--io-threads", "0"], "--io-threads must be from 1 to 64"),
            (["--io-threads", "65"], "--io-threads must be from 1 to 64"),
            (["--allocator-cpu", "mine"], "--allocator-cpu: invalid value 'mine'"),
            (["--allocator-cpu", "loop", "--io-threads", "2"],
             "--allocator-cpu loop goes with --io-threads 1"),
            (["stray"], "unexpected argument 'stray'"),
        ]
        for args, text in cases:
            p = run(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(text, p.stderr, args)
            self.assertIn("Try 'smm-server --help'", p.stderr)

    def test_bad_environment_exits_2(self):
        p = run(env={"SMM_PORT": "http"})
        self.assertEqual(p.returncode, 2)
        self.assertIn("SMM_PORT: invalid value 'http'", p.stderr)

    def test_flag_wins_and_its_variable_is_not_read(self):
        server = Server("--memory", "64", env={"SMM_MEMORY": "lots"})
        try:
            c = server.connect()
            self.assertEqual(c.call({"op": "stats"})["memory_size"], 64)
            c.close()
        finally:
            self.assertEqual(server.stop()[0], 0)

    def test_port_in_use_exits_1(self):
        first = Server()
        try:
            p = run("--port", str(first.port))
            self.assertEqual(p.returncode, 1)
            self.assertIn("bind 127.0.0.1:%d: Address already in use" % first.port, p.stderr)
        finally:
            self.assertEqual(first.stop()[0], 0)

    def test_missing_token_file_exits_1(self):
        p = run("--port", "0", "--admin-token-file", "/nonexistent/token")
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read admin token file /nonexistent/token", p.stderr)

    def test_memory_suffix_and_env(self):
        server = Server("--memory", "5G", env={"SMM_FILLER": "_"})
        try:
            c = server.connect()
            s = c.call({"op": "stats"})
            self.assertEqual(s["memory_size"], 5 << 30)
            d = c.call({"op": "dump", "offset": (5 << 30) - 3})
            self.assertEqual(d["memory"], "___")
            big = c.call({"op": "malloc", "size": (4 << 30) + 7})
            self.assertEqual((big["ok"], big["addr"]), (True, 0))
            self.assertEqual(c.call({"op": "malloc", "size": 2})["addr"], (4 << 30) + 7)
            self.assertTrue(re.search(r"listening on 127\.0\.0\.1:\d+", server.log))
            c.close()
        finally:
            self.assertEqual(server.stop()[0], 0)


if __name__ == "__main__":
    unittest.main()
