"""test_policies.py — every placement policy serves the seed's demo and a
load run end to end, through the real server and the real client."""
import json
import re
import subprocess
import unittest

from harness import CLIENT, Server, TIMEOUT

POLICIES = ["bump", "first-fit", "next-fit", "best-fit", "worst-fit", "buddy", "tlsf"]
THREAD = re.compile(r"^  Thread (\d+): (-?\d+) \(asked (\d+) bytes\)$", re.M)


def client(port, *args):
    return subprocess.run([CLIENT, "--port", str(port), *args], capture_output=True,
                          text=True, timeout=TIMEOUT * 3)


class Policies(unittest.TestCase):
    def check_policy(self, policy):
        server = Server("--memory", "64K", "--policy", policy)
        try:
            demo = client(server.port, "demo", "--seed", "11")
            self.assertEqual(demo.returncode, 0, demo.stderr)
            threads = THREAD.findall(demo.stdout)
            self.assertEqual(len(threads), 10, demo.stdout)
            conn = server.connect()
            dump = conn.call({"op": "dump", "blocks": True})
            blocks = {b["addr"]: b for b in dump["blocks"]}
            granted = [(int(t), int(a), int(n)) for t, a, n in threads if int(a) >= 0]
            self.assertEqual(len(blocks), len(granted))
            for tid, addr, asked in granted:
                b = blocks[addr]
                self.assertEqual(b["id"], tid)
                self.assertGreaterEqual(b["size"], asked)
                self.assertEqual(set(dump["memory"][addr:addr + b["size"]]), {str(tid)})
            used_after_demo = conn.call({"op": "stats"})["used"]
            load = client(server.port, "load", "--requests", "4000", "--pipeline", "8", "--json")
            self.assertEqual(load.returncode, 0, load.stderr)
            summary = json.loads(load.stdout)
            self.assertEqual((summary["requests"], summary["errors"]), (4000, 0))
            s = conn.call({"op": "stats"})
            self.assertEqual((s["policy"], s["used"], s["blocks"]),
                             (policy, used_after_demo, len(granted)))
            conn.close()
        finally:
            status, log = server.stop()
            self.assertEqual(status, 0, log)

    def test_every_policy(self):
        for policy in POLICIES:
            with self.subTest(policy=policy):
                self.check_policy(policy)

    def test_align(self):
        server = Server("--memory", "4K", "--policy", "first-fit", "--align", "64")
        try:
            c = server.connect()
            addrs = [c.call({"op": "malloc", "size": n})["addr"] for n in (1, 70, 3)]
            self.assertEqual(addrs, [0, 64, 192])
            c.close()
        finally:
            self.assertEqual(server.stop()[0], 0)


if __name__ == "__main__":
    unittest.main()
