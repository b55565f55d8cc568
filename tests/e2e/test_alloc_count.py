"""test_alloc_count.py — heap allocations per request in steady state.

The real server runs with tests/alloc/malloc_count.c preloaded, which counts
every malloc, calloc, realloc and aligned allocation in a shared file. After
a warm-up (free lists, caches and buffers reach their working size) a mixed
load of several thousand requests — malloc, fill, free, dump, stats and
ping, half of them tagged — must cost at most 0.05 allocations per request.
A dump costs one allocation (two with blocks) in the allocator core, so
dumps are one request in a hundred here, as in a load that mostly allocates.
"""
import json
import os
import struct
import tempfile
import unittest

from harness import Server, TIMEOUT

LIB = os.environ.get("SMM_MALLOC_COUNT_LIB", "../../build/tests/libsmm_malloc_count.so")
LIMIT = 0.05
CONNS = 3
WARMUP_ROUNDS = 40
ROUNDS = 200


def round_lines(i, blocks):
    """The lines of one round for a connection that holds blocks (addr, key)."""
    tags = [None, 12345678901234567890, "t%d" % i, {"n": [i, True, None]}]
    lines = []
    for k in range(4):
        req = {"op": "malloc", "id": k, "size": 16 + k}
        if tags[k] is not None:
            req["tag"] = tags[k]
        lines.append(req)
    for addr, key in blocks[:2]:
        lines.append({"op": "fill", "addr": addr, "key": key, "char": "x", "tag": i})
    lines.append({"op": "ping", "tag": "p"})
    lines.append({"op": "ping"})
    lines.append({"op": "stats"} if i % 2 else {"op": "stats", "tag": [i]})
    for addr, key in blocks:
        lines.append({"op": "free", "addr": addr, "key": key})
    return lines


class AllocCount(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(LIB):
            self.skipTest("no allocation counter built at %s" % LIB)
        fd, self.count_file = tempfile.mkstemp(prefix="smm-malloc-count-")
        os.write(fd, bytes(8))
        os.close(fd)
        self.server = Server("--memory", "1000000", env={
            "LD_PRELOAD": os.path.abspath(LIB), "SMM_MALLOC_COUNT_FILE": self.count_file})
        self.conns = [self.server.connect() for _ in range(CONNS)]
        self.blocks = [[] for _ in range(CONNS)]
        self.requests = 0

    def tearDown(self):
        for c in self.conns:
            c.close()
        status, log = self.server.stop()
        os.unlink(self.count_file)
        self.assertEqual(status, 0, log)

    def allocations(self):
        with open(self.count_file, "rb") as f:
            return struct.unpack("<Q", f.read(8))[0]

    def run_round(self, i):
        """One pipelined batch per connection, all sent before any is read."""
        sent = []
        for n, c in enumerate(self.conns):
            lines = round_lines(i, self.blocks[n])
            if (i + n) % 8 == 0:
                lines.append({"op": "dump", "offset": 0, "length": 64, "blocks": i % 16 == 0})
            c.send("".join(json.dumps(r) + "\n" for r in lines))
            sent.append(lines)
        for n, c in enumerate(self.conns):
            self.blocks[n] = []
            for req in sent[n]:
                rep = c.reply()
                self.assertTrue(rep["ok"], (req, rep))
                self.assertEqual(rep.get("tag"), req.get("tag"))
                if req["op"] == "malloc":
                    self.blocks[n].append((rep["addr"], rep["key"]))
            self.requests += len(sent[n])

    def test_steady_state_allocates_almost_nothing(self):
        for i in range(WARMUP_ROUNDS):
            self.run_round(i)
        before, self.requests = self.allocations(), 0
        for i in range(WARMUP_ROUNDS, WARMUP_ROUNDS + ROUNDS):
            self.run_round(i)
        allocs = self.allocations() - before
        per_request = allocs / self.requests
        print("%d allocations over %d requests: %.4f per request (limit %.2f)"
              % (allocs, self.requests, per_request, LIMIT))
        self.assertGreater(self.requests, 5000)
        self.assertGreater(before, 0, "the counter saw nothing: is it preloaded?")
        self.assertLessEqual(per_request, LIMIT)


if __name__ == "__main__":
    unittest.main()
