"""test_watch.py — the scaled map in the terminal (issue 13).

`dump --cells N` on a 1 GiB arena prints a bounded number of lines and
marks exactly the cells the blocks cover; `demo` on an arena past its
print limit shows the scaled map instead of 20,000 lines; `watch` under a
pseudo-terminal redraws in place and exits 0 on Ctrl-C, and prints plain
rounds when its output is not a terminal.
"""
import os
import pty
import re
import select
import signal
import subprocess
import time
import unittest

from harness import CLIENT, TIMEOUT, ServerTest
from test_client import client

GIB = 1 << 30
ROW = 50


def map_rows(out):
    """The map's rows: {address of the row: its cells as text}."""
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(r"^ *(\d+)  ([^\s]+)$", out, re.M)}


class DumpCells(ServerTest):
    server_args = ("--memory", "1G")

    def test_bounded_and_marks_the_right_cells(self):
        c = self.connect()
        a = c.call({"op": "malloc", "id": 3, "size": 100 << 20})        # cells 0..9 (and a bit)
        b = c.call({"op": "malloc", "id": 4, "size": 1})                 # one byte in cell 9
        c.call({"op": "free", "addr": 0, "key": a["key"]})
        big = c.call({"op": "malloc", "id": 5, "size": 300 << 20})       # above: bump
        c.call({"op": "fill", "addr": big["addr"], "key": big["key"]})
        r = client("dump", "--cells", "100", port=self.server.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertLessEqual(len(lines), 4)                              # heading, 2 rows, legend
        self.assertIn("100 cells of about 10737418 bytes", lines[0])
        cells = "".join(map_rows(r.stdout)[addr] for addr in sorted(map_rows(r.stdout)))
        self.assertEqual(len(cells), 100)
        cell = lambda addr: addr * 100 // GIB
        want = ["."] * 100
        want[cell(b["addr"])] = ":"                                      # allocated, never filled
        for i in range(cell(big["addr"]), cell(big["addr"] + (300 << 20) - 1) + 1):
            want[i] = "5"
        self.assertEqual(cells, "".join(want))
        self.assertRegex(lines[-1], r"mostly allocated, not yet filled")
        # The whole range of --cells, and the window flags with it.
        r = client("dump", "--cells", "16384", port=self.server.port)
        self.assertEqual(len(r.stdout.splitlines()), 16384 // ROW + 1 + 2)
        r = client("dump", "--cells", "10", "--offset", str(big["addr"]), "--length", "1000",
                   port=self.server.port)
        self.assertEqual("".join(map_rows(r.stdout).values()), "5" * 10)
        self.assertEqual(client("dump", "--cells", "0", port=self.server.port).returncode, 2)
        self.assertEqual(client("dump", "--cells", "16385", port=self.server.port).returncode, 2)

    def test_demo_shows_the_scaled_map_past_its_limit(self):
        # The threads fill up to a sixth of 1 GiB each: under a sanitizer
        # on a busy machine that outlasts the client's default 5 s.
        r = client("demo", "--seed", "3", "--threads", "3", "--timeout", str(int(TIMEOUT)),
                   port=self.server.port, timeout=TIMEOUT + 10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(len(r.stdout.splitlines()), 40)
        self.assertIn("1000 cells of about 1073741 bytes", r.stdout)
        granted = [int(a) for a in re.findall(r"Thread \d+: (\d+) \(asked", r.stdout)]
        cells = "".join(v for _, v in sorted(map_rows(r.stdout).items()))
        for addr in granted:
            self.assertNotEqual(cells[addr * 1000 // GIB], ".", addr)


def read_until(fd, proc, pattern, count, timeout=TIMEOUT):
    """Read the pty until pattern has appeared count times; return the text."""
    out, deadline = b"", time.monotonic() + timeout
    while out.count(pattern) < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
        elif proc.poll() is not None:
            break
    return out


class Watch(ServerTest):
    def test_redraws_in_place_and_exits_0_on_ctrl_c(self):
        c = self.connect()
        c.call({"op": "malloc", "id": 7, "size": 30})
        master, slave = pty.openpty()
        proc = subprocess.Popen([CLIENT, "--port", str(self.server.port), "watch",
                                 "--interval", "0.2", "--cells", "150"],
                                stdout=slave, stderr=subprocess.PIPE,
                                env={k: v for k, v in os.environ.items() if k != "NO_COLOR"})
        os.close(slave)
        try:
            out = read_until(master, proc, b"\033[H\033[2J", 3)
            self.assertGreaterEqual(out.count(b"\033[H\033[2J"), 3, out[-300:])
            self.assertIn(b"used                  30", out[-2000:])
            # The change shows up in a later round: a filled block in its
            # owner's character.
            r = c.call({"op": "malloc", "id": 8, "size": 20})
            c.call({"op": "fill", "addr": r["addr"], "key": r["key"]})
            out = read_until(master, proc, b"used                  50", 1)
            self.assertIn(b"used                  50", out, out[-300:])
            out += read_until(master, proc, b"\033[H\033[2J", 1)
            self.assertIn(b"8\033[0m\033[33m8", out, out[-300:])
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(TIMEOUT), 0, proc.stderr.read())
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
                proc.wait(TIMEOUT)

    def test_plain_rounds_when_not_a_terminal(self):
        proc = subprocess.Popen([CLIENT, "--port", str(self.server.port), "watch",
                                 "--interval", "0.1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            seen = b""
            deadline = time.monotonic() + TIMEOUT
            while seen.count(b"smm-client watch,") < 2 and time.monotonic() < deadline:
                seen += os.read(proc.stdout.fileno(), 65536)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=TIMEOUT)
            self.assertEqual(proc.returncode, 0, err)
            self.assertNotIn(b"\033", seen + out)
            self.assertGreaterEqual((seen + out).count(b"smm-client watch,"), 2)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(TIMEOUT)

    def test_server_gone_is_exit_2(self):
        self.server.stop()
        r = subprocess.run([CLIENT, "--port", str(self.server.port), "watch"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot connect", r.stderr)


if __name__ == "__main__":
    unittest.main()
