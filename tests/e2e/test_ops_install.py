"""test_ops_install.py — `cmake --install` into a temporary prefix, then run
what was installed: the server's --version, the installed server on port 0
answering ping over TCP, the installed client pinging it, the man pages,
PROTOCOL.md and the example systemd unit in their places, and libsmmclient:
a small C program built with `pkg-config --cflags --libs smmclient` against
the shared and the static library, talking to the installed server."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("SMM_BUILD_DIR", "../../build")
CMAKE = os.environ.get("SMM_CMAKE", "cmake")
HAVE_CLIENT = bool(os.environ.get("SMM_CLIENT"))

# A program of another project, using only the installed headers and
# library: the seed's my_malloc, fill, a dump, a denial and a free.
PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>

#include <smm/client.h>

static int check(enum smm_client_status st, enum smm_client_status want,
		 const struct smm_reply *rep, const char *what)
{
	char why[256];

	if (st == want)
		return 0;
	smm_client_describe(st, rep, why, sizeof why);
	fprintf(stderr, "%s: %s\n", what, why);
	return -1;
}

int main(int argc, char **argv)
{
	struct smm_client *c;
	struct smm_reply rep = {0};
	char err[256];
	uint64_t addr, key;
	int bad = 0;

	if (argc != 2 || smm_client_connect("127.0.0.1", atoi(argv[1]), 5000, &c, err,
					    sizeof err) < 0) {
		fprintf(stderr, "connect: %s\n", argc == 2 ? err : "usage: prog PORT");
		return 2;
	}
	if (check(smm_client_malloc(c, 3, 10, &rep), SMM_CLIENT_OK, &rep, "malloc") < 0)
		return 1;
	addr = rep.addr;
	key = rep.key;
	printf("malloc addr=%llu size=%llu\n", (unsigned long long)addr,
	       (unsigned long long)rep.size);
	bad |= check(smm_client_fill(c, addr, key, 0, &rep), SMM_CLIENT_OK, &rep, "fill");
	bad |= check(smm_client_dump(c, 0, 12, false, &rep), SMM_CLIENT_OK, &rep, "dump");
	printf("dump %s\n", rep.memory ? rep.memory : "(none)");
	bad |= check(smm_client_malloc(c, 4, 1000, &rep), SMM_CLIENT_EREPLY, &rep, "denial");
	printf("denied %s\n", smm_err_name(rep.err));
	bad |= check(smm_client_free(c, addr, key, &rep), SMM_CLIENT_OK, &rep, "free");
	printf("freed %llu\n", (unsigned long long)rep.size);
	smm_reply_clear(&rep);
	smm_client_close(c);
	return bad ? 1 : 0;
}
"""
PROGRAM_OUTPUT = "malloc addr=0 size=10\ndump 3333333333..\ndenied no_memory\nfreed 10\n"
# A function declared at the start of a line in a header.
DECLARED = re.compile(r"^[a-z][\w *]*?\b(smm_\w+)\(", re.M)


INSTALL = {}


def setUpModule():
    # One install for every test in this file.
    INSTALL["prefix"] = tempfile.mkdtemp(prefix="smm-install-")
    run = subprocess.run([CMAKE, "--install", BUILD_DIR, "--prefix", INSTALL["prefix"]],
                         capture_output=True, text=True, timeout=120)
    INSTALL["log"] = run.stdout + run.stderr
    INSTALL["status"] = run.returncode


def tearDownModule():
    shutil.rmtree(INSTALL["prefix"], ignore_errors=True)


class Installed(unittest.TestCase):
    """What the install left in the temporary prefix."""

    @property
    def prefix(self):
        return INSTALL["prefix"]

    @property
    def install_log(self):
        return INSTALL["log"]

    @property
    def install_status(self):
        return INSTALL["status"]

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def run_installed(self, *argv, env=None):
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=harness.TIMEOUT * 3, env=env)


class InstallTest(Installed):

    def test_install_succeeds(self):
        self.assertEqual(self.install_status, 0, self.install_log)

    def test_files_in_place(self):
        expected = ["bin/smm-server", "share/man/man1/smm-server.1",
                    "share/doc/smm/smm-server.service", "share/doc/smm/PROTOCOL.md"]
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

    def test_protocol_reference_is_the_tree_copy(self):
        with open(self.path("share/doc/smm/PROTOCOL.md")) as f:
            installed = f.read()
        with open(os.path.join(ROOT, "proto", "PROTOCOL.md")) as f:
            self.assertEqual(installed, f.read())

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


@unittest.skipUnless(HAVE_CLIENT, "built without smm-client")
class LibraryTest(Installed):
    """libsmmclient as another project meets it after `cmake --install`."""

    def setUp(self):
        self.assertEqual(self.install_status, 0, self.install_log)
        pcs = glob.glob(self.path("lib*", "**", "pkgconfig", "smmclient.pc"), recursive=True)
        self.assertEqual(len(pcs), 1, self.install_log)
        self.pcdir = os.path.dirname(pcs[0])
        self.libdir = os.path.dirname(self.pcdir)
        self.env = dict(os.environ, PKG_CONFIG_PATH=self.pcdir)

    def pkg_config(self, *args):
        out = self.run_installed("pkg-config", *args, "smmclient", env=self.env)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.split()

    def build(self, name, libs):
        """Compile PROGRAM with the installed headers and libs; return its path."""
        src = os.path.join(self.prefix, "prog.c")
        with open(src, "w") as f:
            f.write(PROGRAM)
        exe = os.path.join(self.prefix, name)
        argv = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", src, "-o", exe,
                *self.pkg_config("--cflags"), *libs]
        out = self.run_installed(*argv)
        self.assertEqual(out.returncode, 0, " ".join(argv) + "\n" + out.stderr)
        return exe

    def run_against_server(self, exe, env=None):
        server = harness.Server(executable=self.path("bin", "smm-server"))
        try:
            out = self.run_installed(exe, str(server.port), env=env)
        finally:
            status, log = server.stop()
        self.assertEqual(status, 0, log)
        self.assertEqual((out.returncode, out.stderr), (0, ""))
        self.assertEqual(out.stdout, PROGRAM_OUTPUT)

    def test_headers_libraries_and_pc_file_in_place(self):
        for rel in ("include/smm/client.h", "include/smm/proto.h"):
            self.assertTrue(os.path.isfile(self.path(rel)), rel)
        for name in ("libsmmclient.a", "libsmmclient.so", "libsmmclient.so.0"):
            self.assertTrue(os.path.exists(os.path.join(self.libdir, name)), name)
        self.assertEqual(self.pkg_config("--modversion"),
                         [self.run_installed(self.path("bin", "smm-server"), "--version")
                          .stdout.split()[1]])

    def test_shared_library_has_a_soname_and_exports_only_the_headers(self):
        lib = os.path.join(self.libdir, "libsmmclient.so")
        dyn = self.run_installed("readelf", "-d", lib).stdout
        self.assertRegex(dyn, r"\(SONAME\)\s+Library soname: \[libsmmclient\.so\.0\]")
        self.assertEqual(os.readlink(os.path.join(self.libdir, "libsmmclient.so")),
                         "libsmmclient.so.0")
        nm = self.run_installed("nm", "-D", "--defined-only", lib).stdout
        exported = {line.split()[-1].split("@")[0] for line in nm.splitlines()
                    if line.split()[1] in ("T", "W", "D", "B", "R")}
        declared = set()
        for header in ("client.h", "proto.h"):
            with open(self.path("include", "smm", header)) as f:
                declared |= set(DECLARED.findall(f.read()))
        self.assertIn("smm_client_connect", declared)
        self.assertEqual(exported, declared)

    def test_program_against_the_shared_library(self):
        exe = self.build("prog-shared", self.pkg_config("--libs"))
        env = dict(os.environ, LD_LIBRARY_PATH=self.libdir)
        ldd = self.run_installed("ldd", exe, env=env).stdout
        self.assertIn("libsmmclient.so.0 => %s" % os.path.join(self.libdir, "libsmmclient.so.0"),
                      ldd)
        self.run_against_server(exe, env=env)

    def test_program_against_the_static_library(self):
        libs = ["-l:libsmmclient.a" if a == "-lsmmclient" else a
                for a in self.pkg_config("--static", "--libs")]
        self.assertIn("-l:libsmmclient.a", libs)
        exe = self.build("prog-static", libs)
        self.assertNotIn("libsmmclient", self.run_installed("ldd", exe).stdout)
        self.run_against_server(exe)


if __name__ == "__main__":
    unittest.main()
