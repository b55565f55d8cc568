"""test_ops_config.py — configuration and logs as operators meet them:
every flag has an SMM_* variable that the server really reads, a flag wins
over its variable, and log lines carry time, level and message in text or
JSON, with per-connection lines at debug only."""
import json
import os
import re
import resource
import subprocess
import unittest

import harness


from harness import Server

HELP_FLAG = re.compile(r"^  --([a-z][a-z-]*) ([A-Z]+) ")
HELP_ENV = re.compile(r"^\s+env (SMM_[A-Z_]+)$")
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warn|error) +\S.*$")
JSON_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def help_settings():
    """[(flag, env)] for every setting `smm-server --help` lists."""
    out = subprocess.run([harness.SERVER, "--help"], capture_output=True, text=True,
                         timeout=harness.TIMEOUT, check=True).stdout.splitlines()
    pairs = []
    for i, line in enumerate(out):
        m = HELP_FLAG.match(line)
        if m:
            env = HELP_ENV.match(out[i + 1]) if i + 1 < len(out) else None
            pairs.append((m.group(1), env.group(1) if env else None))
    return pairs


def run_server(*args, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([harness.SERVER, *args], capture_output=True, text=True,
                          timeout=harness.TIMEOUT, env=full_env)


class SettingsTest(unittest.TestCase):

    def test_every_flag_has_an_env_var_named_after_it(self):
        pairs = help_settings()
        self.assertGreaterEqual(len(pairs), 10, pairs)
        for flag, env in pairs:
            with self.subTest(flag):
                self.assertEqual(env, "SMM_" + flag.upper().replace("-", "_"))

    def test_every_env_var_is_read(self):
        # A value no setting accepts (too long for the strings, not a
        # number, policy, character, level or format) must be refused and
        # named, which shows the server reads that variable.
        bogus = "x" * 5000
        for flag, env in help_settings():
            with self.subTest(env):
                out = run_server("--version", env={env: bogus})
                self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
                self.assertIn(env, out.stderr)
                self.assertEqual(len(out.stderr.splitlines()), 2, out.stderr)

    def test_bad_flag_value_names_the_flag(self):
        out = run_server("--memory", "lots")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--memory", out.stderr)

    def test_empty_env_var_counts_as_unset(self):
        server = Server(env={"SMM_MEMORY": ""})
        try:
            conn = server.connect()
            self.assertEqual(conn.call({"op": "stats"})["memory_size"], 150)
            conn.close()
        finally:
            self.assertEqual(server.stop()[0], 0)


class PrecedenceTest(unittest.TestCase):
    """Default < environment < flag, seen from a client over TCP."""

    def stats_and_dump(self, *args, env=None):
        server = Server(*args, env=env)
        try:
            conn = server.connect()
            stats = conn.call({"op": "stats"})
            dump = conn.call({"op": "dump"})
            conn.close()
        finally:
            status, log = server.stop()
        self.assertEqual(status, 0, log)
        return stats, dump, log

    def test_env_alone_applies(self):
        stats, dump, _ = self.stats_and_dump(env={"SMM_MEMORY": "64", "SMM_FILLER": "#"})
        self.assertEqual(stats["memory_size"], 64)
        self.assertEqual(dump["memory"], "#" * 64)

    def test_flag_wins_over_env(self):
        stats, dump, _ = self.stats_and_dump(
            "--memory", "128", "--filler", "*",
            env={"SMM_MEMORY": "64", "SMM_FILLER": "#"})
        self.assertEqual(stats["memory_size"], 128)
        self.assertEqual(dump["memory"], "*" * 128)

    def test_log_settings_from_env_and_flag(self):
        _, _, log = self.stats_and_dump(env={"SMM_LOG_FORMAT": "json"})
        self.assertTrue(log.startswith("{"), log)
        _, _, log = self.stats_and_dump("--log-format", "text",
                                        env={"SMM_LOG_FORMAT": "json"})
        self.assertRegex(log.splitlines()[0], TEXT_LINE)


class LogTest(unittest.TestCase):

    def run_and_log(self, *args, requests=0):
        server = Server(*args)
        try:
            conn = server.connect()
            for _ in range(requests):
                self.assertEqual(conn.call({"op": "ping"}), {"ok": True})
            self.assertTrue(conn.call({"op": "stats"})["ok"])
            conn.close()
            # Let the server see the close before it is told to stop.
            probe = server.connect()
            probe.call({"op": "ping"})
            probe.close()
        finally:
            status, log = server.stop()
        self.assertEqual(status, 0, log)
        return log.splitlines()

    def test_json_lines_have_time_level_msg(self):
        # One loop, as in the man page's example (with several, the open
        # line names the loop: test_io_threads).
        lines = self.run_and_log("--log-format", "json", "--log-level", "debug",
                                 "--io-threads", "1")
        self.assertGreaterEqual(len(lines), 4, lines)
        msgs = []
        for line in lines:
            with self.subTest(line=line):
                obj = json.loads(line)
                self.assertLessEqual({"time", "level", "msg"}, set(obj))
                self.assertRegex(obj["time"], JSON_TIME)
                self.assertIn(obj["level"], ("debug", "info", "warn", "error"))
                self.assertIsInstance(obj["msg"], str)
                msgs.append((obj["level"], obj["msg"]))
        self.assertIn("listening on", msgs[0][1])
        self.assertIn(("debug", "connection 1 opened"), msgs)
        self.assertIn(("debug", "connection 1 closed"), msgs)
        self.assertEqual(msgs[-1], ("info", "stopped"))

    def test_text_lines_have_time_level_msg(self):
        lines = self.run_and_log("--log-level", "debug", "--io-threads", "1")
        for line in lines:
            with self.subTest(line=line):
                self.assertRegex(line, TEXT_LINE)
        self.assertTrue(any(re.search(r" debug +connection 1 opened$", l) for l in lines), lines)

    def test_info_level_logs_no_connection_or_request(self):
        # Many requests, two connections: at info the log holds only the
        # start line, the signal line and the stop line.
        lines = self.run_and_log(requests=200)
        self.assertEqual(len(lines), 3, lines)
        self.assertIn("listening on", lines[0])
        self.assertTrue(lines[-1].endswith(" stopped"), lines)

    def test_trouble_is_logged_at_warn_and_the_server_recovers(self):
        # Few file descriptors: accept(2) fails with EMFILE, which the server
        # logs at warn and rides out; once clients leave it serves again.
        def few_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
        server = Server("--log-format", "json", preexec_fn=few_fds)
        conns = []
        try:
            for _ in range(20):
                conns.append(harness.Conn(server.port))
            warned = server.wait_log(r'\{"time":"[^"]+","level":"warn","msg":"accept: [^"]+"\}')
            self.assertTrue(warned, server.log)
            for c in conns:
                c.close()
            conns = []
            later = harness.Conn(server.port)
            self.assertEqual(later.call({"op": "ping"}), {"ok": True})
            later.close()
        finally:
            for c in conns:
                c.close()
            status, log = server.stop()
        self.assertEqual(status, 0, log)
        for line in log.splitlines():
            self.assertNotEqual(json.loads(line)["level"], "error", line)


if __name__ == "__main__":
    unittest.main()
