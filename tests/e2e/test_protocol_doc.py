"""test_protocol_doc.py — replay every example of proto/PROTOCOL.md.

The document promises that a person typing its `>` lines into nc gets its
`<` lines back. Its examples form one session on a fresh server; this test
sends each `>` line and compares the reply with the `<` line, after
mapping the document's block keys to the real ones (keys are random),
ignoring uptime_ms and allocator_moves (how often the loop changed CPU
on this machine), and reading a dump's "ttl_ms" (a lease's time left)
as matching when it is at most what the document shows and less than a
second below it.
"""
import json
import os
import re
import tempfile
import unittest

from harness import Server

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto", "PROTOCOL.md")


def exchanges():
    with open(DOC) as f:
        text = f.read()
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("> ") or line.startswith("< "):
                yield line[0], line[2:]


class ProtocolDoc(unittest.TestCase):
    def test_examples_replay_exactly(self):
        pairs = list(exchanges())
        self.assertGreater(len(pairs), 20)
        with tempfile.NamedTemporaryFile("w", suffix=".token") as token:
            token.write("s3cret\n")
            token.flush()
            server = Server("--admin-token-file", token.name)
            try:
                self.replay(server.connect(), pairs)
            finally:
                self.assertEqual(server.stop()[0], 0)

    def replay(self, conn, pairs):
        keys = {}  # the document's key -> the server's
        sent = None
        for kind, text in pairs:
            if kind == ">":
                for doc_key, real in keys.items():
                    text = text.replace(doc_key, real)
                conn.send(text + "\n")
                sent = text
                continue
            want = json.loads(text)
            got = conn.reply()
            if "key" in want and "key" in got:
                keys[want["key"]] = got["key"]
                got["key"] = want["key"]
            for varies in ("uptime_ms", "allocator_moves"):
                if varies in want and varies in got:
                    got[varies] = want[varies]
            listed = want.get("blocks") if isinstance(want.get("blocks"), list) else []
            for w, g in zip(listed, got["blocks"] if listed else []):
                if "ttl_ms" in w and 0 <= w["ttl_ms"] - g.get("ttl_ms", -10**9) < 1000:
                    g["ttl_ms"] = w["ttl_ms"]
            self.assertEqual(got, want, "after sending " + sent)
            self.assertEqual(list(got), list(want), "field order after " + sent)
        conn.close()


if __name__ == "__main__":
    unittest.main()
