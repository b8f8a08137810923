#!/usr/bin/env python3
"""valgrind_smoke.py — the real chalk-server under valgrind, one pass over its features.

`make valgrind` runs this after the unit tests (scripts/valgrind.sh). It
starts BIN_DIR/chalk-server under valgrind (memcheck; the options and the
suppressions file are passed in by valgrind.sh) on a free loopback port
with a fresh temp --dir, drives it with redis-py over several connections
— strings with expiry, every collection type, MULTI/EXEC with WATCH, a
blocking pop served by another client's push and one that times out,
pub/sub with a pattern, clients that disconnect while blocked, subscribed,
inside a MULTI or half-way through a request, writes under appendfsync
always, a compaction started by BGREWRITEAOF and waited for, a reopen
from the log — and stops it with SHUTDOWN. It fails when a
reply is wrong, when the server exits with valgrind's error exit code (any
invalid access, use of an uninitialised value, or a definitely/indirectly
lost block), or with any status but 0; the valgrind log is printed then.

The server runs with --io-backend epoll: valgrind does not model io_uring
(the kernel writes completions and received bytes into memory valgrind
never sees written, so every read of them is reported: tried, thousands of
"uninitialised value" reports from resp_parse on the io_uring loop). The engine's
log keeps its own choice (io_uring when the ring can be made): its writes
hand buffers to the kernel, which valgrind cannot check but also does not
misreport. What this leaves out: the io_uring event loop, replication,
chalk-cli and libchalk (the unit tests cover libchalk's parser and
connection code), and any path the unit tests do not reach either.

Usage: valgrind_smoke.py BIN_DIR -- VALGRIND_ARGV...
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

READY_TIMEOUT = 120.0       # valgrind's start-up of the server, on a busy machine
EXIT_TIMEOUT = 300.0        # SHUTDOWN: the final leak check walks the whole heap


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc, port, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


class Server:
    """chalk-server under valgrind; start() twice reopens the same --dir."""

    def __init__(self, bin_dir, valgrind_argv, tmp):
        self.bin = os.path.join(bin_dir, "chalk-server")
        self.valgrind_argv = valgrind_argv
        self.tmp = tmp
        self.runs = 0
        self.proc = None

    def start(self):
        self.runs += 1
        self.port = free_port()
        self.vg_log = os.path.join(self.tmp, f"valgrind.{self.runs}.log")
        self.srv_log = os.path.join(self.tmp, f"server.{self.runs}.log")
        argv = self.valgrind_argv + [f"--log-file={self.vg_log}", self.bin,
                                     "--port", str(self.port), "--bind", "127.0.0.1",
                                     "--dir", os.path.join(self.tmp, "data"),
                                     "--io-backend", "epoll", "--appendfsync", "everysec"]
        with open(self.srv_log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        if not wait_ready(self.proc, self.port, READY_TIMEOUT):
            self.fail("did not start")
        return self

    def client(self, **kw):
        return redis.Redis(port=self.port, socket_timeout=60, **kw)

    def shutdown(self):
        """SHUTDOWN, then the exit status valgrind leaves: 0 or fail."""
        try:
            self.client().shutdown()
        except redis.ConnectionError:
            pass                     # the reply never comes: the server exits
        try:
            rc = self.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("did not exit after SHUTDOWN")
        self.proc = None
        if rc != 0:
            self.fail(f"exited with status {rc} (99: valgrind found errors)")
        with open(self.vg_log, errors="replace") as f:      # the evidence it ran
            lines = [l.split("== ", 1)[-1].strip() for l in f
                     if "ERROR SUMMARY" in l or "in use at exit" in l]
        print(f"valgrind smoke, run {self.runs}: " + "; ".join(lines))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def fail(self, why):
        self.kill()
        for path in (self.srv_log, self.vg_log):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    sys.stderr.write(f"--- {path}\n{f.read()}")
        raise SystemExit(f"valgrind smoke: chalk-server {why}")


def strings(r):
    assert r.set("s", "hello") and r.get("s") == b"hello"
    assert r.append("s", ", log") == 10 and r.strlen("s") == 10
    assert r.incrby("n", 5) == 5 and r.incrbyfloat("n", 0.5) == 5.5
    assert r.mset({"a": "1", "b": "2"}) and r.mget("a", "b", "nope") == [b"1", b"2", None]
    assert r.set("t", "x", px=100) and r.pttl("t") > 0
    assert r.getrange("s", 0, 4) == b"hello" and r.setrange("s", 0, "J") == 10
    assert r.set("big", "v" * 100000) and len(r.get("big")) == 100000
    assert r.delete("a", "b") == 2 and r.exists("a") == 0
    time.sleep(0.3)
    assert r.get("t") is None                         # expired


def collections(r):
    assert r.hset("h", mapping={"f1": "v1", "f2": "v2", "f3": "3"}) == 3
    assert r.hgetall("h") == {b"f1": b"v1", b"f2": b"v2", b"f3": b"3"}
    assert r.hincrby("h", "f3", 4) == 7 and r.hdel("h", "f1") == 1 and r.hlen("h") == 2
    assert r.rpush("l", *[str(i) for i in range(50)]) == 50
    assert r.lpop("l") == b"0" and r.rpop("l", 2) == [b"49", b"48"]
    assert r.lrange("l", 0, 2) == [b"1", b"2", b"3"] and r.ltrim("l", 0, 9)
    assert r.llen("l") == 10 and r.lindex("l", -1) == b"10"
    assert r.sadd("s1", "a", "b", "c") == 3 and r.sadd("s2", "b", "c", "d") == 3
    assert r.sinter("s1", "s2") == {b"b", b"c"} and r.sunionstore("s3", "s1", "s2") == 4
    assert r.srem("s1", "a") == 1 and r.smembers("s1") == {b"b", b"c"}
    assert r.zadd("z", {"m%d" % i: i for i in range(100)}) == 100
    assert r.zrange("z", 0, 2) == [b"m0", b"m1", b"m2"]
    assert r.zrangebyscore("z", 10, 12, withscores=True) == [(b"m10", 10.0), (b"m11", 11.0),
                                                              (b"m12", 12.0)]
    assert r.zincrby("z", 1000, "m5") == 1005.0 and r.zrank("z", "m5") == 99
    assert r.zrem("z", "m0") == 1 and r.zcard("z") == 99
    cursor, seen = 0, set()
    while True:
        cursor, keys = r.scan(cursor, count=3)
        seen.update(keys)
        if cursor == 0:
            break
    assert {b"h", b"l", b"s1", b"z"} <= seen
    assert r.type("h") == b"hash" and r.type("z") == b"zset"


def transactions(srv, r):
    with r.pipeline() as p:                           # WATCH, MULTI ... EXEC
        p.watch("w")
        p.multi()
        p.set("w", "1").incr("w").lpush("wl", "x")
        assert p.execute() == [True, 2, 1]
    other = srv.client()
    with r.pipeline() as p:                           # aborted by another write
        p.watch("w")
        other.set("w", "changed")
        p.multi()
        p.set("w", "mine")
        try:
            p.execute()
            raise AssertionError("EXEC ran after a watched key changed")
        except redis.WatchError:
            pass
    assert r.get("w") == b"changed"
    with r.pipeline() as p:                           # an error inside EXEC
        p.set("e", "x").lpush("e", "y")
        res = p.execute(raise_on_error=False)
        assert res[0] is True and isinstance(res[1], redis.ResponseError)
    other.close()


def blocking(srv, r):
    got = {}
    waiter = srv.client()

    def wait():
        got["v"] = waiter.blpop(["q1", "q2"], timeout=30)
    t = threading.Thread(target=wait)
    t.start()
    deadline = time.time() + 30
    while r.info("clients")["blocked_clients"] < 1 and time.time() < deadline:
        time.sleep(0.05)
    assert r.rpush("q2", "job") == 1
    t.join(60)
    assert got.get("v") == (b"q2", b"job")
    assert waiter.bzpopmin("zq", timeout=0.2) is None      # times out
    waiter.close()


def pubsub(srv, r):
    ps = srv.client().pubsub()
    ps.subscribe("news")
    ps.psubscribe("ev.*")
    for _ in range(2):
        assert ps.get_message(timeout=30)["type"] in ("subscribe", "psubscribe")
    assert r.publish("news", "hi") == 1 and r.publish("ev.x", "yo") == 1
    msgs = [ps.get_message(timeout=30) for _ in range(2)]
    assert [m["data"] for m in msgs] == [b"hi", b"yo"]
    ps.unsubscribe("news")
    ps.punsubscribe()
    ps.close()


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def disconnects(srv, r):
    """Clients that go away in the middle of something: each must be freed
    whole (the leak check at exit sees what was not)."""
    socks = []
    for cmd in (resp("BLPOP", "never", "0"), resp("SUBSCRIBE", "c1", "c2"),
                resp("PSUBSCRIBE", "p.*"), resp("WATCH", "w") + resp("MULTI") + resp("SET", "w", "1"),
                b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\npartial"):   # half a request
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        s.sendall(cmd)
        socks.append(s)
    deadline = time.time() + 30
    while r.info("clients")["blocked_clients"] < 1 and time.time() < deadline:
        time.sleep(0.05)
    for s in socks:
        s.close()
    deadline = time.time() + 60
    while r.info("clients")["connected_clients"] > 1 and time.time() < deadline:
        time.sleep(0.1)
    assert r.info("clients")["connected_clients"] == 1


def durable(r):
    """appendfsync always: replies held until their group commit."""
    r.config_set("appendfsync", "always")
    with r.pipeline(transaction=False) as p:
        for i in range(20):
            p.set("d%d" % i, "v")
        assert p.execute() == [True] * 20
    r.config_set("appendfsync", "everysec")


def compaction(r):
    for i in range(2000):                             # dead records to reclaim
        r.set("churn", "v%d" % i)
    before = r.info("persistence")["chalk_compactions"]
    r.bgrewriteaof()
    deadline = time.time() + 120
    while time.time() < deadline:
        p = r.info("persistence")
        if p["chalk_compactions"] > before and not p["aof_rewrite_in_progress"]:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the compaction BGREWRITEAOF started did not finish")
    assert r.info("persistence")["aof_last_bgrewrite_status"] == "ok"
    assert r.get("churn") == b"v1999"


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        raise SystemExit(__doc__.split("\n\n")[-1])
    tmp = tempfile.mkdtemp(prefix="chalk-valgrind-")
    srv = Server(sys.argv[1], sys.argv[3:], tmp)
    try:
        srv.start()
        r = srv.client()
        strings(r)
        collections(r)
        transactions(srv, r)
        blocking(srv, r)
        pubsub(srv, r)
        disconnects(srv, r)
        durable(r)
        compaction(r)
        r.close()
        srv.shutdown()
        srv.start()                                   # recovery from the log and hints
        r = srv.client()
        assert r.get("s") == b"Jello, log" and r.zcard("z") == 99 and r.llen("l") == 10
        r.close()
        srv.shutdown()
    except AssertionError:
        import traceback
        traceback.print_exc()
        srv.fail("gave a wrong reply")
    finally:
        srv.kill()
    shutil.rmtree(tmp, ignore_errors=True)
    print("valgrind smoke: chalk-server clean (2 runs)")


if __name__ == "__main__":
    main()
