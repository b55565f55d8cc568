"""test_dump_window.py — a small dump window costs what it returns.

dump with "blocks":true used to walk every live block to find the few in
its window: 0.15 ms for 64 bytes on an empty arena, 3.6 ms with a million
live blocks, on the allocator thread that every client waits for. The
block table is now ordered by address, so the same window should cost
about the same however full the arena is. The test times the same 64-byte
windows (round trips, median of many) on an empty arena and again after a
million pipelined mallocs, and allows three times the empty figure plus a
millisecond for a shared, loaded machine: the old walk fails that bound by
a wide margin, the index meets it with room.
"""
import json
import random
import statistics
import threading
import time
import unittest

from harness import TIMEOUT, ServerTest

LIVE = 1_000_000
SIZE = 16
WINDOW = 64
SAMPLES = 101


class DumpWindowTest(ServerTest):
    server_args = ("--memory", str(LIVE * SIZE), "--policy", "first-fit")

    def window_ms(self, c, offsets):
        """Median round trip, in ms, of a blocks dump at each offset."""
        times, listed = [], 0
        for off in offsets:
            start = time.perf_counter()
            reply = c.call({"op": "dump", "offset": off, "length": WINDOW, "blocks": True})
            times.append((time.perf_counter() - start) * 1000)
            self.assertTrue(reply["ok"], reply)
            self.assertEqual(reply["length"], WINDOW)
            listed += len(reply["blocks"])
        return statistics.median(times), listed

    def fill(self, c):
        """Pipeline LIVE mallocs from a thread while this one reads the replies."""
        line = (json.dumps({"op": "malloc", "id": 7, "size": SIZE}) + "\n").encode()
        batch = line * 10_000
        sender = threading.Thread(
            target=lambda: [c.send(batch) for _ in range(LIVE // 10_000)], daemon=True)
        sender.start()
        seen, granted, deadline = 0, 0, time.monotonic() + 20 * TIMEOUT
        while seen < LIVE:
            self.assertLess(time.monotonic(), deadline, "fill did not finish")
            chunk = c.sock.recv(1 << 20)
            self.assertTrue(chunk, "connection closed while filling")
            c.buf += chunk
            lines = c.buf.split(b"\n")
            c.buf = lines.pop()
            seen += len(lines)
            granted += sum(1 for l in lines if l.startswith(b'{"ok":true'))
        sender.join(TIMEOUT)
        self.assertEqual(granted, LIVE)

    def test_window_on_a_full_arena_costs_what_it_returns(self):
        c = self.connect()
        rng = random.Random(14)
        offsets = [rng.randrange(0, LIVE * SIZE - WINDOW) for _ in range(SAMPLES)]
        empty_ms, empty_listed = self.window_ms(c, offsets)
        self.assertEqual(empty_listed, 0)
        self.fill(c)
        self.assertEqual(c.call({"op": "stats"})["blocks"], LIVE)
        full_ms, full_listed = self.window_ms(c, offsets)
        # 64 bytes of 16-byte blocks: four or five blocks a window.
        self.assertGreaterEqual(full_listed, 4 * SAMPLES)
        print("64-byte window: %.3f ms empty, %.3f ms with %d live blocks"
              % (empty_ms, full_ms, LIVE))
        self.assertLess(full_ms, 3 * empty_ms + 1.0)


if __name__ == "__main__":
    unittest.main()
