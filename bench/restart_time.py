#!/usr/bin/env python3
"""Time for a restarted server to serve, with N messages (default 1,000,000) already stored.

Creates the database with `banter` itself (argv[1]), stops it, fills it with N messages over
ROOMS rooms through Python's sqlite3 (the server's own schema, in big transactions: far faster
than posting), then starts `banter` again and times: process start -> /healthz 200, and ->
a `GET` of the newest page of the largest room. Standard library only; loopback only.

    python3 bench/restart_time.py target/release/banter [N] [ROOMS]
"""
import http.client, json, os, sqlite3, sys, tempfile, time, uuid

sys.path.insert(0, os.path.dirname(__file__))
from stalled_reader_memory import start_banter  # noqa: E402

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
ROOMS = int(sys.argv[3]) if len(sys.argv) > 3 else 10


def main():
    data = tempfile.mkdtemp(prefix="banter-restart-")
    srv, _, _ = start_banter(BIN, data=data)
    srv.terminate(); srv.wait()
    db = sqlite3.connect(os.path.join(data, "banter.db"), isolation_level=None)
    db.execute("PRAGMA synchronous = NORMAL")
    per_room = N // ROOMS
    t = time.monotonic()
    for r in range(ROOMS):
        db.execute("BEGIN")
        db.execute("INSERT INTO rooms (name, head) VALUES (?, ?)", (f"room-{r}", per_room))
        rid = db.execute("SELECT id FROM rooms WHERE name = ?", (f"room-{r}",)).fetchone()[0]
        now = int(time.time() * 1000)
        db.executemany(
            "INSERT INTO messages (room_id, seq, id, user, text, ts, client_key) VALUES (?,?,?,?,?,?,?)",
            ((rid, s, str(uuid.uuid4()), "filler", f"message {s} " + "x" * 80, now, f"filler\0c{s}")
             for s in range(1, per_room + 1)))
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = os.path.getsize(os.path.join(data, "banter.db")) / 1e6
    print(f"filled {per_room * ROOMS:,} messages in {ROOMS} rooms ({size:.0f} MB) in {time.monotonic() - t:.1f} s")
    srv, port, ready = start_banter(BIN, data=data)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port)
        t0 = time.monotonic()
        c.request("GET", f"/api/rooms/room-0/messages?before={per_room + 1}&limit=100")
        page = json.loads(c.getresponse().read())
        first_page = time.monotonic() - t0
        assert page["messages"][-1]["seq"] == per_room, page["messages"][-1]
        print(f"restart to /healthz 200: {ready * 1000:.0f} ms; then the newest page of a "
              f"{per_room:,}-message room: {first_page * 1000:.1f} ms")
    finally:
        srv.kill(); srv.wait()


if __name__ == "__main__":
    main()
