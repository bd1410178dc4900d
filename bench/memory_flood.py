#!/usr/bin/env python3
"""The durable-rooms issue's memory flood, at full size, against the defaults.

Starts `banter` (path in argv[1]) on a fresh data directory with its default settings (the rate
limit lifted), puts one reading member in each of ROOMS rooms (so every hot window fills), then
posts ROOMS x PER_ROOM messages of 4,000 emoji (16 KB of UTF-8 each) over HTTP, THREADS at a
time, while sampling the server's RSS. Prints the peak RSS, the time taken, and checks that every
post was stored (each room's head). Standard library only; loopback only; bounded in count.

    python3 bench/memory_flood.py target/release/banter [ROOMS] [PER_ROOM] [THREADS]
"""
import http.client, json, os, socket, sys, threading, time

sys.path.insert(0, os.path.dirname(__file__))
from stalled_reader_memory import start_banter, ws_connect, ws_send_text  # noqa: E402

BIN = sys.argv[1]
ROOMS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
PER_ROOM = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
THREADS = int(sys.argv[4]) if len(sys.argv) > 4 else 32
TEXT = "\U0001F600" * 4000


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reader(port, room, stop):
    s = ws_connect(port)
    ws_send_text(s, json.dumps({"type": "join", "room": room, "name": f"reader-{room}"}))
    s.settimeout(0.5)
    while not stop.is_set():
        try:
            if not s.recv(1 << 16):
                return
        except socket.timeout:
            continue


def poster(port, jobs, results):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body_of = {}
    while True:
        try:
            room = jobs.pop()
        except IndexError:
            return
        body = body_of.setdefault(room, json.dumps({"user": "flood", "text": TEXT}))
        c.request("POST", f"/api/rooms/{room}/messages", body, {"content-type": "application/json"})
        r = c.getresponse(); r.read()
        results.append(r.status)


def main():
    srv, port, _ = start_banter(BIN, "--rate-per-sec", "0", "--http-rate-per-sec", "0")
    stop = threading.Event()
    try:
        rss0 = status_kib(srv.pid, "VmRSS")
        rooms = [f"flood-{i}" for i in range(ROOMS)]
        readers = [threading.Thread(target=reader, args=(port, r, stop), daemon=True) for r in rooms]
        for t in readers: t.start()
        jobs = [rooms[i % ROOMS] for i in range(ROOMS * PER_ROOM)]
        results = []
        t0 = time.time()
        posters = [threading.Thread(target=poster, args=(port, jobs, results)) for _ in range(THREADS)]
        for t in posters: t.start()
        peak = rss0
        while any(t.is_alive() for t in posters):
            peak = max(peak, status_kib(srv.pid, "VmRSS"))
            time.sleep(0.05)  # sampling interval
        took = time.time() - t0
        hwm = status_kib(srv.pid, "VmHWM")
        heads = []
        for r in rooms:
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("GET", f"/api/rooms/{r}/messages?before=99999999&limit=1")
            heads.append(json.loads(c.getresponse().read())["messages"][0]["seq"])
        ok = sum(1 for s in results if s == 201)
        print(f"posts: {ok}/{ROOMS * PER_ROOM} stored (201) in {took:.1f} s "
              f"({ok / took:.0f}/s, {ok * len(TEXT.encode()) / took / 1e6:.1f} MB/s of text)")
        print(f"every room's head == {PER_ROOM}: {all(h == PER_ROOM for h in heads)}")
        print(f"server RSS: {rss0 / 1024:.1f} MB at start, peak {max(peak, hwm) / 1024:.1f} MB (VmHWM)")
        return 0 if ok == ROOMS * PER_ROOM and all(h == PER_ROOM for h in heads) else 1
    finally:
        stop.set()
        srv.kill(); srv.wait()


if __name__ == "__main__":
    sys.exit(main())
