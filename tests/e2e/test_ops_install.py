"""test_ops_install.py — `cmake --install` into a temporary prefix, then run
what was installed: the server's --version, the installed server on port 0
answering ping over TCP, the installed client pinging it, the man pages and
the example systemd unit in their places."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

BUILD_DIR = os.environ.get("SMM_BUILD_DIR", "../../build")
CMAKE = os.environ.get("SMM_CMAKE", "cmake")
HAVE_CLIENT = bool(os.environ.get("SMM_CLIENT"))


class InstallTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.prefix = tempfile.mkdtemp(prefix="smm-install-")
        run = subprocess.run([CMAKE, "--install", BUILD_DIR, "--prefix", cls.prefix],
                             capture_output=True, text=True, timeout=120)
        cls.install_log = run.stdout + run.stderr
        cls.install_status = run.returncode

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.prefix, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def run_installed(self, *argv, env=None):
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=harness.TIMEOUT, env=env)

    def test_install_succeeds(self):
        self.assertEqual(self.install_status, 0, self.install_log)

    def test_files_in_place(self):
        expected = ["bin/smm-server", "share/man/man1/smm-server.1",
                    "share/doc/smm/smm-server.service"]
        if HAVE_CLIENT:
            expected += ["bin/smm-client", "share/man/man1/smm-client.1"]
        for rel in expected:
            with self.subTest(rel):
                self.assertTrue(os.path.isfile(self.path(rel)), self.install_log)
        for rel in ("bin/smm-server", "bin/smm-client"):
            if os.path.exists(self.path(rel)):
                self.assertTrue(os.access(self.path(rel), os.X_OK), rel)

    def test_unit_names_installed_binary(self):
        with open(self.path("share/doc/smm/smm-server.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=%s\n" % self.path("bin", "smm-server"), unit)

    def test_installed_binaries_need_nothing_from_the_build_tree(self):
        build = os.path.realpath(BUILD_DIR)
        for name in ("smm-server", "smm-client"):
            binary = self.path("bin", name)
            if not os.path.exists(binary):
                continue
            ldd = self.run_installed("ldd", binary)
            with self.subTest(name):
                self.assertNotIn("not found", ldd.stdout)
                self.assertNotIn(build, ldd.stdout)

    def test_server_version(self):
        out = self.run_installed(self.path("bin", "smm-server"), "--version")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"^smm-server \d+\.\d+\.\d+ \(protocol \d+\)\n$")

    def test_installed_server_serves_and_installed_client_pings(self):
        # harness.Server passes Popen arguments on: run the installed binary.
        server = harness.Server(executable=self.path("bin", "smm-server"))
        try:
            conn = harness.Conn(server.port)
            self.assertEqual(conn.call({"op": "ping"}), {"ok": True})
            conn.close()
            if HAVE_CLIENT:
                env = dict(os.environ, SMM_HOST="127.0.0.1", SMM_PORT=str(server.port))
                out = self.run_installed(self.path("bin", "smm-client"), "ping", env=env)
                self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        finally:
            status, log = server.stop()
        self.assertEqual(status, 0, log)
        self.assertTrue(re.search(r"listening on 127\.0\.0\.1:\d+", log), log)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_installed_unit_verifies_and_is_hardened(self):
        unit = self.path("share/doc/smm/smm-server.service")
        # verify also runs `man smm-server(1)` for Documentation=.
        env = dict(os.environ, MANPATH=self.path("share", "man"))
        out = self.run_installed("systemd-analyze", "verify", unit, env=env)
        self.assertEqual((out.returncode, out.stderr), (0, ""))
        out = self.run_installed("systemd-analyze", "security", "--offline=yes", unit, env=env)
        m = re.search(r"Overall exposure level for smm-server.service: ([\d.]+)", out.stdout)
        self.assertTrue(m, out.stdout + out.stderr)
        self.assertLessEqual(float(m.group(1)), 2.0, out.stdout)

    @unittest.skipUnless(shutil.which("man"), "man-db is not installed (scripts/deps.sh test)")
    def test_installed_man_pages_open_by_name(self):
        env = dict(os.environ, MANPATH=self.path("share", "man"), MANWIDTH="80",
                   MANPAGER="cat", PAGER="cat")
        for page in ("smm-server", "smm-client") if HAVE_CLIENT else ("smm-server",):
            out = self.run_installed("man", "1", page, env=env)
            with self.subTest(page):
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertIn(page.upper() + "(1)", out.stdout)


if __name__ == "__main__":
    unittest.main()
