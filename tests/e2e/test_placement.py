"""test_placement.py — --allocator-cpu: where the allocator thread runs.

`loop` keeps it to one CPU, the event loop's, and it follows the loop when
the loop moves; `any` leaves it the process's whole CPU set; `auto` is
`loop` only with one loop and no more usable CPUs than two (the loop and
the allocator). The debug log names the choice. When the kernel refuses the
move, the thread runs anywhere and the server serves on.
"""
import os
import tempfile
import unittest

from harness import Server

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
        """A server at debug level, limited to cpus when given; after one
        malloc has been answered, so the allocator has taken a batch."""
        limit = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        # One loop unless told: the suite also runs with SMM_IO_THREADS=2.
        server = Server("--log-level", "debug", "--memory", "1K", "--io-threads", "1", *args,
                        env=env, preexec_fn=limit)
        self.addCleanup(lambda: self.assertEqual(server.stop()[0], 0, server.log))
        c = server.connect()
        self.addCleanup(c.close)
        self.assertTrue(c.call({"op": "malloc", "size": 8})["ok"])
        return server, c

    def choice(self, server):
        m = server.wait_log(CHOICE)
        self.assertIsNotNone(m, server.log)
        return m.group(1), int(m.group(2)), int(m.group(3))

    def threads(self, server):
        names = thread_ids(server.proc.pid)
        return names["smm-allocator"], server.proc.pid  # the main thread runs the loop

    def test_loop_keeps_the_allocator_to_the_loops_cpu(self):
        server, _ = self.start("--allocator-cpu", "loop")
        mine = os.sched_getaffinity(0)
        alloc, loop = self.threads(server)
        self.assertEqual(len(allowed(server.proc.pid, alloc)), 1)
        self.assertLessEqual(allowed(server.proc.pid, alloc), mine)
        self.assertEqual(allowed(server.proc.pid, loop), mine)  # the loop is not pinned
        self.assertEqual(self.choice(server), ("on the event loop's CPU", len(mine), 1))

    def test_the_allocator_follows_the_loop_to_another_cpu(self):
        mine = sorted(os.sched_getaffinity(0))
        if len(mine) < 2:
            self.skipTest("one CPU: nowhere to move the loop")
        server, c = self.start("--allocator-cpu", "loop")
        alloc, loop = self.threads(server)
        for cpu in (mine[0], mine[1], mine[0]):
            os.sched_setaffinity(loop, {cpu})  # the kernel moves the loop there now
            self.assertTrue(c.call({"op": "malloc", "size": 8})["ok"])
            self.assertEqual(allowed(server.proc.pid, alloc), {cpu})

    def test_any_leaves_the_allocator_every_cpu(self):
        server, _ = self.start("--allocator-cpu", "any")
        alloc, _ = self.threads(server)
        self.assertEqual(allowed(server.proc.pid, alloc), os.sched_getaffinity(0))
        self.assertTrue(self.choice(server)[0].startswith("any CPU"), server.log)

    def test_auto_keeps_to_the_loop_when_no_cpu_is_spare(self):
        cpu = min(os.sched_getaffinity(0))
        server, _ = self.start("--allocator-cpu", "auto", cpus={cpu})
        alloc, _ = self.threads(server)
        self.assertEqual(allowed(server.proc.pid, alloc), {cpu})
        self.assertEqual(self.choice(server), ("on the event loop's CPU", 1, 1))

    def test_auto_counts_the_cpus_the_server_may_use(self):
        # Two usable CPUs and one loop: none spare. With more, the
        # allocator gets one of its own and watches the queue.
        mine = os.sched_getaffinity(0)
        server, _ = self.start("--allocator-cpu", "auto")
        alloc, _ = self.threads(server)
        where, cpus, _ = self.choice(server)
        self.assertEqual(cpus, len(mine))
        if len(mine) <= 2:
            self.assertEqual(where, "on the event loop's CPU")
            self.assertEqual(len(allowed(server.proc.pid, alloc)), 1)
        else:
            self.assertEqual(where, "any CPU, watching the queue")
            self.assertEqual(allowed(server.proc.pid, alloc), mine)

    def test_auto_with_several_loops_leaves_the_allocator_free(self):
        server, _ = self.start("--allocator-cpu", "auto", "--io-threads", "2")
        alloc, _ = self.threads(server)
        self.assertEqual(allowed(server.proc.pid, alloc), os.sched_getaffinity(0))
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

    def test_a_refused_move_leaves_the_allocator_free_and_serving(self):
        server, c, calls = self.refusing(0)
        alloc, loop = self.threads(server)
        self.assertEqual(self.choice(server)[0], "on the event loop's CPU")
        os.sched_setaffinity(loop, {min(os.sched_getaffinity(0))})  # keep the loop still
        self.assertTrue(c.call({"op": "malloc", "size": 8})["ok"])
        asked = os.path.getsize(calls)
        self.assertGreaterEqual(asked, 1)
        for _ in range(20):
            r = c.call({"op": "malloc", "size": 8})
            self.assertTrue(r["ok"], r)
            self.assertTrue(c.call({"op": "free", "addr": r["addr"], "key": r["key"]})["ok"])
        self.assertEqual(allowed(server.proc.pid, alloc), os.sched_getaffinity(0))
        # Not asked again while the loop stayed on the refused CPU.
        self.assertEqual(os.path.getsize(calls), asked)

    def test_a_move_refused_after_a_pin_puts_the_allocator_back(self):
        mine = sorted(os.sched_getaffinity(0))
        if len(mine) < 2:
            self.skipTest("one CPU: nowhere to move the loop")
        server, c, calls = self.refusing(1)  # start's malloc used the one pin allowed
        alloc, loop = self.threads(server)
        pinned = allowed(server.proc.pid, alloc)
        self.assertEqual(len(pinned), 1)
        other = next(cpu for cpu in mine if cpu not in pinned)
        os.sched_setaffinity(loop, {other})  # the shim refuses the pin that follows
        self.assertTrue(c.call({"op": "malloc", "size": 8})["ok"])
        self.assertEqual(allowed(server.proc.pid, alloc), set(mine))
        self.assertEqual(os.path.getsize(calls), 2)


if __name__ == "__main__":
    unittest.main()
