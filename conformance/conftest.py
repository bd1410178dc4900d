"""Fixtures and helpers for the Banter black-box conformance suite.

Written only from docs/protocol.md, docs/guarantees.md and `banter --help`.
The server binary comes from the BANTER_BIN environment variable; every test
starts its own server on a free loopback port and kills it afterwards.
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

HOST = "127.0.0.1"
RECV_TIMEOUT = 5.0  # seconds, every receive is bounded by this (or less)
START_TIMEOUT = 15.0


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc, port, log_path):
        self.proc = proc
        self.port = port
        self.log_path = log_path
        self.clients = []

    @property
    def base(self):
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self):
        return f"ws://{HOST}:{self.port}/ws"

    @property
    def classic_url(self):
        return f"ws://{HOST}:{self.port}/"

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # ---- HTTP helpers (urllib only) ----
    def http(self, method, path, body=None, raw=None, headers=None, timeout=RECV_TIMEOUT):
        """Returns (status, parsed_json_or_None, raw_bytes, headers)."""
        data = None
        hdrs = dict(headers or {})
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
            hdrs.setdefault("content-type", "application/json")
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("content-type", "application/json")
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, payload, rh = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as e:
            status, payload, rh = e.code, e.read(), e.headers
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        return status, parsed, payload, rh

    def post(self, room, user, text, client_id=None):
        body = {"user": user, "text": text}
        if client_id is not None:
            body["client_id"] = client_id
        return self.http("POST", f"/api/rooms/{room}/messages", body=body)

    def post_ok(self, room, user, text, client_id=None):
        status, js, raw, _ = self.post(room, user, text, client_id)
        assert status == 201, f"POST expected 201, got {status}: {raw!r}"
        return js

    def get_messages(self, room, since=None, limit=None):
        q = []
        if since is not None:
            q.append(f"since={since}")
        if limit is not None:
            q.append(f"limit={limit}")
        path = f"/api/rooms/{room}/messages" + ("?" + "&".join(q) if q else "")
        status, js, raw, _ = self.http("GET", path)
        assert status == 200, f"GET {path} expected 200, got {status}: {raw!r}"
        return js

    def client(self, url=None, **kw):
        c = Client(url or self.ws_url, **kw)
        self.clients.append(c)
        return c


def _healthy(port):
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1) as r:
            return r.status == 200
    except Exception:
        return False


@pytest.fixture
def banter_bin():
    path = os.environ.get("BANTER_BIN")
    if not path:
        pytest.fail("BANTER_BIN must point at the banter server binary")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        pytest.fail(f"BANTER_BIN={path!r} is not an executable file")
    return path


@pytest.fixture
def start_server(banter_bin, tmp_path):
    """Factory: start_server(*extra_flags) -> Server (already answering /healthz)."""
    started = []

    def _start(*extra):
        last_log = ""
        for attempt in range(3):  # retry only if the free port was grabbed meanwhile
            port = _free_port()
            log_path = tmp_path / f"banter-{port}.log"
            logf = open(log_path, "wb")
            proc = subprocess.Popen(
                [banter_bin, "--listen", f"{HOST}:{port}",
                 "--data-dir", str(tmp_path / f"data-{port}"), *extra],
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # the server also reads BANTER_* variables: keep the run hermetic
                env={k: v for k, v in os.environ.items() if not k.startswith("BANTER_")},
            )
            logf.close()
            srv = Server(proc, port, log_path)
            started.append(srv)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                if _healthy(port):
                    return srv
                time.sleep(0.05)  # polling interval, not synchronisation
            last_log = srv.log()
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
                pytest.fail(f"server never answered /healthz 200 within {START_TIMEOUT}s:\n{last_log}")
        pytest.fail(f"server failed to start:\n{last_log}")

    yield _start
    for srv in started:
        for c in srv.clients:
            c.close()
        if srv.proc.poll() is None:
            srv.proc.send_signal(signal.SIGKILL)
            try:
                srv.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture
def server(start_server):
    # rate limiting off (WebSocket and HTTP) so that functional tests are not throttled
    return start_server("--rate-per-sec", "0", "--http-rate-per-sec", "0")


class Client:
    """A minimal typed-protocol client over the sync websockets API."""

    def __init__(self, url, expect_welcome=True, **kw):
        kw.setdefault("open_timeout", RECV_TIMEOUT)
        kw.setdefault("close_timeout", 2)
        kw.setdefault("max_size", None)
        self.ws = connect(url, **kw)
        self.frames = []  # every frame received, in order
        self.welcome = None
        if expect_welcome:
            first = self.recv()
            assert first.get("type") == "welcome", f"first frame must be welcome, got {first}"
            self.welcome = first

    def send(self, obj):
        self.ws.send(json.dumps(obj) if not isinstance(obj, str) else obj)

    def recv(self, timeout=RECV_TIMEOUT):
        raw = self.ws.recv(timeout=timeout)
        assert isinstance(raw, str), f"expected a text frame, got binary {raw!r}"
        obj = json.loads(raw)
        assert isinstance(obj, dict), f"frame is not a JSON object: {raw!r}"
        self.frames.append(obj)
        return obj

    def expect(self, pred, timeout=RECV_TIMEOUT, what="frame"):
        """Receive until a frame matches pred (a type string or a callable); returns it.
        Frames skipped on the way are returned in self.skipped."""
        if isinstance(pred, str):
            t = pred
            pred = lambda f: f.get("type") == t  # noqa: E731
            what = t
        deadline = time.monotonic() + timeout
        self.skipped = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; skipped {self.skipped}")
            try:
                f = self.recv(timeout=left)
            except TimeoutError:
                raise AssertionError(f"timed out waiting for {what}; skipped {self.skipped}")
            if pred(f):
                return f
            self.skipped.append(f)

    def collect(self, duration):
        """Receive everything for `duration` seconds (a bounded quiet-period check)."""
        out = []
        deadline = time.monotonic() + duration
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            try:
                out.append(self.recv(timeout=left))
            except TimeoutError:
                return out

    def join(self, room, name, since=None):
        msg = {"type": "join", "room": room, "name": name}
        if since is not None:
            msg["since"] = since
        self.send(msg)
        j = self.expect(lambda f: f.get("type") in ("joined", "error"), what="joined")
        assert j["type"] == "joined", f"join refused: {j}"
        assert j["room"] == room
        return j

    def error(self, timeout=RECV_TIMEOUT):
        return self.expect("error", timeout=timeout)

    def expect_close(self, timeout=RECV_TIMEOUT):
        """Read until the connection closes; returns the close frame received (or None)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("connection was not closed in time")
            try:
                self.ws.recv(timeout=left)
            except TimeoutError:
                raise AssertionError("connection was not closed in time")
            except ConnectionClosed as e:
                return e.rcvd

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


class RawWebSocket:
    """A deliberately bad-mannered client on a bare TCP socket: it does the upgrade, sends
    masked text frames, and otherwise never reads or answers pings unless told to.
    Used for the 'silent peer' and 'stalled reader' guarantees."""

    def __init__(self, host, port, path="/ws", rcvbuf=None):
        import base64

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(RECV_TIMEOUT)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "connection closed during upgrade"
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_text(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            hdr = bytes([0x81, 0x80 | n])
        elif n < 65536:
            hdr = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            hdr = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(hdr + mask + masked)

    def _read(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self, timeout=RECV_TIMEOUT):
        """Returns (opcode, payload_bytes)."""
        deadline = time.monotonic() + timeout
        b0, b1 = self._read(2, deadline)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self._read(2, deadline), "big")
        elif n == 127:
            n = int.from_bytes(self._read(8, deadline), "big")
        if b1 & 0x80:
            self._read(4, deadline)  # server frames are never masked, but be lenient
        return b0 & 0x0F, self._read(n, deadline)

    def read_until_close(self, timeout):
        """Reads (and discards) frames until a close frame; returns (close_code, [text payloads])."""
        deadline = time.monotonic() + timeout
        texts = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no close frame in time")
            try:
                op, payload = self.read_frame(timeout=left)
            except EOFError:
                return None, texts
            if op == 0x8:
                return (int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None), texts
            if op == 0x1:
                texts.append(payload.decode())

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
