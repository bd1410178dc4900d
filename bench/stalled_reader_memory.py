#!/usr/bin/env python3
"""Shows that a stalled reader does not grow the server's memory.

Starts `banter` (path in argv[1]), opens one WebSocket that joins `lobby` and then never reads,
and one that reads everything, then posts N messages over HTTP while sampling the server's RSS.
Standard library only; loopback only; bounded in count and time.
"""
import base64, http.client, json, os, socket, subprocess, sys, tempfile, threading, time

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
TEXT = "x" * 1000


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def start_banter(bin_path, *flags, data=None):
    """Starts `banter` on a free loopback port with `data` (default: a fresh directory) as its
    data directory; waits for /healthz. Returns (process, port, seconds from start to healthy)."""
    port = free_port()
    data = data or tempfile.mkdtemp(prefix="banter-bench-")
    t0 = time.monotonic()
    srv = subprocess.Popen([bin_path, "--listen", f"127.0.0.1:{port}", "--data-dir", data, *flags],
                           stderr=subprocess.DEVNULL)
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port); c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return srv, port, time.monotonic() - t0
        except OSError:
            if time.monotonic() - t0 > 30: raise
            time.sleep(0.005)  # polling interval, not synchronisation


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def ws_connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    assert b" 101 " in buf.split(b"\r\n")[0], buf
    return s


def ws_send_text(s, text):
    data = text.encode(); mask = os.urandom(4)
    hdr = bytes([0x81])
    hdr += bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def main():
    srv, port, _ = start_banter(BIN, "--rate-per-sec", "0", "--http-rate-per-sec", "0",
                                "--history", "1000")
    try:
        stalled = ws_connect(port)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ws_send_text(stalled, json.dumps({"type": "join", "room": "lobby", "name": "stalled"}))
        reader = ws_connect(port)
        ws_send_text(reader, json.dumps({"type": "join", "room": "lobby", "name": "reader"}))
        got = [0]
        def drain():
            reader.settimeout(30)
            try:
                while True:
                    chunk = reader.recv(1 << 16)
                    if not chunk: return
                    got[0] += chunk.count(b'"type":"message"')
            except OSError:
                return
        threading.Thread(target=drain, daemon=True).start()
        conn = http.client.HTTPConnection("127.0.0.1", port)
        samples = []
        t0 = time.time()
        for i in range(N):
            conn.request("POST", "/api/rooms/lobby/messages",
                         json.dumps({"user": "flood", "text": f"{i} {TEXT}"}),
                         {"content-type": "application/json"})
            r = conn.getresponse(); r.read(); assert r.status == 201, r.status
            if i % (N // 10) == 0:
                samples.append((i, rss_kib(srv.pid)))
        samples.append((N, rss_kib(srv.pid)))
        print(f"posted {N} x {len(TEXT)} B in {time.time()-t0:.1f}s; the reading client saw ~{got[0]} messages")
        print("messages posted -> server RSS (KiB):")
        for i, r in samples:
            print(f"  {i:>7} -> {r}")
        c = http.client.HTTPConnection("127.0.0.1", port); c.request("GET", "/api/rooms")
        print("rooms:", c.getresponse().read().decode())
    finally:
        srv.terminate(); srv.wait(10)


if __name__ == "__main__":
    main()
