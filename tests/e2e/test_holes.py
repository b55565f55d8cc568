"""test_holes.py — end-to-end checks of what mutation testing (issue 14)
found guarded by one unit test or none: a server with an admin token
refuses every near miss of it, a dump too long for one reply says
`truncated`, and a freed block merges with a free right-hand neighbour.
Each was checked to fail against the bug planted in a copy."""
import os
import tempfile
import unittest

from harness import Server

TOKEN = "s3cret-token"
# Near misses: empty, proper prefixes, longer strings starting with the
# token, one byte changed at either end.
NEAR_MISSES = ["", "s", TOKEN[:-1], TOKEN + "!", TOKEN + TOKEN, TOKEN + " ",
               "S" + TOKEN[1:], TOKEN[:-1] + "N"]
# The policies that merge a freed block with its free neighbours at once.
COALESCING = ["first-fit", "next-fit", "best-fit", "worst-fit", "tlsf"]
# One dump reply's limits (PROTOCOL.md, dump).
MAX_DUMP = 1048576
MAX_DUMP_BLOCKS = 16384


class AdminToken(unittest.TestCase):

    def setUp(self):
        fd, self.token_file = tempfile.mkstemp(suffix=".token")
        with os.fdopen(fd, "w") as f:
            f.write(TOKEN + "\n")
        self.server = Server("--admin-token-file", self.token_file)

    def tearDown(self):
        status, log = self.server.stop()
        os.unlink(self.token_file)
        self.assertEqual(status, 0, log)

    def test_near_misses_are_forbidden_and_change_nothing(self):
        c = self.server.connect()
        a = c.call({"op": "malloc", "id": 7, "size": 5})
        c.call({"op": "fill", "addr": a["addr"], "key": a["key"]})
        before = c.call({"op": "stats"})
        for guess in NEAR_MISSES:
            with self.subTest(guess=guess):
                r = c.call({"op": "reset", "token": guess})
                self.assertEqual((r["ok"], r.get("error")), (False, "forbidden"), r)
                s = c.call({"op": "stats"})
                self.assertEqual((s["used"], s["blocks"]), (before["used"], before["blocks"]))
                self.assertEqual(c.call({"op": "dump", "length": 5})["memory"], "77777")
        # The token itself still works, so the refusals above were about the guesses.
        self.assertEqual(c.call({"op": "reset", "token": TOKEN}), {"ok": True, "freed": 1})
        self.assertEqual(c.call({"op": "stats"})["used"], 0)
        c.close()


class Truncated(unittest.TestCase):

    def test_memory_past_one_reply_is_cut_and_marked(self):
        server = Server("--memory", "1536K")
        try:
            c = server.connect()
            d = c.call({"op": "dump"})
            self.assertEqual((d["length"], len(d["memory"]), d.get("truncated")),
                             (MAX_DUMP, MAX_DUMP, True))
            rest = c.call({"op": "dump", "offset": d["offset"] + d["length"]})
            self.assertEqual((rest["length"], len(rest["memory"])), (512 * 1024, 512 * 1024))
            self.assertNotIn("truncated", rest)
            exact = c.call({"op": "dump", "length": MAX_DUMP})
            self.assertNotIn("truncated", exact)
            c.close()
        finally:
            self.assertEqual(server.stop()[0], 0)

    def test_blocks_past_one_reply_are_cut_and_marked(self):
        n = MAX_DUMP_BLOCKS + 2
        server = Server("--memory", str(n))
        try:
            c = server.connect()
            c.send('{"op":"malloc","size":1}\n' * n)
            addrs = [c.reply()["addr"] for _ in range(n)]
            self.assertEqual(addrs, list(range(n)))
            d = c.call({"op": "dump", "blocks": True})
            self.assertEqual((d["length"], len(d["blocks"]), d.get("truncated")),
                             (MAX_DUMP_BLOCKS, MAX_DUMP_BLOCKS, True))
            self.assertEqual(d["blocks"][-1]["addr"], MAX_DUMP_BLOCKS - 1)
            rest = c.call({"op": "dump", "offset": MAX_DUMP_BLOCKS, "blocks": True})
            self.assertEqual([b["addr"] for b in rest["blocks"]], [n - 2, n - 1])
            self.assertNotIn("truncated", rest)
            c.close()
        finally:
            self.assertEqual(server.stop()[0], 0)


class Coalescing(unittest.TestCase):

    def check_merge(self, policy, first, second):
        """Fill a 30-byte arena with blocks A, B, C of 10 bytes, free
        `first` then `second` (A and B, in some order): the 20 bytes must
        be one free extent, and a malloc of 20 must land at 0."""
        server = Server("--memory", "30", "--policy", policy)
        try:
            c = server.connect()
            blocks = [c.call({"op": "malloc", "size": 10}) for _ in range(3)]
            self.assertEqual([b["addr"] for b in blocks], [0, 10, 20])
            for i in (first, second):
                r = c.call({"op": "free", "addr": blocks[i]["addr"], "key": blocks[i]["key"]})
                self.assertTrue(r["ok"], r)
            s = c.call({"op": "stats"})
            self.assertEqual((s["free_extents"], s["largest_free"]), (1, 20), s)
            self.assertEqual(c.call({"op": "malloc", "size": 20})["addr"], 0)
            c.close()
        finally:
            self.assertEqual(server.stop()[0], 0)

    def test_right_hand_neighbour_merges(self):
        # B freed first, then its left neighbour A: A merges rightwards.
        for policy in COALESCING:
            with self.subTest(policy=policy):
                self.check_merge(policy, 1, 0)

    def test_left_hand_neighbour_merges(self):
        for policy in COALESCING:
            with self.subTest(policy=policy):
                self.check_merge(policy, 0, 1)


if __name__ == "__main__":
    unittest.main()
