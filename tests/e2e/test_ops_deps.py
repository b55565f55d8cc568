"""test_ops_deps.py — the fresh-machine promise, checked on a full machine.

Each command the README (and the image) gives a newcomer installs one of
scripts/deps.sh's package lists and then runs scripts/build.sh with some
arguments. On a machine that already holds every package, a build that
needs a package its list does not install still succeeds; on a fresh
Debian 12 it fails (issue 9: scripts/demo.sh configured the test suite,
which needs cmocka, after installing only the demo list). So each such
build is configured here with pkg-config seeing only the .pc files of its
list's packages and what they depend on (`dpkg -L`), as a fresh machine
would after `apt-get install` of that list."""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPS = os.path.join(ROOT, "scripts", "deps.sh")
BUILD = os.path.join(ROOT, "scripts", "build.sh")


def read(rel):
    with open(os.path.join(ROOT, rel)) as f:
        return f.read()


def package_list(name):
    out = subprocess.run([DEPS, "--list", name], capture_output=True, text=True,
                         timeout=30, check=True)
    return out.stdout.split()


def installed_depends():
    """{package: [[alternative, ...], ...]} for every installed package."""
    out = subprocess.run(["dpkg-query", "-W", "-f",
                          "${Package}\t${Status}\t${Pre-Depends}, ${Depends}\n"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    deps = {}
    for line in out.splitlines():
        name, status, rel = line.split("\t")
        if not status.endswith(" installed"):
            continue
        groups = []
        for group in rel.split(","):
            alts = [re.split(r"[\s:(]", a.strip(), maxsplit=1)[0] for a in group.split("|")]
            alts = [a for a in alts if a]
            if alts:
                groups.append(alts)
        deps[name] = groups
    return deps


def closure(packages, deps):
    """packages and everything apt would install with them (of what is installed)."""
    missing = [p for p in packages if p not in deps]
    if missing:
        raise unittest.SkipTest("not installed here (run scripts/deps.sh test): %s" % missing)
    seen, todo = set(), list(packages)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for alts in deps[p]:
            # The first installed alternative; a virtual package's provider
            # is reached through its own dependants.
            todo += [a for a in alts if a in deps][:1]
    return seen


def pc_files(packages):
    out = subprocess.run(["dpkg", "-L", *sorted(packages)], capture_output=True, text=True,
                         timeout=60)
    return [l for l in out.stdout.splitlines() if l.endswith(".pc") and os.path.isfile(l)]


def build_args(text, where):
    """The arguments of the one `scripts/build.sh DIR ARGS...` line in text."""
    found = re.findall(r"^\s*(?:RUN\s+)?scripts/build\.sh\s+(\S+)([^\n>&|;#]*)", text, re.M)
    if len(found) != 1:
        raise AssertionError("%s: expected one scripts/build.sh line, found %r" % (where, found))
    return shlex.split(found[0][1])


def readme_section(title):
    m = re.search(r"^## %s\n(.*?)(?=^## )" % re.escape(title), read("README.md"), re.M | re.S)
    if not m:
        raise AssertionError("README.md has no section %r" % title)
    return m.group(1)


class PackageListsBuild(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not shutil.which("dpkg-query"):
            raise unittest.SkipTest("not a Debian system")
        cls.deps = installed_depends()

    def configure(self, list_name, args):
        """Configure as build.sh does, with only list_name's .pc files visible."""
        pcs = pc_files(closure(package_list(list_name), self.deps))
        with tempfile.TemporaryDirectory(prefix="smm-deps-") as tmp:
            pcdir = os.path.join(tmp, "pkgconfig")
            os.mkdir(pcdir)
            for pc in pcs:
                dst = os.path.join(pcdir, os.path.basename(pc))
                if not os.path.exists(dst):
                    os.symlink(pc, dst)
            env = {k: v for k, v in os.environ.items() if not k.startswith("PKG_CONFIG")}
            env.update(PKG_CONFIG_LIBDIR=pcdir, SMM_CONFIGURE_ONLY="1")
            out = subprocess.run([BUILD, os.path.join(tmp, "build"), *args],
                                 capture_output=True, text=True, timeout=120, env=env)
        return out, sorted(os.path.basename(p) for p in pcs)

    def check(self, list_name, args, where):
        out, pcs = self.configure(list_name, args)
        self.assertEqual(out.returncode, 0,
                         "%s: `scripts/build.sh DIR %s` needs a package that "
                         "`scripts/deps.sh %s` does not install (pkg-config saw only %s):\n%s"
                         % (where, " ".join(args), list_name, pcs, out.stderr[-2000:]))

    def test_demo_builds_with_the_demo_list(self):
        text = read("scripts/demo.sh")
        self.assertRegex(text, r"(?m)^scripts/deps\.sh demo$")
        self.check("demo", build_args(text, "scripts/demo.sh"), "scripts/demo.sh")

    def test_readme_install_builds_with_the_build_list(self):
        text = readme_section("Install")
        self.assertRegex(text, r"(?m)^\s+scripts/deps\.sh build$")
        self.check("build", build_args(text, "README Install"), "README Install")

    def test_image_builds_with_the_build_list(self):
        text = read("docker/Dockerfile")
        self.assertRegex(text, r"(?m)^RUN scripts/deps\.sh build$")
        self.check("build", build_args(text, "docker/Dockerfile"), "docker/Dockerfile")

    def test_test_suite_builds_with_the_test_list(self):
        self.assertRegex(read("scripts/test.sh"), r"(?m)^scripts/deps\.sh test$")
        self.check("test", [], "scripts/test.sh")

    def test_the_guard_sees_a_missing_package(self):
        # The check itself can fail: the build list cannot configure the
        # test suite, which needs cmocka.
        out, pcs = self.configure("build", ["-DSMM_TESTS=ON"])
        self.assertNotIn("cmocka.pc", pcs)
        self.assertNotEqual(out.returncode, 0, out.stderr)
        self.assertIn("tests/CMakeLists.txt", out.stderr)


if __name__ == "__main__":
    unittest.main()
