"""test_client_examples.py — every client/examples program, run for real.

Each example checks what it demonstrates and exits 0 only if it held
(see client/examples/example.h); here each runs against redis-server
(three of them for Redlock and sharding, two "services" for the saga), and
against chalk-server too when chalk-server has every command the example
needs (probed with COMMAND INFO, so the run switches on by itself as the
server grows; until then it is reported as skipped, with the reason).

Also: the ketama ring (--map) against an independent Python
reimplementation of twemproxy's layout (MD5, 160 points per server
weighted, 4 points per digest, float32 point counts).
"""
import bisect
import hashlib
import math
import os
import struct
import subprocess
from contextlib import ExitStack

import pytest

from redis_peer import RedisPeer, chalk_available

BIN = os.environ.get("CHALK_BIN_DIR", "")


def example(name):
    return os.path.join(BIN, "chalk-example-" + name)


# name → (extra servers needed, commands needed, lines the output must have)
EXAMPLES = {
    "n-plus-one": (0, ["SET", "RPUSH", "LRANGE", "GET", "MGET", "DEL"],
                   ["N+1 separate GETs:", "one MGET:", "pipelined GETs:"]),
    "cache-aside": (0, ["GET", "SET", "DEL", "TTL", "WATCH", "MULTI", "EXEC", "UNWATCH"],
                    ["database loads: 1"]),
    "rate-limit": (0, ["INCR", "PEXPIRE", "ZADD", "ZREMRANGEBYSCORE", "ZCARD", "MULTI",
                       "EXEC", "WATCH", "HMGET", "HSET", "DEL"],
                   ["fixed    allowed 10 of 10", "sliding  allowed 5 of 10"]),
    "job-queue": (0, ["HSET", "HGET", "HINCRBY", "ZADD", "ZREM", "ZPOPMIN", "ZRANGEBYSCORE",
                      "ZCARD", "RPUSH", "LRANGE", "MULTI", "EXEC", "DEL"],
                  ["completed in order: payment email report later"]),
    "pubsub-fanout": (0, ["SUBSCRIBE", "PSUBSCRIBE", "PUBLISH", "HELLO"],
                      ["published 5 messages, 15 deliveries"]),
    "saga": (1, ["WATCH", "MGET", "MULTI", "DECRBY", "SET", "EXEC", "DEL", "INCRBY",
                 "RPUSH", "GET", "UNWATCH"],
             ["after: stock 7, wallet 40"]),
    "lock": (2, ["SET", "GET", "DEL", "INCR", "WATCH", "MULTI", "EXEC", "UNWATCH"],
             ["Redlock over 3 servers", "A: locked on 3/3"]),
    "sharding": (2, ["DEL", "INCR", "INCRBY"],
                 ["ring: 3 servers, 480 points"]),
    "resilience": (0, ["GET", "INCR"],
                   ["0 connection attempt(s)", "breaker open", "breaker closed"]),
}


def run_example(name, ports, timeout=60):
    args = [example(name)]
    for p in ports:
        args += ["-p", str(p)]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def check(name, ports):
    p = run_example(name, ports)
    assert p.returncode == 0, "%s failed:\n%s\n%s" % (name, p.stdout, p.stderr)
    assert "[FAILED]" not in p.stdout
    for line in EXAMPLES[name][2]:
        assert line in p.stdout, (line, p.stdout)
    return p.stdout


@pytest.fixture(scope="module")
def redis_peers():
    with ExitStack() as stack:
        yield [stack.enter_context(RedisPeer()) for _ in range(3)]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_against_redis(redis_peers, name):
    extra = EXAMPLES[name][0]
    out = check(name, [p.port for p in redis_peers[: 1 + extra]])
    print(out)


def chalk_missing(srv, commands):
    """The commands chalk-server does not know (COMMAND INFO answers nil)."""
    info = srv.raw().cmd("COMMAND", "INFO", *commands)
    if not isinstance(info, list):
        return ["COMMAND INFO (%s)" % info]
    return [cmd for cmd, i in zip(commands, info) if not i]


@pytest.mark.skipif(not chalk_available(), reason="chalk-server not built")
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_against_chalk(name):
    from chalk_harness import start_server
    extra, commands, _ = EXAMPLES[name]
    with ExitStack() as stack:
        servers = [stack.enter_context(start_server()) for _ in range(1 + extra)]
        missing = chalk_missing(servers[0], commands)
        if missing:
            pytest.skip("chalk-server lacks " + " ".join(missing))
        check(name, [s.port for s in servers])


# ---- ketama, reimplemented independently -----------------------------------

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def ketama_points(weight, total, n):
    """twemproxy: floorf(pct * 160 / 4 * n + 1e-10) * 4, in float32."""
    pct = f32(f32(weight) / f32(total))
    x = f32(f32(f32(pct * 160) / 4) * f32(n))
    return int(math.floor(f32(x + 0.0000000001))) * 4


def ketama_ring(names, weights=None):
    weights = weights or [1] * len(names)
    total = sum(weights)
    points = []
    for idx, (name, w) in enumerate(zip(names, weights)):
        for j in range(ketama_points(w, total, len(names)) // 4):
            d = hashlib.md5(("%s-%d" % (name, j)).encode()).digest()
            for k in range(4):
                points.append((struct.unpack("<I", d[4 * k: 4 * k + 4])[0], idx))
    points.sort()
    return points


def ketama_lookup(points, key):
    h = struct.unpack("<I", hashlib.md5(key.encode()).digest()[:4])[0]
    i = bisect.bisect_left([p[0] for p in points], h)
    return points[i % len(points)][1]


@pytest.mark.parametrize("names,weights", [
    (["127.0.0.1:6379", "127.0.0.1:6380", "127.0.0.1:6381"], None),
    (["10.0.0.1:11211", "10.0.0.2", "cache-c"], [1, 2, 3]),
    (["a:1", "b:2", "c:3", "d:4", "e:5", "f:6", "g:7"], [3, 1, 1, 2, 5, 1, 1]),
])
def test_ketama_matches_independent_implementation(names, weights):
    keys = ["user:%d" % i for i in range(3000)] + ["", "foo", "bar", "é-ü", "x" * 300]
    args = [example("sharding"), "--map"]
    if weights:
        args += ["--weights", ",".join(map(str, weights))]
    p = subprocess.run(args + names, input="\n".join(keys) + "\n", capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0
    got = [line.rsplit(" ", 1)[1] for line in p.stdout.splitlines()]
    ring = ketama_ring(names, weights)
    want = [names[ketama_lookup(ring, k)] for k in keys]
    assert got == want


def test_ketama_layout_facts():
    # 160 points per server when weights are equal; weights 1:2:3 of 3
    # servers give 80:160:240 (float32 arithmetic included).
    assert [ketama_points(1, 3, 3)] * 3 == [160] * 3
    assert [ketama_points(w, 6, 3) for w in (1, 2, 3)] == [80, 160, 240]
    # Frozen assignments (computed once from the layout above), so a change
    # in either implementation shows up here.
    names = ["127.0.0.1:6379", "127.0.0.1:6380", "127.0.0.1:6381"]
    ring = ketama_ring(names)
    assert len(ring) == 480 and ring[0] == (20075150, 0)
    fixed = {"foo": 0, "bar": 2, "user:1": 0, "user:2": 2, "session:abc": 0,
             "a": 2, "b": 2, "c": 0}
    assert {k: ketama_lookup(ring, k) for k in fixed} == fixed
    p = subprocess.run([example("sharding"), "--map"] + names,
                       input="".join(k + "\n" for k in fixed),
                       capture_output=True, text=True, timeout=30)
    assert [l.split()[1] for l in p.stdout.splitlines()] == [names[i] for i in fixed.values()]
