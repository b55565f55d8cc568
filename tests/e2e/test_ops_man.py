"""test_ops_man.py — the man pages render with `man -l` and groff without a
warning, and they document what the binaries say: every flag and SMM_*
variable in `smm-server --help` is in smm-server(1), every command and flag
in `smm-client --help` (and each command's --help) is in smm-client(1)."""
import os
import re
import shutil
import subprocess
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAN = os.path.join(ROOT, "man")
CLIENT = os.environ.get("SMM_CLIENT")
FLAG = re.compile(r"^\s+(--[a-z][a-z-]*)\b", re.M)


def render(page):
    """(stdout, stderr) of `man -l` with every groff warning enabled."""
    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LC_ALL="C.UTF-8")
    out = subprocess.run(["man", "-l", "--warnings=w", os.path.join(MAN, page)],
                         capture_output=True, text=True, timeout=60, env=env)
    return out.stdout, out.stderr


def source_text(page):
    """The page's roff source with escaped minus signs made plain."""
    with open(os.path.join(MAN, page)) as f:
        return f.read().replace("\\-", "-")


def help_text(binary, *args):
    argv = [binary, *args, "--help"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=harness.TIMEOUT)
    if out.returncode != 0 or not out.stdout:
        raise AssertionError("%s exited %d: %s" % (" ".join(argv[-2:] if args else argv[-1:]),
                                                   out.returncode, out.stderr.strip()))
    return out.stdout


@unittest.skipUnless(shutil.which("man") and shutil.which("groff"),
                     "man-db and groff are needed (scripts/deps.sh test)")
class RenderTest(unittest.TestCase):

    def check_page(self, page, title):
        text, warnings = render(page)
        self.assertEqual(warnings, "")
        self.assertIn(title + "(1)", text.splitlines()[0])
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS"):
            self.assertRegex(text, r"(?m)^" + section + "$")
        groff = subprocess.run(["groff", "-man", "-ww", "-z", os.path.join(MAN, page)],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual((groff.returncode, groff.stderr), (0, ""))
        return text

    def test_server_page(self):
        self.check_page("smm-server.1", "SMM-SERVER")

    def test_client_page(self):
        self.check_page("smm-client.1", "SMM-CLIENT")


class ServerPageTest(unittest.TestCase):

    def test_every_flag_and_env_var_documented(self):
        usage = help_text(harness.SERVER)
        page = source_text("smm-server.1")
        flags = FLAG.findall(usage)
        envs = re.findall(r"\b(SMM_[A-Z_]+)\b", usage)
        self.assertIn("--memory", flags)
        self.assertIn("SMM_ADMIN_TOKEN", envs)
        for name in flags + envs:
            with self.subTest(name):
                self.assertRegex(page, re.escape(name) + r"\b")

    def test_every_policy_documented(self):
        policies = re.search(r"^Policies: (.*)\.$", help_text(harness.SERVER), re.M)
        self.assertTrue(policies)
        page = source_text("smm-server.1")
        for name in policies.group(1).split(", "):
            with self.subTest(name):
                self.assertRegex(page, r"(?m)^\.BR? %s( ,| ;)?$" % re.escape(name))

    def test_defaults_match_help(self):
        # "(default X)" in --help and "Default X" in the page, flag by flag.
        usage = help_text(harness.SERVER)
        page = source_text("smm-server.1")
        for flag, default in re.findall(r"^\s+--([a-z-]+) \S+ .*\(default ([^)\s]+)\)$",
                                        usage, re.M):
            entry = re.search(r"^\.BI --%s .*?(?=^\.TP)" % re.escape(flag), page, re.M | re.S)
            with self.subTest(flag):
                self.assertTrue(entry, flag)
                self.assertRegex(entry.group(0), r"Default\n\.BR? %s(?=\s)" % re.escape(default))


@unittest.skipUnless(CLIENT, "smm-client is not built")
class ClientPageTest(unittest.TestCase):

    def test_every_command_and_flag_documented(self):
        overview = help_text(CLIENT)
        page = source_text("smm-client.1")
        commands = re.findall(r"^  ([a-z]+)\s{2,}\S", overview, re.M)
        self.assertIn("demo", commands)
        for command in commands:
            with self.subTest(command=command):
                self.assertRegex(page, r"(?m)^\.B %s$" % command)
                for flag in FLAG.findall(help_text(CLIENT, command)):
                    with self.subTest(flag=flag):
                        self.assertRegex(page, re.escape(flag) + r"\b")


if __name__ == "__main__":
    unittest.main()
