"""test_completion.py — the bash completion in dist/smm-completion.bash:
what it offers for each program is what that program's --help lists, and
`cmake --install` puts it where bash-completion finds it."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "dist", "smm-completion.bash")
CLIENT = os.environ.get("SMM_CLIENT")
BUILD_DIR = os.environ.get("SMM_BUILD_DIR")
CMAKE = os.environ.get("SMM_CMAKE", "cmake")
FLAG = re.compile(r"^\s+(?:-[A-Za-z], )?(--[a-z][a-z-]*)\b", re.M)


def complete(line, script=SCRIPT):
    """What bash offers for the command line `line` (cursor at its end)."""
    words = line.split(" ")
    # bash splits "--flag=value" at '=' (COMP_WORDBREAKS); so do we.
    split = []
    for w in words:
        if "=" in w and w.startswith("--"):
            name, value = w.split("=", 1)
            split += [name, "=", value] if value else [name, "="]
        else:
            split.append(w)
    path = os.pathsep.join([os.path.dirname(os.path.abspath(harness.SERVER)),
                            os.path.dirname(os.path.abspath(CLIENT)), os.environ["PATH"]])
    fn = "_smm_client" if split[0] == "smm-client" else "_smm_server"
    program = 'source "$1"; COMP_WORDS=(%s); COMP_CWORD=%d; %s; printf "%%s\\n" "${COMPREPLY[@]}"' % (
        " ".join("'%s'" % w for w in split), len(split) - 1, fn)
    p = subprocess.run(["bash", "-c", program, "bash", script], capture_output=True, text=True,
                       timeout=harness.TIMEOUT, env=dict(os.environ, PATH=path))
    if p.returncode != 0 or p.stderr:
        raise AssertionError("bash: %d %s" % (p.returncode, p.stderr))
    return sorted(w for w in p.stdout.splitlines() if w)


def help_flags(*argv):
    out = subprocess.run([*argv, "--help"], capture_output=True, text=True,
                         timeout=harness.TIMEOUT).stdout
    return sorted(set(FLAG.findall(out)))


@unittest.skipUnless(CLIENT and shutil.which("bash"), "needs smm-client and bash")
class Completion(unittest.TestCase):
    def test_client_commands(self):
        overview = subprocess.run([CLIENT, "--help"], capture_output=True, text=True,
                                  timeout=harness.TIMEOUT).stdout
        commands = re.findall(r"^  ([a-z]+)\s{2,}\S", overview, re.M)
        self.assertIn("demo", commands)
        self.assertEqual(complete("smm-client "), sorted(commands + ["help"]))
        self.assertEqual(complete("smm-client d"), ["demo", "dump"])
        self.assertEqual(complete("smm-client help d"), ["demo", "dump"])
        self.assertEqual(complete("smm-client dump "), [])  # one command only

    def test_client_options_are_each_commands_own(self):
        for command in ("ping", "malloc", "fill", "free", "dump", "stats", "reset", "demo",
                        "load"):
            with self.subTest(command):
                want = help_flags(CLIENT, command)
                self.assertIn("--timeout", want)
                self.assertEqual(complete("smm-client %s --" % command), want)
        self.assertEqual(complete("smm-client --"), help_flags(CLIENT))
        self.assertEqual(complete("smm-client load --p"), ["--pipeline", "--port"])

    def test_client_values(self):
        self.assertEqual(complete("smm-client dump --color "), ["always", "auto", "never"])
        self.assertEqual(complete("smm-client dump --color=a"), ["always", "auto"])
        self.assertEqual(complete("smm-client load --op "), ["malloc", "ping"])
        self.assertEqual(complete("smm-client malloc --size "), [])
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "admin-token"), "w").close()
            self.assertEqual(complete("smm-client reset --admin-token-file %s/adm" % d),
                             [os.path.join(d, "admin-token")])

    def test_server(self):
        self.assertEqual(complete("smm-server --"), help_flags(harness.SERVER))
        self.assertEqual(complete("smm-server --pol"), ["--policy"])
        self.assertEqual(complete("smm-server --policy b"), ["best-fit", "buddy", "bump"])
        self.assertEqual(complete("smm-server --log-level w"), ["warn"])
        self.assertEqual(complete("smm-server --memory "), [])

    @unittest.skipUnless(BUILD_DIR, "SMM_BUILD_DIR names the build to install")
    def test_installed_where_bash_completion_looks(self):
        with tempfile.TemporaryDirectory() as prefix:
            p = subprocess.run([CMAKE, "--install", BUILD_DIR, "--prefix", prefix],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            for program in ("smm-client", "smm-server"):
                installed = os.path.join(prefix, "share", "bash-completion", "completions",
                                         program)
                self.assertTrue(os.path.isfile(installed), program)
                self.assertEqual(complete("%s --" % program, script=installed),
                                 help_flags(CLIENT if program == "smm-client" else
                                            harness.SERVER))


if __name__ == "__main__":
    unittest.main()
