"""Banter conformance suite: a third-party client written only from the public docs.

Each test cites the doc passage it checks. Sources:
  P = docs/protocol.md, G = docs/guarantees.md
"""

import json
import signal
import subprocess
import time
import uuid

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conftest import RECV_TIMEOUT

MESSAGE_FIELDS = {"room", "seq", "id", "user", "text", "ts"}


def now_ms():
    return int(time.time() * 1000)


def check_message(m, room=None, user=None, text=None, seq=None):
    """P: `message` | room, seq, id, user, text, ts."""
    missing = MESSAGE_FIELDS - set(m)
    assert not missing, f"message lacks {missing}: {m}"
    assert isinstance(m["seq"], int) and m["seq"] >= 1
    assert isinstance(m["id"], str) and m["id"]
    assert isinstance(m["ts"], int)
    # P: "`ts` is milliseconds since the Unix epoch, set by the server."
    assert abs(m["ts"] - now_ms()) < 60_000, f"ts {m['ts']} is not ms since epoch (now {now_ms()})"
    if room is not None:
        assert m["room"] == room
    if user is not None:
        assert m["user"] == user
    if text is not None:
        assert m["text"] == text
    if seq is not None:
        assert m["seq"] == seq, f"expected seq {seq}: {m}"


def check_error(e, code):
    assert e["type"] == "error", e
    assert e.get("code") == code, f"expected error code {code!r}, got {e}"
    assert isinstance(e.get("message"), str) and e["message"], f"error lacks message: {e}"


def assert_usable(c, room="lobby", tag=None):
    """The socket still works: a send is stored and acked."""
    cid = tag or f"usable-{uuid.uuid4().hex[:12]}"
    c.send({"type": "send", "room": room, "text": f"still here {cid}", "client_id": cid})
    ack = c.expect(lambda f: f.get("type") == "ack" and f.get("client_id") == cid, what=f"ack {cid}")
    assert ack["room"] == room
    return ack


def replay_sequence(c, n_messages, room="lobby"):
    """After a join with `since`, read until n_messages `message` frames for `room`
    have arrived; returns (replay_frame, [messages], ordered list of types seen),
    ignoring presence frames (ephemeral and unordered relative to replay)."""
    types = []
    replay = None
    msgs = []
    deadline = time.monotonic() + RECV_TIMEOUT
    while replay is None or len(msgs) < n_messages:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; replay={replay} msgs={msgs} types={types}"
        try:
            f = c.recv(timeout=left)
        except TimeoutError:
            raise AssertionError(f"timed out; replay={replay} msgs={msgs} types={types}")
        t = f.get("type")
        if t == "presence":
            continue
        types.append(t)
        if t == "replay":
            assert replay is None, f"two replay frames: {replay} and {f}"
            replay = f
        elif t == "message" and f.get("room") == room:
            assert replay is not None, f"message before replay frame: {f}"
            msgs.append(f)
    return replay, msgs, types


def v1_replay(frame):
    """A `replay` frame's v1 fields. v1.1 adds `epoch` (the contract lets servers add optional
    fields); it must be a non-empty string."""
    assert isinstance(frame.get("epoch"), str) and frame["epoch"], frame
    return {k: v for k, v in frame.items() if k != "epoch"}


# --------------------------------------------------------------------------- HTTP basics

def test_healthz(server):
    """P: `GET /healthz` -> `200` while serving; example {"status":"ok","version":..,"connections":..}."""
    status, js, raw, _ = server.http("GET", "/healthz")
    assert status == 200
    assert js is not None, f"healthz body is not JSON: {raw!r}"
    assert js.get("status") == "ok"
    assert isinstance(js.get("version"), str)
    assert isinstance(js.get("connections"), int)


def test_plain_get_root_serves_web_app(server):
    """P: "a plain `GET /` still serves the web app"."""
    status, _, raw, headers = server.http("GET", "/")
    assert status == 200
    assert "html" in (headers.get("content-type") or "").lower() or b"<html" in raw.lower()


# --------------------------------------------------------------------------- welcome / session


def test_welcome_first_frame(server):
    """P: "Once upgraded, the first frame is `welcome`" with session, server, limits."""
    c = server.client()
    w = c.welcome
    assert isinstance(w.get("session"), str) and w["session"]
    srv = w.get("server")
    assert isinstance(srv, dict)
    assert isinstance(srv.get("name"), str)
    assert isinstance(srv.get("version"), str)
    assert srv.get("protocol") == 1, "P: 'Banter wire protocol, v1'"
    lim = w.get("limits")
    assert isinstance(lim, dict)
    # P: validation defaults and close-code table: 4,000 chars, 64 KiB, names 32, rooms 64, client_id 64
    assert lim.get("max_text_chars") == 4000
    assert lim.get("max_frame_bytes") == 65536
    assert lim.get("max_name_chars") == 32
    assert lim.get("max_room_chars") == 64
    assert lim.get("max_client_id_chars") == 64
    assert "rate_per_sec" in lim and "rate_burst" in lim
    # a second connection gets another session id
    c2 = server.client()
    assert c2.welcome["session"] != w["session"]


def test_welcome_default_rate_limits(start_server):
    """P example welcome: rate_per_sec 20, rate_burst 40; P errors: "more than `limits.rate_per_sec`"."""
    srv = start_server()
    c = srv.client()
    assert c.welcome["limits"]["rate_per_sec"] == 20
    assert c.welcome["limits"]["rate_burst"] == 40


def test_full_session(server):
    """P 'A whole session' + HTTP API: join, send, ack, fan-out, HTTP post push, GET listing."""
    ada = server.client()
    j = ada.join("lobby", "ada")
    assert "ada" in j["users"], f"P: joined users include you: {j}"
    assert j["head"] == 0, "P: head is `0` when empty"

    grace = server.client()
    jg = grace.join("lobby", "grace")
    assert set(jg["users"]) >= {"ada", "grace"}, jg
    assert jg["head"] == 0

    # ada hears grace arriving
    p = ada.expect(lambda f: f.get("type") == "presence" and f.get("user") == "grace")
    assert p == {"type": "presence", "room": "lobby", "user": "grace", "state": "joined"} or (
        p["room"] == "lobby" and p["state"] == "joined"
    )

    ada.send({"type": "send", "room": "lobby", "text": "hi", "client_id": "c1"})
    m = ada.expect("message")
    check_message(m, room="lobby", user="ada", text="hi", seq=1)
    ack = ada.expect("ack")
    assert ack["client_id"] == "c1" and ack["room"] == "lobby" and ack["seq"] == m["seq"]

    # the second client sees the same message
    mg = grace.expect("message")
    assert mg == m, f"grace saw a different message: {mg} vs {m}"

    # HTTP post -> 201 with the stored message (a `message` without its `type`), pushed to all
    status, stored, raw, _ = server.post("lobby", "deploy-bot", "v1.4.2 is live")
    assert status == 201, raw
    check_message(stored, room="lobby", user="deploy-bot", text="v1.4.2 is live", seq=2)
    assert "type" not in stored, f"P: 'the 201 of a post is a message without its type': {stored}"
    for c in (ada, grace):
        pm = c.expect("message")
        assert {k: pm[k] for k in MESSAGE_FIELDS} == {k: stored[k] for k in MESSAGE_FIELDS}

    page = server.get_messages("lobby", since=0)
    assert page["room"] == "lobby"
    assert [x["seq"] for x in page["messages"]] == [1, 2]
    assert page["messages"][0]["id"] == m["id"] and page["messages"][0]["text"] == "hi"
    assert page["messages"][1]["id"] == stored["id"]
    assert page.get("complete") is True
    # defaults: since 0
    assert server.get_messages("lobby")["messages"] == page["messages"]
    assert [x["seq"] for x in server.get_messages("lobby", since=1)["messages"]] == [2]


def test_message_order_and_ack_order(server):
    """P 'A whole session': the sender gets `message` then `ack` (shown in that order).
    G5: an ack is sent only after the message has its seq and is in history."""
    c = server.client()
    c.join("lobby", "ada")
    c.send({"type": "send", "room": "lobby", "text": "one", "client_id": "o1"})
    seen = []
    while len(seen) < 2:
        f = c.recv()
        if f["type"] in ("message", "ack"):
            seen.append(f["type"])
    assert seen == ["message", "ack"], seen
    # after the ack, GET already lists it
    assert [x["seq"] for x in server.get_messages("lobby")["messages"]] == [1]


def test_get_messages_limit_and_order(server):
    """P: `?since=SEQ&limit=N` -> messages after `since` in seq order. G1: same order as live."""
    for i in range(5):
        server.post_ok("lobby", "bot", f"m{i}")
    page = server.get_messages("lobby", since=1, limit=2)
    assert [x["seq"] for x in page["messages"]] == [2, 3]
    page = server.get_messages("lobby", since=0, limit=100)
    assert [x["seq"] for x in page["messages"]] == [1, 2, 3, 4, 5]
    assert [x["text"] for x in page["messages"]] == [f"m{i}" for i in range(5)]
    assert server.get_messages("lobby", since=5)["messages"] == []


def test_get_rooms(server):
    """P: `GET /api/rooms` -> `200` every room with its `head` and present-user count."""
    a = server.client()
    a.join("lobby", "ada")
    b = server.client()
    b.join("ops", "grace")
    server.post_ok("lobby", "bot", "x")
    server.post_ok("lobby", "bot", "y")
    status, js, raw, _ = server.http("GET", "/api/rooms")
    assert status == 200, raw
    rooms = {r["room"]: r for r in js["rooms"]}
    assert rooms["lobby"]["head"] == 2 and rooms["lobby"]["users"] == 1, js
    assert rooms["ops"]["head"] == 0 and rooms["ops"]["users"] == 1, js


# --------------------------------------------------------------------------- errors over WS


def test_ws_errors_and_socket_stays_usable(server):
    """P Errors table + 'the connection stays open'; G9: bad input changes nothing."""
    c = server.client()
    c.join("lobby", "ada")

    cases = [
        ("not json at all {", "bad_request"),
        (json.dumps({"type": "shout", "room": "lobby"}), "bad_request"),  # unknown type
        (json.dumps({"type": "send", "room": "lobby"}), "bad_request"),  # missing text
        (json.dumps({"type": "send", "text": "x"}), "bad_request"),  # missing room
        (json.dumps({"type": "send", "room": "lobby", "text": 5}), "bad_request"),  # mistyped
        (json.dumps({"type": "send", "room": "lobby", "text": "x", "client_id": "c" * 65}), "bad_request"),
        (json.dumps({"type": "send", "room": "lobby", "text": "x" * 4001}), "too_large"),
        (json.dumps({"type": "send", "room": "lobby", "text": "   "}), "invalid_text"),
        (json.dumps({"type": "send", "room": "lobby", "text": ""}), "invalid_text"),
        (json.dumps({"type": "join", "room": "Lobby!", "name": "ada"}), "invalid_room"),
        (json.dumps({"type": "join", "room": "", "name": "ada"}), "invalid_room"),
        (json.dumps({"type": "join", "room": "r" * 65, "name": "ada"}), "invalid_room"),
    ]
    failures = []
    for i, (frame, code) in enumerate(cases):
        c.send(frame)
        e = c.expect(lambda f: f.get("type") in ("error", "ack", "message", "joined"), what="error")
        if e.get("type") != "error" or e.get("code") != code or not e.get("message"):
            failures.append((frame[:80], code, e))
        assert_usable(c, tag=f"after-{i}")
    assert not failures, "wrong answers:\n" + "\n".join(f"  sent {f!r}: expected {c}, got {e}" for f, c, e in failures)

    # exactly the 4,000-character boundary is accepted
    c.send({"type": "send", "room": "lobby", "text": "y" * 4000, "client_id": "big"})
    ack = c.expect(lambda f: f.get("type") in ("ack", "error"), what="ack for 4000 chars")
    assert ack["type"] == "ack", ack

    # G9: refused requests change nothing: only the successful sends were stored
    msgs = server.get_messages("lobby")["messages"]
    assert len(msgs) == len(cases) + 1
    assert all(m["text"].startswith("still here") for m in msgs[:-1])


def test_invalid_name(server):
    """P: `invalid_name` | name empty, longer than max_name_chars, or with control characters."""
    c = server.client()
    for name in ["", "   ", "n" * 33, "bad\u0007name"]:
        c.send({"type": "join", "room": "lobby", "name": name})
        check_error(c.error(), "invalid_name")
    c.join("lobby", "n" * 32)  # exactly 32 is fine, and the socket still works


def test_not_joined(server):
    """P: `not_joined` | `send`, `typing` or `leave` for a room you have not joined."""
    c = server.client()
    c.join("lobby", "ada")
    for frame in [
        {"type": "send", "room": "other", "text": "x"},
        {"type": "typing", "room": "other"},
        {"type": "leave", "room": "other"},
    ]:
        c.send(frame)
        check_error(c.error(), "not_joined")
    assert_usable(c)
    assert server.get_messages("other")["messages"] == []


def test_name_taken(server):
    """P: 'the first `join` fixes its name, and joining another room under a different name is
    refused with `name_taken`'."""
    c = server.client()
    c.join("lobby", "ada")
    c.send({"type": "join", "room": "ops", "name": "bob"})
    check_error(c.error(), "name_taken")
    j = c.join("ops", "ada")  # same name in another room is fine
    assert "ada" in j["users"]


def test_shared_name_counted_once(server):
    """P: 'Several connections may share a name (a user with two tabs); presence counts the name once.'"""
    t1 = server.client()
    t1.join("lobby", "ada")
    t2 = server.client()
    j = t2.join("lobby", "ada")
    assert j["users"].count("ada") == 1, j
    status, js, _, _ = server.http("GET", "/api/rooms")
    lobby = [r for r in js["rooms"] if r["room"] == "lobby"][0]
    assert lobby["users"] == 1, js


def test_rate_limited(start_server):
    """P: `rate_limited` | more than limits.rate_per_sec (burst rate_burst) messages per second;
    example error echoes client_id."""
    srv = start_server()  # defaults: 20/s, burst 40
    c = srv.client()
    c.join("lobby", "ada")
    n = 80
    for i in range(n):
        c.send({"type": "send", "room": "lobby", "text": f"flood {i}", "client_id": f"f{i}"})
    acks, errors = [], []
    while len(acks) + len(errors) < n:
        f = c.expect(lambda f: f.get("type") in ("ack", "error"), what="ack/error")
        (acks if f["type"] == "ack" else errors).append(f)
    assert errors, "80 sends in a burst were all accepted"
    assert all(e["code"] == "rate_limited" for e in errors), errors[:3]
    assert all(e.get("client_id", "").startswith("f") for e in errors), (
        "P example: the rate_limited error carries client_id", errors[:3])
    # "messages" is read as every client frame: the `join` before the flood counts too
    assert 40 <= len(acks) + 1 < n, len(acks)
    # G9: the connection stays open
    time.sleep(1.1)  # let the token bucket refill (rate limit is time-based)
    assert_usable(c)


# --------------------------------------------------------------------------- HTTP errors


def test_http_errors(server):
    """P: 'Errors come as JSON with a fitting status: 400 (bad input: bad_request, invalid_name,
    invalid_room, invalid_text) ... 413 (too_large ...)'; example {"code":"invalid_name",...}."""
    failures = []

    def check(path, status_want, code_want, body=None, raw=None, method="POST"):
        status, js, rawb, _ = server.http(method, path, body=body, raw=raw)
        ok = (status == status_want and isinstance(js, dict) and js.get("code") == code_want
              and isinstance(js.get("message"), str))
        if not ok:
            failures.append(f"{method} {path} body={body if raw is None else raw!r}: expected {status_want} "
                            f"{code_want}, got {status} {rawb[:200]!r}")

    check("/api/rooms/lobby/messages", 400, "invalid_name", body={"user": "", "text": "hi"})
    check("/api/rooms/lobby/messages", 400, "invalid_name", body={"user": "u" * 33, "text": "hi"})
    check("/api/rooms/lobby/messages", 400, "invalid_text", body={"user": "bot", "text": "   "})
    check("/api/rooms/Bad!Room/messages", 400, "invalid_room", body={"user": "bot", "text": "hi"})
    check("/api/rooms/lobby/messages", 400, "bad_request", raw="{not json")
    check("/api/rooms/lobby/messages", 400, "bad_request", body={"user": "bot"})
    check("/api/rooms/lobby/messages", 413, "too_large", body={"user": "bot", "text": "x" * 4001})
    check("/api/rooms/Bad!Room/messages", 400, "invalid_room", method="GET")
    # nothing was stored
    assert server.get_messages("lobby")["messages"] == []
    assert not failures, "\n".join(failures)


def test_http_body_over_64k(server):
    """P: '413 (too_large, or a body over 64 KiB)'."""
    body = json.dumps({"user": "bot", "text": "x" * 70_000})
    status, js, raw, _ = server.http("POST", "/api/rooms/lobby/messages", raw=body)
    assert status == 413, (status, raw[:200])


def test_unknown_api_route_is_json_404(server):
    """P: 'Errors come as JSON with a fitting status: ... `404` (`not_found`)'. Interpretation: an
    unknown route under /api answers a JSON 404 `not_found` whatever the method (only `GET /` is
    documented to serve the web app)."""
    results = {}
    for method in ("GET", "POST"):
        status, js, raw, headers = server.http(method, "/api/no-such-route", body={} if method == "POST" else None)
        results[method] = (status, (headers.get("content-type") or ""), raw[:60])
    bad = {m: r for m, r in results.items() if r[0] != 404 or "json" not in r[1]}
    assert not bad, f"unknown /api route answers: {bad}"


# --------------------------------------------------------------------------- frame size


def test_ws_frame_over_64k_closes_1009(server):
    """P: 1009 | a WebSocket message over limits.max_frame_bytes (64 KiB). G9: closes only that connection."""
    bystander = server.client()
    bystander.join("lobby", "grace")
    c = server.client()
    c.join("lobby", "ada")
    c.send(json.dumps({"type": "send", "room": "lobby", "text": "x" * 70_000}))
    rcvd = c.expect_close()
    assert rcvd is not None, "no close frame received"
    assert rcvd.code == 1009, f"close code {rcvd.code} {rcvd.reason!r}"
    assert_usable(bystander)


def test_ws_frame_under_64k_but_text_too_long_is_an_error(server):
    """A frame under 64 KiB whose text exceeds 4,000 chars is `too_large`, not a close."""
    c = server.client()
    c.join("lobby", "ada")
    c.send(json.dumps({"type": "send", "room": "lobby", "text": "x" * 60_000}))
    check_error(c.error(), "too_large")
    assert_usable(c)


# --------------------------------------------------------------------------- replay / resume


def test_join_since_zero_replays_everything(server):
    """P 'A whole session' / G2: joined, replay{from 1,to head,complete true}, messages 1..head."""
    posted = [server.post_ok("lobby", "bot", f"r{i}") for i in range(3)]
    c = server.client()
    c.send({"type": "join", "room": "lobby", "name": "ada", "since": 0})
    j = c.expect("joined")
    assert j["head"] == 3
    replay, msgs, types = replay_sequence(c, 3)
    assert types[0] == "replay", types
    assert v1_replay(replay) == {"type": "replay", "room": "lobby", "from": 1, "to": 3, "complete": True}, replay
    assert [m["seq"] for m in msgs] == [1, 2, 3]
    assert [m["id"] for m in msgs] == [p["id"] for p in posted]
    assert not [f for f in c.collect(0.5) if f.get("type") == "message"], "duplicates after replay"


def test_join_since_head_nothing_to_replay(server):
    """P: 'With nothing to replay, `from` is `to + 1`'."""
    server.post_ok("lobby", "bot", "a")
    server.post_ok("lobby", "bot", "b")
    c = server.client()
    c.send({"type": "join", "room": "lobby", "name": "ada", "since": 2})
    c.expect("joined")
    r = c.expect("replay")
    assert v1_replay(r) == {"type": "replay", "room": "lobby", "from": 3, "to": 2, "complete": True}, r
    assert not [f for f in c.collect(0.5) if f.get("type") == "message"]


def test_join_without_since_has_no_replay(server):
    """P: the replay follows 'when you gave `since`'."""
    server.post_ok("lobby", "bot", "a")
    c = server.client()
    c.join("lobby", "ada")
    extra = c.collect(0.5)
    assert not [f for f in extra if f.get("type") in ("replay", "message")], extra


def test_resume_after_disconnect(server):
    """P 'Resuming after a disconnect' / G2: exactly the missed ones, in order, once, then live."""
    c = server.client()
    c.join("lobby", "ada")
    server.post_ok("lobby", "bot", "m1")
    server.post_ok("lobby", "bot", "m2")
    last_seen = max(c.expect("message")["seq"], c.expect("message")["seq"])
    assert last_seen == 2
    c.close()

    missed = [server.post_ok("lobby", "bot", f"missed{i}") for i in range(3)]
    c2 = server.client()
    c2.send({"type": "join", "room": "lobby", "name": "ada", "since": last_seen})
    j = c2.expect("joined")
    assert j["head"] == 5
    replay, msgs, types = replay_sequence(c2, 3)
    assert v1_replay(replay) == {"type": "replay", "room": "lobby", "from": 3, "to": 5, "complete": True}, replay
    assert [m["seq"] for m in msgs] == [3, 4, 5]
    assert [m["id"] for m in msgs] == [m["id"] for m in missed]
    assert [m["text"] for m in msgs] == ["missed0", "missed1", "missed2"]
    # then live traffic, no gap, no duplicate
    live = server.post_ok("lobby", "bot", "live")
    frames = c2.collect(0.7)
    got = [f for f in frames if f.get("type") == "message"]
    assert [m["seq"] for m in got] == [6] and got[0]["id"] == live["id"], frames


def test_history_truncation_complete_false(start_server):
    """G3: with `--store memory` each room keeps its last --history messages; replay says
    complete:false and `from` is the oldest held seq; the same holds for GET ("complete": false)."""
    srv = start_server("--rate-per-sec", "0", "--store", "memory", "--history", "3")
    for i in range(5):
        srv.post_ok("lobby", "bot", f"h{i}")
    c = srv.client()
    c.send({"type": "join", "room": "lobby", "name": "ada", "since": 0})
    j = c.expect("joined")
    assert j["head"] == 5
    replay, msgs, _ = replay_sequence(c, 3)
    assert v1_replay(replay) == {"type": "replay", "room": "lobby", "from": 3, "to": 5, "complete": False}, replay
    assert [m["seq"] for m in msgs] == [3, 4, 5]
    page = srv.get_messages("lobby", since=0)
    assert [m["seq"] for m in page["messages"]] == [3, 4, 5]
    assert page["complete"] is False, page
    # a resume point still inside the window is complete
    page = srv.get_messages("lobby", since=2)
    assert page["complete"] is True and [m["seq"] for m in page["messages"]] == [3, 4, 5], page


def test_since_ahead_of_head(server):
    """P: 'If `since` is ahead of the room's `head` ... replays the whole room from seq 1 with
    complete: false'."""
    server.post_ok("lobby", "bot", "a")
    server.post_ok("lobby", "bot", "b")
    c = server.client()
    c.send({"type": "join", "room": "lobby", "name": "ada", "since": 10})
    c.expect("joined")
    replay, msgs, _ = replay_sequence(c, 2)
    assert replay["complete"] is False, replay
    assert replay["from"] == 1 and replay["to"] == 2, replay
    assert [m["seq"] for m in msgs] == [1, 2]


# --------------------------------------------------------------------------- idempotency


def test_idempotent_send_same_connection(server):
    """P ack: 'Sending the same client_id again is acked again with the same seq and stores nothing'."""
    c = server.client()
    c.join("lobby", "ada")
    c.send({"type": "send", "room": "lobby", "text": "once", "client_id": "dup-1"})
    a1 = c.expect("ack")
    c.send({"type": "send", "room": "lobby", "text": "once", "client_id": "dup-1"})
    a2 = c.expect("ack")
    assert a1 == a2 == {"type": "ack", "client_id": "dup-1", "room": "lobby", "seq": 1}, (a1, a2)
    msgs = server.get_messages("lobby")["messages"]
    assert len(msgs) == 1, msgs
    # only one message frame was pushed
    rest = c.collect(0.5)
    all_msgs = [f for f in c.frames if f.get("type") == "message"]
    assert len(all_msgs) == 1, (all_msgs, rest)


def test_idempotent_send_across_reconnect(server):
    """P 'Re-send any send that was not acked yet with the same client_id ... nothing is stored twice';
    G4 (same user, same room)."""
    c = server.client()
    c.join("lobby", "ada")
    c.send({"type": "send", "room": "lobby", "text": "maybe lost", "client_id": "rc-1"})
    a1 = c.expect("ack")
    c.close()
    c2 = server.client()
    c2.join("lobby", "ada")
    c2.send({"type": "send", "room": "lobby", "text": "maybe lost", "client_id": "rc-1"})
    a2 = c2.expect("ack")
    assert a2["seq"] == a1["seq"] and a2["client_id"] == "rc-1", (a1, a2)
    assert not [f for f in c2.frames if f.get("type") == "message"], "re-send was pushed again"
    assert len(server.get_messages("lobby")["messages"]) == 1


def test_idempotent_http_post(server):
    """G4: 'HTTP answers 200 with the original message instead of 201'."""
    s1, m1, r1, _ = server.post("lobby", "deploy-bot", "v1.4.2 is live", client_id="deploy-1402")
    assert s1 == 201, r1
    s2, m2, r2, _ = server.post("lobby", "deploy-bot", "v1.4.2 is live", client_id="deploy-1402")
    assert s2 == 200, (s2, r2)
    assert m2 == m1, (m1, m2)
    assert len(server.get_messages("lobby")["messages"]) == 1


# --------------------------------------------------------------------------- presence, typing, direct


def test_presence_typing_leave(server):
    """P presence: state joined/left/typing; typing is ephemeral (never stored)."""
    ada = server.client()
    ada.join("lobby", "ada")
    grace = server.client()
    grace.join("lobby", "grace")
    is_grace = lambda st: lambda f: (f.get("type") == "presence" and f.get("user") == "grace"  # noqa: E731
                                     and f.get("state") == st)
    p = ada.expect(is_grace("joined"), what="presence joined")
    assert p["room"] == "lobby"
    grace.send({"type": "typing", "room": "lobby"})
    ada.expect(is_grace("typing"), what="presence typing")
    grace.send({"type": "leave", "room": "lobby"})
    ada.expect(is_grace("left"), what="presence left")
    # after leaving, sending there is not_joined
    grace.send({"type": "send", "room": "lobby", "text": "x"})
    check_error(grace.error(), "not_joined")
    # rejoin and disconnect -> left again
    grace.join("lobby", "grace")
    ada.expect(is_grace("joined"), what="presence joined again")
    grace.close()
    ada.expect(is_grace("left"), what="presence left on disconnect")
    assert server.get_messages("lobby")["messages"] == [], "typing must never be stored"


def test_direct_messages(server):
    """P direct: delivered to the recipient's and the sender's connections (sender's copy echoes
    client_id). v1.1: stored in the two users' private conversation (`room`, `seq`), so a direct to
    someone not connected is kept for them rather than refused with `unknown_user`."""
    ada = server.client()
    ada.join("lobby", "ada")
    grace = server.client()
    grace.join("ops", "grace")  # no shared room needed: 'to the user named `to` (who must be connected)'
    ada.send({"type": "direct", "to": "grace", "text": "lunch?", "client_id": "c-7f3a-2"})
    got = grace.expect("direct")
    mine = ada.expect("direct")
    for d in (got, mine):
        assert d["from"] == "ada" and d["to"] == "grace" and d["text"] == "lunch?", d
        assert isinstance(d["id"], str) and isinstance(d["ts"], int)
    assert got["id"] == mine["id"]
    assert mine.get("client_id") == "c-7f3a-2", mine
    assert got["room"] == mine["room"] and got["room"].startswith("dm-"), (got, mine)
    assert got["seq"] == mine["seq"] == 1, (got, mine)
    ada.send({"type": "direct", "to": "nobody", "text": "hello?"})
    kept = ada.expect("direct")
    assert kept["to"] == "nobody" and kept["seq"] == 1 and kept["room"] != got["room"], kept
    assert_usable(ada)
    later = server.client()
    later.send({"type": "join", "with": "ada", "name": "nobody", "since": 0})
    joined = later.expect("joined")
    assert joined["room"] == kept["room"] and joined.get("with") == "ada", joined
    assert later.expect("message")["text"] == "hello?"
    # not in the lobby, which is where the conversation's members also chat
    assert server.get_messages("lobby")["messages"][-1]["text"].startswith("still here")
    assert len(server.get_messages("lobby")["messages"]) == 1


# --------------------------------------------------------------------------- classic clients


def test_classic_client_interop(server):
    """P 'Classic clients on GET /': posted to lobby; receives every lobby message in the same shape,
    its own included; bad input answered with a typed error frame."""
    typed = server.client()
    typed.join("lobby", "grace")
    classic = server.client(url=server.classic_url, expect_welcome=False)

    def classic_expect(pred, what):
        return classic.expect(lambda f: "user" in f and "message" in f and pred(f), what=what)

    classic.send({"user": "ada", "message": "hello from a classic page"})
    m = typed.expect("message")
    check_message(m, room="lobby", user="ada", text="hello from a classic page", seq=1)
    own = classic_expect(lambda f: f["message"] == "hello from a classic page", "own message echoed")
    assert own["user"] == "ada"

    typed.send({"type": "send", "room": "lobby", "text": "hi classic", "client_id": "t1"})
    got = classic_expect(lambda f: f["message"] == "hi classic", "typed message")
    assert got["user"] == "grace"

    # HTTP posts to lobby reach it too
    server.post_ok("lobby", "bot", "via http")
    classic_expect(lambda f: f["message"] == "via http" and f["user"] == "bot", "http message")

    # bad input -> typed error frame
    classic.send("this is not json")
    e = classic.expect(lambda f: f.get("type") == "error", what="typed error")
    check_error(e, "bad_request")
    # still usable
    classic.send({"user": "ada", "message": "still here"})
    typed.expect(lambda f: f.get("type") == "message" and f.get("text") == "still here")
    assert [x["seq"] for x in server.get_messages("lobby")["messages"]] == [1, 2, 3, 4]
    classic_frames_seen = [f for f in classic.frames]
    # informative: any frame that is neither the classic shape nor an error (e.g. welcome)
    unexpected = [f for f in classic_frames_seen if not ("user" in f and "message" in f) and f.get("type") != "error"]
    assert not unexpected, f"classic client received non-classic frames: {unexpected}"


# --------------------------------------------------------------------------- door checks


def test_origin_refused_403(start_server):
    """P: 'The server may refuse the upgrade ... 403 when the Origin is not allowed (--allowed-origin)'."""
    srv = start_server("--allowed-origin", "http://good.example")
    with pytest.raises(InvalidStatus) as ei:
        connect(srv.ws_url, origin="http://evil.example", open_timeout=RECV_TIMEOUT)
    assert ei.value.response.status_code == 403
    c = srv.client(origin="http://good.example")
    assert c.welcome is not None


def test_max_connections_503(start_server):
    """P: '503 when it is at its connection limit (--max-connections)'."""
    srv = start_server("--max-connections", "1")
    srv.client()
    with pytest.raises(InvalidStatus) as ei:
        connect(srv.ws_url, open_timeout=RECV_TIMEOUT)
    assert ei.value.response.status_code == 503


# --------------------------------------------------------------------------- shutdown


def test_sigterm_closes_1001_and_exits(start_server):
    """G8: on SIGTERM the server closes every WebSocket with 1001 and exits within --shutdown-grace
    (default 5 s)."""
    srv = start_server("--rate-per-sec", "0")
    a = srv.client()
    a.join("lobby", "ada")
    b = srv.client()
    b.join("ops", "grace")
    c = srv.client()  # connected but never joined
    classic = srv.client(url=srv.classic_url, expect_welcome=False)
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    codes = []
    for cl in (a, b, c, classic):
        rcvd = cl.expect_close(timeout=6)
        codes.append(rcvd.code if rcvd else None)
    assert codes == [1001, 1001, 1001, 1001], codes
    try:
        rc = srv.proc.wait(timeout=max(0.1, 6 - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        pytest.fail("server did not exit within ~5 s of SIGTERM")
    elapsed = time.monotonic() - t0
    assert elapsed < 6, elapsed
    print(f"exit status after SIGTERM: {rc}, elapsed {elapsed:.2f}s")


# --------------------------------------------------------------------------- bad peers


def test_silent_peer_closed_4000_and_presence_freed(start_server):
    """G7: a peer silent for --idle-timeout is closed with 4000, freeing its presence; 'a client that
    never answers is gone within the idle timeout plus one ping interval'. A client that answers stays."""
    from conftest import RawWebSocket

    srv = start_server("--rate-per-sec", "0", "--ping-interval", "500ms", "--idle-timeout", "1500ms")
    watcher = srv.client()  # websockets answers pings by itself
    watcher.join("lobby", "ada")
    raw = RawWebSocket("127.0.0.1", srv.port)
    raw.send_text(json.dumps({"type": "join", "room": "lobby", "name": "mute"}))
    t0 = time.monotonic()
    watcher.expect(lambda f: f.get("type") == "presence" and f.get("user") == "mute" and f.get("state") == "joined")
    # from now on the raw client never sends anything (no pongs); frames pile up unread in TCP
    watcher.expect(lambda f: f.get("type") == "presence" and f.get("user") == "mute" and f.get("state") == "left",
                   timeout=5, what="presence left for the silent peer")
    gone_after = time.monotonic() - t0
    assert gone_after <= 1.5 + 0.5 + 1.0, f"silent peer freed after {gone_after:.2f}s"
    code, _ = raw.read_until_close(timeout=3)
    raw.close()
    assert code == 4000, f"silent peer closed with {code}"
    # the answering client is still there, well past the idle timeout
    assert_usable(watcher)
    status, js, _, _ = srv.http("GET", "/api/rooms")
    assert [r["users"] for r in js["rooms"] if r["room"] == "lobby"] == [1], js


def test_stalled_reader_closed_4000_then_resumes(start_server):
    """G6: a client whose outbound queue is full is closed with 4000; it resumes with `since`, and
    healthy clients receive everything."""
    from conftest import RawWebSocket

    srv = start_server("--rate-per-sec", "0", "--http-rate-per-sec", "0", "--client-queue", "16", "--history", "100000")
    healthy = srv.client()
    healthy.join("lobby", "ada")
    stalled = RawWebSocket("127.0.0.1", srv.port, rcvbuf=4096)
    stalled.send_text(json.dumps({"type": "join", "room": "lobby", "name": "sloth"}))
    healthy.expect(lambda f: f.get("type") == "presence" and f.get("user") == "sloth" and f.get("state") == "joined")
    text = "z" * 4000
    posted = 0
    healthy_seqs = []
    closed_seen = False
    t0 = time.monotonic()
    while posted < 5000 and time.monotonic() - t0 < 20:
        srv.post_ok("lobby", "bot", text)
        posted += 1
        # drain the healthy client without blocking
        while True:
            try:
                f = healthy.recv(timeout=0)
            except TimeoutError:
                break
            if f.get("type") == "message":
                healthy_seqs.append(f["seq"])
            elif f.get("type") == "presence" and f.get("user") == "sloth" and f.get("state") == "left":
                closed_seen = True
        if closed_seen:
            break
    assert closed_seen, f"stalled reader not dropped after {posted} posts of 4 KB"
    print(f"stalled reader dropped after {posted} posts")
    # healthy client receives everything, in order
    while len(healthy_seqs) < posted:
        f = healthy.expect("message")
        healthy_seqs.append(f["seq"])
    assert healthy_seqs == list(range(1, posted + 1))
    code, texts = stalled.read_until_close(timeout=10)
    stalled.close()
    assert code == 4000, f"stalled reader closed with {code}"
    seen = [json.loads(t) for t in texts]
    last = max([m["seq"] for m in seen if m.get("type") == "message"], default=0)
    # resume
    c = srv.client()
    c.send({"type": "join", "room": "lobby", "name": "sloth", "since": last})
    c.expect("joined")
    replay, msgs, _ = replay_sequence(c, posted - last)
    assert v1_replay(replay) == {"type": "replay", "room": "lobby", "from": last + 1, "to": posted, "complete": True}, replay
    assert [m["seq"] for m in msgs] == list(range(last + 1, posted + 1))


# --------------------------------------------------------------------------- flags are reflected


def test_limits_follow_flags(start_server):
    """P: 'Validation defaults (each one is a server flag)'; welcome carries 'the limits in force'."""
    srv = start_server("--rate-per-sec", "0", "--max-text-chars", "10", "--max-name-chars", "5",
                       "--max-room-chars", "6", "--max-client-id-chars", "8")
    c = srv.client()
    lim = c.welcome["limits"]
    assert (lim["max_text_chars"], lim["max_name_chars"], lim["max_room_chars"], lim["max_client_id_chars"]) == (
        10, 5, 6, 8), lim
    c.send({"type": "join", "room": "lobby", "name": "sixsix"})
    check_error(c.error(), "invalid_name")
    c.send({"type": "join", "room": "sevenrm", "name": "ada"})
    check_error(c.error(), "invalid_room")
    c.join("lobby", "ada")
    c.send({"type": "send", "room": "lobby", "text": "x" * 11})
    check_error(c.error(), "too_large")
    c.send({"type": "send", "room": "lobby", "text": "x", "client_id": "c" * 9})
    check_error(c.error(), "bad_request")
    c.send({"type": "send", "room": "lobby", "text": "x" * 10, "client_id": "c" * 8})
    assert c.expect("ack")["seq"] == 1


def test_room_limit_is_invalid_room(start_server):
    """P: `invalid_room` | ... or the server's room limit is reached."""
    srv = start_server("--rate-per-sec", "0", "--max-rooms", "1")
    c = srv.client()
    c.join("lobby", "ada")
    c.send({"type": "join", "room": "second", "name": "ada"})
    check_error(c.error(), "invalid_room")
    assert_usable(c)


def test_dedupe_scoped_to_user_and_room(server):
    """G4: dedupe applies to a client_id 'that the same user already used in the same room'."""
    ada = server.client()
    ada.join("lobby", "ada")
    ada.join("ops", "ada")
    grace = server.client()
    grace.join("lobby", "grace")
    ada.send({"type": "send", "room": "lobby", "text": "a", "client_id": "same"})
    a1 = ada.expect("ack")
    grace.send({"type": "send", "room": "lobby", "text": "g", "client_id": "same"})
    g1 = grace.expect("ack")
    ada.send({"type": "send", "room": "ops", "text": "a-ops", "client_id": "same"})
    o1 = ada.expect(lambda f: f.get("type") == "ack" and f.get("room") == "ops")
    assert (a1["seq"], g1["seq"], o1["seq"]) == (1, 2, 1), (a1, g1, o1)
    assert [m["text"] for m in server.get_messages("lobby")["messages"]] == ["a", "g"]
    assert [m["text"] for m in server.get_messages("ops")["messages"]] == ["a-ops"]


def test_no_ack_without_client_id(server):
    """P ack: 'your `send` carrying `client_id` was stored' — a send without one gets only the message."""
    c = server.client()
    c.join("lobby", "ada")
    c.send({"type": "send", "room": "lobby", "text": "plain"})
    m = c.expect("message")
    check_message(m, user="ada", text="plain", seq=1)
    extra = c.collect(0.5)
    assert not [f for f in extra if f.get("type") == "ack"], extra


def test_direct_reaches_every_connection_of_both_names(server):
    """P direct: 'delivered to the recipient's and the sender's connections'; one connection per tab."""
    ada = server.client()
    ada.join("lobby", "ada")
    g1 = server.client()
    g1.join("lobby", "grace")
    g2 = server.client()
    g2.join("lobby", "grace")
    ada.send({"type": "direct", "to": "grace", "text": "both tabs?"})
    d1, d2, d0 = g1.expect("direct"), g2.expect("direct"), ada.expect("direct")
    assert d1["id"] == d2["id"] == d0["id"]
    assert d1["text"] == d2["text"] == "both tabs?"


def test_classic_bad_input_typed_errors(server):
    """P: classic clients — 'Bad input is answered with a typed `error` frame'; the same validation applies."""
    classic = server.client(url=server.classic_url, expect_welcome=False)
    cases = [
        ({"user": "", "message": "x"}, "invalid_name"),
        ({"user": "ada", "message": "   "}, "invalid_text"),
        ({"user": "ada", "message": "x" * 4001}, "too_large"),
        ({"user": "ada"}, "bad_request"),
    ]
    got = []
    for body, code in cases:
        classic.send(body)
        e = classic.expect(lambda f: f.get("type") == "error" or "message" in f, what="error")
        got.append((code, e.get("code") if e.get("type") == "error" else e))
    assert all(want == have for want, have in got), got
    assert server.get_messages("lobby")["messages"] == []


def test_replay_live_seam_under_load(server):
    """G2: 'nothing lost or doubled at the seam between replay and live'. A poster keeps posting
    while a client joins with `since` midway; it must see every seq once, in order."""
    import threading

    total = 300
    first = [server.post_ok("lobby", "bot", f"pre{i}") for i in range(20)]
    errors = []

    def poster():
        try:
            for i in range(total - len(first)):
                server.post_ok("lobby", "bot", f"live{i}")
        except Exception as e:  # surfaced below
            errors.append(e)

    t = threading.Thread(target=poster, daemon=True)
    t.start()
    c = server.client()
    c.send({"type": "join", "room": "lobby", "name": "ada", "since": 5})
    c.expect("joined")
    seqs = []
    replay = None
    deadline = time.monotonic() + 20
    while (not seqs or seqs[-1] < total) and time.monotonic() < deadline:
        f = c.recv(timeout=RECV_TIMEOUT)
        if f.get("type") == "replay":
            replay = f
        elif f.get("type") == "message":
            assert replay is not None, "message before replay"
            seqs.append(f["seq"])
    t.join(timeout=20)
    assert not errors, errors
    assert replay["from"] == 6 and replay["complete"] is True, replay
    assert seqs == list(range(6, total + 1)), f"gap/dup at seam: first={seqs[:5]} len={len(seqs)}"
    assert not [f for f in c.collect(0.3) if f.get("type") == "message"]
