"""harness.py — start the real smm-server on port 0 and talk to it over TCP.

Tests read like transcripts: send a line, expect a line. Every wait has a
timeout; every server a test starts is stopped (and its exit status
checked) when the test ends, so nothing is left running.
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

SERVER = os.environ.get("SMM_SERVER", "../../build/server/smm-server")
CLIENT = os.environ.get("SMM_CLIENT", "../../build/client/smm-client")
SANITIZED = bool(os.environ.get("SMM_SANITIZE"))
# Sanitized binaries run several times slower; give every wait more room.
TIMEOUT = 30.0 if SANITIZED else 10.0
LISTENING = r"listening on (\S+):(\d+)"


class Server:
    """One smm-server process on 127.0.0.1 and a free port."""

    def __init__(self, *args, env=None, **popen):
        full_env = dict(os.environ)
        full_env.pop("SMM_ADMIN_TOKEN", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [SERVER, "--port", "0", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=full_env, **popen)
        self._log = []
        self._log_lock = threading.Condition()
        # Drain stderr all the time: a server blocked on a full pipe would
        # look like a hang in whatever test happens to be running.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.port = self._wait_listening()

    def _drain(self):
        for chunk in iter(lambda: os.read(self.proc.stderr.fileno(), 65536), b""):
            with self._log_lock:
                self._log.append(chunk)
                self._log_lock.notify_all()
        with self._log_lock:
            self._log.append(None)
            self._log_lock.notify_all()

    @property
    def log(self):
        with self._log_lock:
            return b"".join(c for c in self._log if c).decode(errors="replace")

    def wait_log(self, pattern, timeout=TIMEOUT):
        """Wait until the server's stderr matches pattern; return the match."""
        deadline = time.monotonic() + timeout
        with self._log_lock:
            while True:
                m = re.search(pattern, b"".join(c for c in self._log if c).decode(errors="replace"))
                left = deadline - time.monotonic()
                if m or None in self._log or left <= 0:
                    return m
                self._log_lock.wait(left)

    def _wait_listening(self):
        m = self.wait_log(LISTENING)
        if not m:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
            raise AssertionError("server did not start: %r" % self.log)
        return int(m.group(2))

    def connect(self):
        return Conn(self.port)

    def stop(self, sig=signal.SIGTERM):
        """Signal the server, wait for it, return (exit status, its stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        self._reader.join(TIMEOUT)
        self.proc.stderr.close()
        return self.proc.returncode, self.log


class Conn:
    """A TCP connection that speaks lines, the way nc does."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        """The next reply line as text, without its newline."""
        deadline = time.monotonic() + TIMEOUT
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no reply within %.0fs; have %r" % (TIMEOUT, self.buf))
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("connection closed; have %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def reply(self):
        """The next reply line, parsed."""
        return json.loads(self.line())

    def call(self, obj_or_line):
        """Send one request (a dict or a raw line) and return the parsed reply."""
        if isinstance(obj_or_line, dict):
            obj_or_line = json.dumps(obj_or_line)
        self.send(obj_or_line + "\n")
        return self.reply()

    def closed(self):
        """True when the server has closed the connection (EOF within TIMEOUT)."""
        self.sock.settimeout(TIMEOUT)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


class ServerTest(unittest.TestCase):
    """Base class: self.server runs for each test and must exit 0 on SIGTERM."""

    server_args = ()
    server_env = None

    def setUp(self):
        self.server = Server(*self.server_args, env=self.server_env)
        self.conns = []

    def connect(self):
        c = self.server.connect()
        self.conns.append(c)
        return c

    def tearDown(self):
        for c in self.conns:
            c.close()
        status, log = self.server.stop()
        self.assertEqual(status, 0, log)
        self.assertNotIn("ERROR: AddressSanitizer", log)
        self.assertNotIn("WARNING: ThreadSanitizer", log)
        self.assertNotIn("runtime error:", log)
