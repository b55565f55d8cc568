"""test_placement.py — --allocator-cpu: where the allocator thread runs.

`loop` keeps it to one CPU, the event loop's, and it follows the loop
when the loop moves; `any` leaves it the process's whole CPU set; `auto` is `loop` only with one loop and no
more usable CPUs than two (the loop and the allocator). The debug log
names the choice and stats counts the moves. When the kernel refuses a
move, the thread goes back on every CPU and the server serves on.

The tests hold the loop still with sched_setaffinity on its thread, then
send requests that reach the allocator (stats) until its CPUs are as
expected or TIMEOUT passes: it moves when a batch shows it the loop's new
CPU, so the first request after the move normally does it.
"""
import os
import tempfile
import time
import unittest

from harness import Server, TIMEOUT

SHIM = os.environ.get("SMM_AFFINITY_REFUSED_LIB", "")
CHOICE = r"allocator thread: ([^(]+) \((\d+) usable CPUs, (\d+) event loops\)"


def thread_ids(pid):
    """{thread name: thread id} of process pid."""
    names = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            names[f.read().strip()] = int(tid)
    return names


def allowed(pid, tid):
    """The set of CPUs thread tid of pid may run on."""
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                cpus = set()
                for part in line.split(":", 1)[1].strip().split(","):
                    lo, _, hi = part.partition("-")
                    cpus.update(range(int(lo), int(hi or lo) + 1))
                return cpus
    raise AssertionError("no Cpus_allowed_list for %d/%d" % (pid, tid))


class Placement(unittest.TestCase):
    def start(self, *args, cpus=None, env=None):
        """A server at debug level, limited to cpus when given, and a
        connection; one request has reached the allocator."""
        limit = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        # One loop unless told: the suite also runs with SMM_IO_THREADS=2.
        server = Server("--log-level", "debug", "--memory", "1K", "--io-threads", "1", *args,
                        env=env, preexec_fn=limit)
        self.addCleanup(lambda: self.assertEqual(server.stop()[0], 0, server.log))
        c = server.connect()
        self.addCleanup(c.close)
        self.assertTrue(c.call({"op": "stats"})["ok"])
        self.pid = server.proc.pid
        self.alloc = thread_ids(self.pid)["smm-allocator"]
        self.loop = self.pid  # the main thread runs the (one) loop
        return server, c

    def choice(self, server):
        m = server.wait_log(CHOICE)
        self.assertIsNotNone(m, server.log)
        return m.group(1), int(m.group(2)), int(m.group(3))

    def settle(self, c, done):
        """Send stats until done(allocator's CPUs) holds; return the last stats."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            st = c.call({"op": "stats"})
            cpus = allowed(self.pid, self.alloc)
            if done(cpus):
                return st
            self.assertLess(time.monotonic(), deadline, "allocator stayed on %s" % cpus)

    def test_loop_keeps_the_allocator_to_the_loops_cpu(self):
        server, c = self.start("--allocator-cpu", "loop")
        mine = os.sched_getaffinity(0)
        self.assertEqual(allowed(self.pid, self.loop), mine)  # the server pins no loop
        self.assertEqual(self.choice(server), ("on the event loop's CPU", len(mine), 1))
        cpu = max(mine)
        os.sched_setaffinity(self.loop, {cpu})
        st = self.settle(c, lambda cpus: cpus == {cpu})
        self.assertGreaterEqual(st["allocator_moves"], 1)

    def test_the_allocator_follows_the_loop_to_another_cpu(self):
        mine = sorted(os.sched_getaffinity(0))
        if len(mine) < 2:
            self.skipTest("one CPU: nowhere to move the loop")
        _, c = self.start("--allocator-cpu", "loop")
        moves = []
        for cpu in (mine[0], mine[1], mine[0]):
            os.sched_setaffinity(self.loop, {cpu})  # the kernel moves the loop there now
            moves.append(self.settle(c, lambda cpus, cpu=cpu: cpus == {cpu})["allocator_moves"])
        self.assertEqual(moves[1:], [moves[0] + 1, moves[0] + 2])

    def test_any_leaves_the_allocator_every_cpu(self):
        server, c = self.start("--allocator-cpu", "any")
        os.sched_setaffinity(self.loop, {min(os.sched_getaffinity(0))})
        deadline = time.monotonic() + 0.05
        while time.monotonic() < deadline:
            st = c.call({"op": "stats"})
        self.assertEqual(allowed(self.pid, self.alloc), os.sched_getaffinity(0))
        self.assertEqual(st["allocator_moves"], 0)
        self.assertTrue(self.choice(server)[0].startswith("any CPU"), server.log)

    def test_auto_keeps_to_the_loop_when_no_cpu_is_spare(self):
        cpu = min(os.sched_getaffinity(0))
        server, _ = self.start("--allocator-cpu", "auto", cpus={cpu})
        self.assertEqual(allowed(self.pid, self.alloc), {cpu})
        self.assertEqual(self.choice(server), ("on the event loop's CPU", 1, 1))

    def test_auto_counts_the_cpus_the_server_may_use(self):
        # Two usable CPUs and one loop: none spare. With more, the
        # allocator gets one of its own and watches the queue.
        mine = os.sched_getaffinity(0)
        server, c = self.start("--allocator-cpu", "auto")
        where, cpus, _ = self.choice(server)
        self.assertEqual(cpus, len(mine))
        if len(mine) <= 2:
            self.assertEqual(where, "on the event loop's CPU")
            os.sched_setaffinity(self.loop, {max(mine)})
            self.settle(c, lambda got: got == {max(mine)})
        else:
            self.assertEqual(where, "any CPU, watching the queue")
            self.assertEqual(allowed(self.pid, self.alloc), mine)

    def test_auto_with_several_loops_leaves_the_allocator_free(self):
        server, _ = self.start("--allocator-cpu", "auto", "--io-threads", "2")
        self.assertEqual(allowed(self.pid, self.alloc), os.sched_getaffinity(0))
        self.assertEqual(self.choice(server)[2], 2)
        self.assertNotEqual(self.choice(server)[0], "on the event loop's CPU")

    def refusing(self, allow):
        """A server in loop mode whose single-CPU pins the shim refuses
        after allow of them; and the file the shim counts them in."""
        if not SHIM:
            self.skipTest("no affinity shim built (sanitizer build)")
        fd, calls = tempfile.mkstemp(prefix="smm-affinity-")
        os.close(fd)
        self.addCleanup(os.unlink, calls)
        server, c = self.start("--allocator-cpu", "loop", env={
            "LD_PRELOAD": SHIM, "SMM_AFFINITY_ALLOW": str(allow), "SMM_AFFINITY_CALLS": calls})
        return server, c, calls

    def asked(self, calls):
        return os.path.getsize(calls)

    def test_a_refused_move_leaves_the_allocator_free_and_serving(self):
        _, c, calls = self.refusing(0)
        self.assertGreaterEqual(self.asked(calls), 1)  # for start's request
        os.sched_setaffinity(self.loop, {min(os.sched_getaffinity(0))})  # keep the loop still
        self.assertTrue(c.call({"op": "stats"})["ok"])  # asks again if the loop moved
        asked = self.asked(calls)
        for _ in range(20):
            r = c.call({"op": "malloc", "size": 8})
            self.assertTrue(r["ok"], r)
            self.assertTrue(c.call({"op": "free", "addr": r["addr"], "key": r["key"]})["ok"])
        self.assertEqual(allowed(self.pid, self.alloc), os.sched_getaffinity(0))
        # Not asked again while the loop stayed on the refused CPU.
        self.assertEqual(self.asked(calls), asked)
        self.assertEqual(c.call({"op": "stats"})["allocator_moves"], 0)

    def test_a_move_refused_after_a_pin_puts_the_allocator_back(self):
        mine = sorted(os.sched_getaffinity(0))
        if len(mine) < 2:
            self.skipTest("one CPU: nowhere to move the loop")
        _, c, calls = self.refusing(1)
        pinned = allowed(self.pid, self.alloc)  # start's request used the one pin allowed
        self.assertEqual((len(pinned), self.asked(calls)), (1, 1))
        other = next(cpu for cpu in mine if cpu not in pinned)
        os.sched_setaffinity(self.loop, {other})  # the shim refuses the pin that follows
        st = self.settle(c, lambda cpus: cpus == set(mine))
        self.assertEqual(self.asked(calls), 2)
        self.assertEqual(st["allocator_moves"], 1)


if __name__ == "__main__":
    unittest.main()
