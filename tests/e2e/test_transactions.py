"""MULTI / EXEC / DISCARD / WATCH / UNWATCH against the real chalk-server.

Replies are checked byte for byte against Debian's redis-server (the same
script of raw commands on both), then one behaviour per test: queue-time
errors abort (EXECABORT), run-time errors do not (per-command error in the
array), later commands see earlier ones, WATCH fails EXEC after a write by
another client to a key of any type, an expiry, a delete, a rename, a flush,
across SELECTed databases; RESP2 *-1 / RESP3 _ for the failed EXEC; redis-py's
pipeline(transaction=True) and transaction() helper; EXEC durable under
appendfsync always (SIGKILL right after the reply, restart, values there).
"""
import os
import signal
import time

import pytest
import redis

from chalk_harness import RespError, start_server
from redis_peer import RedisPeer

ABORT = "EXECABORT Transaction discarded because of previous errors."


def raw_script(port, script):
    """Send each command of script on one raw connection; the raw replies."""
    import socket
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rb")
        for args in script:
            enc = [a.encode() for a in args]
            s.sendall(b"*%d\r\n" % len(enc) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in enc))
            out.append(read_raw(f))
    return out


def read_raw(f):
    line = f.readline()
    if line[:1] in (b"*", b"%", b"~") and line[1:3] != b"-1":
        n = int(line[1:-2]) * (2 if line[:1] == b"%" else 1)
        return line + b"".join(read_raw(f) for _ in range(n))
    if line[:1] == b"$" and line[1:3] != b"-1":
        return line + f.read(int(line[1:-2]) + 2)
    return line


SCRIPT = [
    ["EXEC"], ["DISCARD"],
    ["MULTI"], ["MULTI"], ["SET", "a", "1"], ["INCR", "a"], ["INCR", "a"], ["GET", "a"], ["EXEC"],
    ["MULTI"], ["SET", "b", "1"], ["NOSUCHCMD", "x"], ["GET"], ["EXEC"], ["EXISTS", "b"],
    ["SET", "s", "text"],
    ["MULTI"], ["INCR", "s"], ["SET", "t", "1"], ["LPUSH", "s", "x"], ["EXEC"], ["GET", "t"],
    ["MULTI"], ["WATCH", "a"], ["DISCARD"], ["DISCARD"],
    ["WATCH", "a"], ["SET", "a", "9"], ["MULTI"], ["INCR", "a"], ["EXEC"], ["GET", "a"],
    ["WATCH", "a"], ["UNWATCH"], ["SET", "a", "5"], ["MULTI"], ["INCR", "a"], ["EXEC"],
    ["MULTI"], ["EXEC"],
    ["MULTI"], ["SELECT", "1"], ["SET", "a", "db1"], ["SELECT", "0"], ["GET", "a"], ["EXEC"],
    ["SELECT", "1"], ["GET", "a"], ["SELECT", "0"],
    ["HELLO", "3"], ["WATCH", "a"], ["SET", "a", "1"], ["MULTI"], ["PING"], ["EXEC"],
]


def test_replies_match_redis_byte_for_byte():
    with RedisPeer() as peer:
        want = raw_script(peer.port, SCRIPT)
    with start_server() as srv:
        got = raw_script(srv.port, SCRIPT)
    for i, (cmd, w, g) in enumerate(zip(SCRIPT, want, got)):
        if cmd[0] == "HELLO":
            continue                      # server identity differs
        assert g == w, f"command {i} {cmd}: chalk {g!r}, redis {w!r}"


def test_queued_and_later_commands_see_earlier(server):
    r = server.raw()
    assert r.cmd("MULTI") == "OK"
    assert r.cmd("INCR", "x") == "QUEUED"
    assert r.cmd("INCR", "x") == "QUEUED"
    assert r.cmd("INCRBY", "x", "10") == "QUEUED"
    assert r.cmd("GET", "x") == "QUEUED"
    assert r.cmd("EXEC") == [1, 2, 12, b"12"]


def test_execabort_applies_nothing(server):
    r = server.raw()
    c = server.client()
    for bad in (["NOSUCHCMD"], ["SET", "k"], ["GET", "a", "b"]):
        assert r.cmd("MULTI") == "OK"
        assert r.cmd("SET", "k", "v") == "QUEUED"
        assert isinstance(r.cmd(*bad), RespError)
        assert r.cmd("SET", "k2", "v") == "QUEUED"
        reply = r.cmd("EXEC")
        assert isinstance(reply, RespError) and str(reply) == ABORT
        assert c.exists("k", "k2") == 0
        assert isinstance(r.cmd("EXEC"), RespError)     # the MULTI is over


def test_runtime_error_does_not_roll_back(server):
    c = server.client()
    c.set("s", "not a number")
    r = server.raw()
    r.cmd("MULTI")
    r.cmd("SET", "before", "1")
    r.cmd("INCR", "s")
    r.cmd("HSET", "s", "f", "v")
    r.cmd("SET", "after", "1")
    out = r.cmd("EXEC")
    assert out[0] == "OK" and out[3] == "OK"
    assert str(out[1]) == "ERR value is not an integer or out of range"
    assert str(out[2]).startswith("WRONGTYPE")
    assert c.get("before") == "1" and c.get("after") == "1"


def test_discard_and_errors(server):
    r = server.raw()
    assert str(r.cmd("EXEC")) == "ERR EXEC without MULTI"
    assert str(r.cmd("DISCARD")) == "ERR DISCARD without MULTI"
    r.cmd("MULTI")
    assert str(r.cmd("MULTI")) == "ERR MULTI calls can not be nested"
    assert str(r.cmd("WATCH", "x")) == "ERR WATCH inside MULTI is not allowed"
    r.cmd("SET", "d", "1")
    assert r.cmd("DISCARD") == "OK"
    assert server.client().exists("d") == 0
    r.cmd("MULTI")                                      # nesting error did not abort
    r.cmd("MULTI")
    r.cmd("SET", "n", "1")
    assert r.cmd("EXEC") == ["OK"]


def watch_then(server, prepare, touch, watch_db=0, touch_db=0):
    """WATCH k in watch_db (after prepare), let another client run touch in
    touch_db, then MULTI/SET/EXEC: returns EXEC's reply."""
    c = server.client(db=touch_db)
    prepare(server.client(db=watch_db))
    r = server.raw()
    r.cmd("SELECT", watch_db)
    assert r.cmd("WATCH", "k") == "OK"
    touch(c)
    r.cmd("MULTI")
    r.cmd("SET", "out", "1")
    reply = r.cmd("EXEC")
    server.client().flushall()
    return reply


TOUCHES = {
    "set": (lambda c: c.set("k", "v"), lambda c: c.set("k", "v")),            # same value
    "del": (lambda c: c.set("k", "v"), lambda c: c.delete("k")),
    "create": (lambda c: None, lambda c: c.set("k", "v")),
    "create-then-delete": (lambda c: None, lambda c: (c.set("k", "v"), c.delete("k"))),
    "rename-away": (lambda c: c.set("k", "v"), lambda c: c.rename("k", "k2")),
    "rename-onto": (lambda c: c.set("k2", "v"), lambda c: c.rename("k2", "k")),
    "expire-cmd": (lambda c: c.set("k", "v"), lambda c: c.expire("k", 100)),
    "hset": (lambda c: c.hset("k", "f", "1"), lambda c: c.hset("k", "f", "2")),
    "hset-new": (lambda c: None, lambda c: c.hset("k", "f", "2")),
    "hdel": (lambda c: c.hset("k", mapping={"f": 1, "g": 2}), lambda c: c.hdel("k", "f")),
    "lpush": (lambda c: c.rpush("k", "a"), lambda c: c.lpush("k", "b")),
    "lset": (lambda c: c.rpush("k", "a", "b"), lambda c: c.lset("k", 0, "z")),
    "sadd": (lambda c: c.sadd("k", "a"), lambda c: c.sadd("k", "b")),
    "srem": (lambda c: c.sadd("k", "a", "b"), lambda c: c.srem("k", "a")),
    "zadd": (lambda c: c.zadd("k", {"a": 1}), lambda c: c.zadd("k", {"a": 2})),
    "flushall": (lambda c: c.set("k", "v"), lambda c: c.flushall()),
    "flushdb": (lambda c: c.set("k", "v"), lambda c: c.flushdb()),
}


@pytest.mark.parametrize("name", sorted(TOUCHES))
def test_watch_fails_after_a_write_of_any_kind(server, name):
    prepare, touch = TOUCHES[name]
    assert watch_then(server, prepare, touch) is None
    # the same, untouched: EXEC runs
    assert watch_then(server, prepare, lambda c: c.set("other", "x")) == ["OK"]


def test_watch_is_per_database(server):
    setk = lambda c: c.set("k", "v")
    assert watch_then(server, setk, setk, watch_db=1, touch_db=0) == ["OK"]
    assert watch_then(server, setk, setk, watch_db=1, touch_db=1) is None
    assert watch_then(server, setk, lambda c: c.flushdb(), watch_db=1, touch_db=0) == ["OK"]
    assert watch_then(server, setk, lambda c: c.flushall(), watch_db=1, touch_db=0) is None


def test_watch_nonexistent_key_flush_does_not_abort(server):
    # Redis touches only the keys a flush really deletes.
    assert watch_then(server, lambda c: None, lambda c: c.flushall()) == ["OK"]


def test_watch_key_that_expires(server):
    c = server.client()
    c.set("k", "v", px=100)
    r = server.raw()
    r.cmd("WATCH", "k")
    time.sleep(0.3)                       # expires; nobody touches it
    r.cmd("MULTI")
    r.cmd("SET", "out", "1")
    assert r.cmd("EXEC") is None
    assert c.exists("out") == 0


def test_own_writes_before_multi_abort_and_exec_clears_watch(server):
    r = server.raw()
    r.cmd("WATCH", "k")
    r.cmd("SET", "k", "mine")             # Redis: the watcher's own write counts too
    r.cmd("MULTI")
    r.cmd("SET", "out", "1")
    assert r.cmd("EXEC") is None
    r.cmd("MULTI")                        # the failed EXEC unwatched everything
    r.cmd("SET", "out", "1")
    assert r.cmd("EXEC") == ["OK"]


def test_exec_touches_other_watchers(server):
    a, b = server.raw(), server.raw()
    b.cmd("WATCH", "k")
    a.cmd("MULTI")
    a.cmd("SET", "k", "by a")
    assert a.cmd("EXEC") == ["OK"]
    b.cmd("MULTI")
    b.cmd("SET", "k", "by b")
    assert b.cmd("EXEC") is None


def test_resp3_and_resp2_null_for_a_failed_exec(server):
    for proto, want in ((b"2", b"*-1\r\n"), (b"3", b"_\r\n")):
        r = server.raw()
        r.cmd("HELLO", proto)
        r.cmd("WATCH", "k")
        server.client().set("k", proto)
        r.cmd("MULTI")
        r.cmd("PING")
        r.send(b"*1\r\n$4\r\nEXEC\r\n")
        assert r.read_line() + b"\r\n" == want


def test_disconnect_and_reset_forget_state(server):
    r = server.raw()
    r.cmd("WATCH", "k")
    r.cmd("MULTI")
    r.cmd("SET", "q", "1")
    r.close()
    c = server.client()
    c.set("k", "v")                       # touching a key of a gone watcher is safe
    r = server.raw()
    r.cmd("WATCH", "k")
    r.cmd("MULTI")
    assert r.cmd("RESET") == "RESET"
    assert str(r.cmd("EXEC")) == "ERR EXEC without MULTI"
    c.set("k", "again")
    r.cmd("MULTI")
    r.cmd("SET", "q", "2")
    assert r.cmd("EXEC") == ["OK"]        # RESET unwatched k
    assert c.get("q") == "2"


def test_redis_py_pipeline_and_transaction_helper(server):
    c = server.client()
    with c.pipeline(transaction=True) as p:
        p.set("a", 1).incr("a").incrby("a", 5).get("a").lpush("l", "x", "y").lrange("l", 0, -1)
        assert p.execute() == [True, 2, 7, "7", 2, ["y", "x"]]
    other = server.client()
    calls = []

    def move(pipe):
        calls.append(1)
        v = int(pipe.get("a"))
        if len(calls) == 1:
            other.set("a", 100)           # a concurrent writer: first try fails
        pipe.multi()
        pipe.set("a", v + 1)

    c.transaction(move, "a")
    assert len(calls) == 2 and c.get("a") == "101"
    with c.pipeline(transaction=True) as p:
        p.set("z", 1)
        p.execute_command("NOSUCHCMD")
        with pytest.raises(redis.exceptions.ResponseError):
            p.execute()
    assert c.exists("z") == 0


def test_exec_is_durable_before_its_reply_under_always():
    with start_server(appendfsync="always") as srv:
        r = srv.raw()
        r.cmd("MULTI")
        for i in range(300):              # more writes than one client's hold ring
            r.cmd("SET", f"k{i}", i)
        r.cmd("HSET", "h", "f", "v")
        r.cmd("GET", "k0")
        out = r.cmd("EXEC")
        assert len(out) == 302 and out[-1] == b"0"
        srv.kill(signal.SIGKILL)          # right after the reply: it must be on disk
        srv.start()
        c = srv.client()
        assert c.get("k299") == "299" and c.hget("h", "f") == "v"
        assert c.dbsize() == 301


def test_read_only_exec_under_always_is_answered(server_factory):
    srv = server_factory(appendfsync="always")
    r = srv.raw()
    r.cmd("MULTI")
    r.cmd("GET", "nothing")
    r.cmd("PING")
    assert r.cmd("EXEC") == [None, "PONG"]
    r.cmd("MULTI")
    r.cmd("DEL", "nothing")               # a write command that writes nothing
    assert r.cmd("EXEC") == [0]


def test_debug_reload_inside_exec_keeps_the_exec(server_factory):
    srv = server_factory(appendfsync="always", enable_debug_command="yes")
    r = srv.raw()
    r.cmd("MULTI")
    r.cmd("SET", "a", "1")
    r.cmd("DEBUG", "RELOAD")          # closes the engine in the middle of EXEC
    r.cmd("SET", "b", "2")
    r.cmd("GET", "a")
    assert r.cmd("EXEC") == ["OK", "OK", "OK", b"1"]
    srv.restart()
    c = srv.client()
    assert c.get("a") == "1" and c.get("b") == "2"


def test_push_inside_exec_wakes_a_blocked_client_under_always(server_factory):
    srv = server_factory(appendfsync="always")
    waiter, pusher = srv.raw(), srv.raw()
    waiter.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
    time.sleep(0.2)                        # let BLPOP block
    pusher.cmd("MULTI")
    pusher.cmd("LPUSH", "q", "job")
    pusher.cmd("SET", "pushed", "1")
    assert pusher.cmd("EXEC") == [1, "OK"]
    assert waiter.read_reply() == [b"q", b"job"]
    srv.kill(signal.SIGKILL)
    srv.start()
    c = srv.client()
    assert c.get("pushed") == "1" and c.llen("q") == 0   # the pop is durable too


def test_blocking_command_inside_exec_does_not_block(server):
    r = server.raw()
    r.cmd("MULTI")
    r.cmd("BLPOP", "empty", "0")
    r.cmd("RPUSH", "l", "a")
    r.cmd("BLPOP", "l", "0")
    assert r.cmd("EXEC") == [None, 1, [b"l", b"a"]]


def test_client_list_shows_multi_state(server):
    r, other = server.raw(), server.client()
    r.cmd("CLIENT", "SETNAME", "txer")
    r.cmd("WATCH", "k")
    r.cmd("MULTI")
    r.cmd("SET", "a", "1")
    r.cmd("SET", "b", "2")
    other.set("k", "touched")
    line = [l for l in other.execute_command("CLIENT", "LIST").splitlines() if "name=txer" in l][0]
    fields = dict(f.split("=", 1) for f in line.split())
    assert fields["multi"] == "2" and "x" in fields["flags"] and "d" in fields["flags"]
    assert r.cmd("EXEC") is None
    line = [l for l in other.execute_command("CLIENT", "LIST").splitlines() if "name=txer" in l][0]
    fields = dict(f.split("=", 1) for f in line.split())
    assert fields["multi"] == "-1" and fields["flags"] == "N"
