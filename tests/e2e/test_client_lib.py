"""test_client_lib.py — libsmmclient from many threads on many connections
at once (tests/unit/test_client_threads.c) against the real server. In a
-DSMM_SANITIZE=thread build this is the library's ThreadSanitizer test."""
import os
import subprocess
import unittest

from harness import ServerTest, TIMEOUT

PROGRAM = os.environ.get("SMM_CLIENT_THREADS", "../../build/tests/test_client_threads")


class ManyThreads(ServerTest):
    server_args = ("--memory", "1M")

    def test_threads_on_many_connections(self):
        p = subprocess.run([PROGRAM, str(self.server.port)], capture_output=True, text=True,
                           timeout=TIMEOUT * 6)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ok: 16 threads x 4 connections", p.stdout)
        self.assertNotIn("ThreadSanitizer", p.stderr)
        self.assertNotIn("AddressSanitizer", p.stderr)
        self.assertNotIn("runtime error", p.stderr)
        # Every block was freed again.
        stats = self.connect().call({"op": "stats"})
        self.assertEqual((stats["used"], stats["blocks"]), (0, 0))


if __name__ == "__main__":
    unittest.main()
