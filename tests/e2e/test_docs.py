"""test_docs.py — what the README and the man pages say, checked by running
it (as test_protocol_doc does for PROTOCOL.md).

- Every README code block whose commands are all smm-client commands is a
  transcript: each `$ ` line runs (in bash, against a fresh server per
  block, smm-client found on PATH) and its output must have the documented
  shape. Block keys map to the real ones; `...` stands for anything (a
  whole line: any lines); `# exit status N` is checked, else 0 is expected.
  For demo and load, whose figures vary, numbers, keys and map rows are
  compared as shapes, and repeated lines of one shape count once.
- The README's quoted load-run denial rates hold.
- Each man page's OPTIONS are exactly the options its program's --help
  lists, and the smm-client(1) examples run.
"""
import os
import re
import subprocess
import unittest

import harness
from harness import Server

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
README = os.path.join(ROOT, "README.md")
CLIENT = os.environ.get("SMM_CLIENT")
TOKEN = "readme-t0ken"
KEY = re.compile(r"\b[0-9a-f]{16}\b")
FLAG = re.compile(r"^\s+(?:-[A-Za-z], )?(--[a-z][a-z-]*)\b", re.M)


def transcripts():
    """[(server args, [(command, [expected lines], exit status)])] from the README."""
    with open(README) as f:
        text = f.read()
    out = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```$", text, re.M | re.S):
        lines = block.splitlines()
        starts = [i for i, l in enumerate(lines) if l.startswith("$ ")]
        if not starts or not all("smm-client" in lines[i] for i in starts):
            continue
        args = re.findall(r"server started with (--[a-z-]+ \S+)", block)
        steps = []
        for n, i in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            command, want, status = lines[i][2:], lines[i + 1:end], None
            parts = [command] + want
            for k, part in enumerate(parts):
                m = re.search(r"\s{2,}# (.*)$", part)
                if m:
                    st = re.match(r"exit status (\d+)", m.group(1))
                    status = int(st.group(1)) if st else status
                    parts[k] = part[:m.start()]
            steps.append((parts[0], parts[1:], status or 0))
        out.append((args[0].split() if args else [], steps))
    return out


def shape(line, loose):
    """A line as compared: in loose mode numbers, keys and map rows are shapes.
    A lease's time left (ttl_ms=N in a block list) counts down while the
    transcript runs, so it is always a shape."""
    line = re.sub(r"ttl_ms=\d+", "ttl_ms=N", line)
    if not loose:
        return line
    line = KEY.sub("K", line)
    line = re.sub(r"-?\d+(\.\d+)?", "N", line)
    return re.sub(r"^(\s*N  )[0-9A-Za-z.:_]+$", r"\1ROW", line)


def collapse(lines):
    return [l for k, l in enumerate(lines) if k == 0 or l != lines[k - 1]]


def pattern(want):
    """A regex for the expected lines: `...` alone is any lines; `,...` in a
    line is more fields (a lone `...` in a line is a map's free bytes)."""
    parts = []
    for line in want:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*")
        else:
            parts.append(r",[^\n]*".join(re.escape(p) for p in line.split(",...")) + r"\n")
    return "".join(parts)


@unittest.skipUnless(CLIENT, "smm-client is not built")
class ReadmeTranscripts(unittest.TestCase):
    def test_transcripts_run_as_documented(self):
        blocks = transcripts()
        commands = [c for _, steps in blocks for c, _, _ in steps]
        self.assertTrue(any(c.startswith("smm-client demo") for c in commands), commands)
        self.assertTrue(any(c.startswith("smm-client dump") for c in commands), commands)
        self.assertTrue(any(c.startswith("smm-client load") for c in commands), commands)
        for args, steps in blocks:
            server = Server(*args, env={"SMM_ADMIN_TOKEN": TOKEN})
            try:
                self.replay(server, steps)
            finally:
                self.assertEqual(server.stop()[0], 0)

    def replay(self, server, steps):
        keys = {}  # the README's key -> the server's
        env = {k: v for k, v in os.environ.items()
               if k not in ("SMM_HOST", "SMM_ADMIN_TOKEN", "NO_COLOR")}
        env.update(SMM_PORT=str(server.port),
                   PATH=os.path.dirname(os.path.abspath(CLIENT)) + os.pathsep + env["PATH"])
        for command, want, status in steps:
            run = command.replace("SMM_ADMIN_TOKEN=...", "SMM_ADMIN_TOKEN=" + TOKEN)
            for doc, real in keys.items():
                run = run.replace(doc, real)
            p = subprocess.run(["bash", "-c", "{ %s; } 2>&1" % run],
                               capture_output=True, text=True, timeout=harness.TIMEOUT + 10,
                               env=env)
            got = p.stdout.splitlines()
            loose = re.search(r"smm-client (demo|load)\b", command) is not None
            if not loose:
                for w, g in zip(want, got):
                    for doc, real in zip(KEY.findall(w), KEY.findall(g)):
                        keys[doc] = real
                back = {real: doc for doc, real in keys.items()}
                got = [KEY.sub(lambda m: back.get(m.group(0), m.group(0)), g) for g in got]
            want_s = [shape(l, loose) for l in want]
            got_s = [shape(l, loose) for l in got]
            if loose:
                want_s, got_s = collapse(want_s), collapse(got_s)
            with self.subTest(command):
                self.assertEqual(p.returncode, status, p.stdout)
                self.assertRegex("".join(l + "\n" for l in got_s), "^" + pattern(want_s) + "$")


def load_denials(server, *args):
    p = subprocess.run([CLIENT, "load", "--json", "--port", str(server.port), *args],
                       capture_output=True, text=True, timeout=harness.TIMEOUT + 10)
    s = __import__("json").loads(p.stdout)
    denied = s["errors_by_code"].get("no_memory", 0)
    return denied / ((s["requests"] + denied) / 2)


@unittest.skipUnless(CLIENT, "smm-client is not built")
class ReadmeClaims(unittest.TestCase):
    def test_load_denial_rates_on_the_default_arena(self):
        with open(README) as f:
            text = f.read()
        self.assertIn("3% of the mallocs", text)
        self.assertIn("82% of the mallocs", text)
        server = Server()
        try:
            few = load_denials(server, "--requests", "20000")
            most = load_denials(server, "--requests", "20000", "--pipeline", "16")
        finally:
            self.assertEqual(server.stop()[0], 0)
        self.assertLess(few, 0.2)  # "a few percent"
        self.assertGreater(most, 0.5)  # "most"


def source(page):
    with open(os.path.join(ROOT, "man", page)) as f:
        return f.read()


def listed_options(page):
    """The options a man page's OPTIONS section lists: the tags of its .TP entries."""
    text = source(page)
    section = re.search(r"^\.SH OPTIONS\n(.*?)^\.SH ", text, re.M | re.S).group(1)
    tags = re.findall(r"^\.TP\n(.*)$", section, re.M)
    return sorted({o.replace("\\-", "-") for t in tags for o in re.findall(r"(?:\\-){1,2}[A-Za-z](?:[a-z]|\\-)*", t)})


def help_options(*argv):
    out = subprocess.run([*argv, "--help"], capture_output=True, text=True,
                         timeout=harness.TIMEOUT).stdout
    short = re.findall(r"^\s+(-[A-Za-z]), --", out, re.M)
    return set(FLAG.findall(out)) | set(short)


class ManPages(unittest.TestCase):
    def test_server_page_lists_exactly_the_help(self):
        self.assertEqual(listed_options("smm-server.1"), sorted(help_options(harness.SERVER)))

    @unittest.skipUnless(CLIENT, "smm-client is not built")
    def test_client_page_lists_exactly_the_help(self):
        overview = subprocess.run([CLIENT, "--help"], capture_output=True, text=True,
                                  timeout=harness.TIMEOUT).stdout
        commands = re.findall(r"^  ([a-z]+)\s{2,}\S", overview, re.M)
        every = help_options(CLIENT)
        for command in commands:
            every |= help_options(CLIENT, command)
        self.assertIn("-h", every)
        self.assertEqual(listed_options("smm-client.1"), sorted(every))

    @unittest.skipUnless(CLIENT, "smm-client is not built")
    def test_client_examples_run(self):
        text = source("smm-client.1")
        examples = re.search(r"^\.SH EXAMPLES\n(.*?)^\.SH ", text, re.M | re.S).group(1)
        scripts = []
        for ex in re.findall(r"^\.EX\n(.*?)^\.EE", examples, re.M | re.S):
            for roff, plain in (("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\e", "\\")):
                ex = ex.replace(roff, plain)
            scripts.append(ex)
        self.assertEqual(len(scripts), 3)
        server = Server("--memory", "1M")
        env = {k: v for k, v in os.environ.items() if k not in ("SMM_HOST", "SMM_PORT")}
        env.update(SMM_PORT=str(server.port),
                   PATH=os.path.dirname(os.path.abspath(CLIENT)) + os.pathsep + env["PATH"])
        try:
            for script in scripts:
                # The load example names a remote host; run it here, shorter.
                script = script.replace("SMM_HOST=10.0.0.5 ", "").replace("--duration 10",
                                                                          "--duration 1")
                p = subprocess.run(["bash", "-ec", script], capture_output=True, text=True,
                                   timeout=harness.TIMEOUT + 10, env=env)
                with self.subTest(script.splitlines()[0]):
                    self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                    self.assertEqual(p.stderr, "")
            conn = server.connect()
            blocks = conn.call({"op": "dump", "length": 0, "blocks": True})["blocks"]
            conn.close()
            self.assertNotIn(3, [b["id"] for b in blocks])  # the script freed its block
        finally:
            self.assertEqual(server.stop()[0], 0)


if __name__ == "__main__":
    unittest.main()
