"""The request path's cost rules that a benchmark would only show as a
ratio: checked here as behaviour, on both io-backends.

- A client whose reads fill its query buffer (a pipeline of many small
  requests, e.g. redis-benchmark's MSET at -P 16: 16 x ~300 bytes) gets a
  bigger buffer (networking.c, client_read_space), instead of being read
  1 KB per loop turn forever (one read, one parse and one reply write per
  KB). Seen through CLIENT INFO's qbuf-free, which is the buffer's free
  room.
"""
import re

import pytest

from chalk_harness import start_server


@pytest.fixture(params=["epoll", "uring"])
def server(request):
    with start_server(io_backend=request.param) as s:
        yield s


def test_query_buffer_grows_for_a_pipeline_of_small_requests(server):
    c = server.raw()
    n = 64
    mset = []
    for i in range(10):
        mset += [f"key:{i:012d}", "xxx"]
    one = f"*{len(mset) + 1}\r\n$4\r\nMSET\r\n".encode()
    for a in mset:
        one += f"${len(a)}\r\n{a}\r\n".encode()
    assert len(one) < 1024            # no single request fills a 1 KB buffer
    c.send(one * n)                   # ~17 KB in one burst
    for _ in range(n):
        assert c.read_line() == b"+OK"
    info = c.cmd("CLIENT", "INFO").decode()
    free = int(re.search(r"qbuf-free=(\d+)", info).group(1))
    assert free >= 4096, info         # stayed at 1 KB: the buffer never grew


def _req(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def test_pipelined_key_prefetch_is_only_a_hint(server):
    """networking.c's prefetch_keys looks ahead at the next requests of a
    read: a pipeline whose requests change the database, use keys too long
    for its buffer, mix keyed and unkeyed commands, an unknown command, an
    inline request, MULTI and a request split across sends gets exactly the
    replies it gets one request at a time."""
    c = server.raw()
    long_key = "k" * 300
    batch = [("SET", "a", "0"), ("SELECT", "1"), ("SET", "a", "1"), ("INCR", "a"),
             ("SET", long_key, "L"), ("GET", long_key), ("PING",), ("NOSUCH", "a"),
             ("MULTI",), ("INCR", "a"), ("GET", "a"), ("EXEC",), ("SELECT", "0"),
             ("GET", "a"), ("CONFIG", "GET", "maxclients"), ("GET", "a"), ("INCR", "a")]
    want = ["OK", "OK", "OK", 2, "OK", b"L", "PONG", "ERR", "OK", "QUEUED", "QUEUED",
            [3, b"3"], "OK", b"0", [b"maxclients", None], b"0", 1]
    data = b"".join(_req(*r) for r in batch) + b"GET a\r\n" + _req("GET", "a")
    want += [b"1", b"1"]
    cut = len(data) - 7                       # the last request arrives in two sends
    c.send(data[:cut])
    got = [c.read_reply() for _ in range(len(want) - 1)]
    c.send(data[cut:])
    got.append(c.read_reply())
    for g, w in zip(got, want):
        if w == "ERR":
            assert str(g).startswith("ERR unknown command"), got
        elif isinstance(w, list) and w[1] is None:
            assert g[0] == w[0], got
        else:
            assert g == w, got


def _pipeline_twice(c, batch, want, keys):
    """Send batch as one pipeline, then split in two sends; each time the
    replies must be want (a str other than "OK": the error's start), and
    the keys are deleted (all must exist) before the next time."""
    data = b"".join(_req(*r) for r in batch)
    for cut in (len(data), len(data) // 2):   # one send, then split in two
        c.send(data[:cut])
        if cut < len(data):
            c.send(data[cut:])
        got = [c.read_reply() for _ in range(len(want))]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            if isinstance(w, str) and w != "OK":
                assert str(g).startswith(w), got
            else:
                assert g == w, got
        c.send(_req("DEL", *keys))
        assert c.read_reply() == len(keys)


def test_pipelined_field_prefetch_is_only_a_hint(server):
    """prefetch_keys also calls the command's prefetch hint (cmd_hash.c's
    for HGET, HEXISTS, HSET, HINCRBY: the field's record) with the first
    three arguments it peeked: a pipeline where that guess meets a missing
    field argument, a field too long for a key buffer on the stack, a key
    of another type, another database, fields the same pipeline creates
    and deletes, gets exactly the replies it gets one request at a time."""
    c = server.raw()
    long_field = "f" * 3000
    batch = [("HSET", "h", "f1", "v1"), ("HGET", "h", "f1"), ("HGET", "h"),
             ("HGET", "h", "nofield"), ("HEXISTS", "h", "f1"), ("HINCRBY", "h", "n", "5"),
             ("HGET", "h", "n"), ("HSET", "h", long_field, "L"), ("HGET", "h", long_field),
             ("SET", "s", "x"), ("HGET", "s", "f1"), ("HEXISTS",), ("SELECT", "1"),
             ("HGET", "h", "f1"), ("SELECT", "0"), ("HGET", "h", "f1"), ("DEL", "h"),
             ("HGET", "h", "f1"), ("HEXISTS", "h", "f1"), ("HINCRBY", "h", "n", "2"),
             ("HGET", "h", "n")]
    want = [1, b"v1", "ERR wrong number", None, 1, 5, b"5", 1, b"L", "OK",
            "WRONGTYPE", "ERR wrong number", "OK", None, "OK", b"v1", 1, None, 0, 2, b"2"]
    _pipeline_twice(c, batch, want, ("h", "s"))   # HINCRBY made h again


def test_pipelined_zadd_prefetch_is_only_a_hint(server):
    """cmd_zset.c's prefetch hint (ZADD and ZINCRBY in the plain "key score
    member" shape, ZSCORE: the member's record; four peeked arguments): a
    pipeline where that guess meets flags before the score, a missing
    member, a member too long for a key buffer on the stack, a key of
    another type, members the same pipeline adds and removes, gets the
    replies Redis gives (checked against redis-server 7)."""
    c = server.raw()
    huge = "m" * 5000
    batch = [("ZADD", "z", "1", "a"), ("ZADD", "z", "NX", "5", "a"), ("ZADD", "z", "XX", "CH", "7", "a"),
             ("ZSCORE", "z", "a"), ("ZADD", "z", "GT", "3", "a"), ("ZADD", "z", "2"),
             ("ZADD", "z", "x", "b"), ("ZADD", "z", "inf", "b"), ("ZSCORE", "z", "nomember"),
             ("ZSCORE", "z"), ("ZADD", "z", "4", huge), ("ZSCORE", "z", huge),
             ("ZINCRBY", "z", "2", "a"), ("ZINCRBY", "z", "NX", "1", "a"), ("SET", "s", "x"),
             ("ZADD", "s", "1", "a"), ("ZSCORE", "s", "a"), ("ZINCRBY", "s", "1", "a"),
             ("ZREM", "z", "a"), ("ZSCORE", "z", "a"), ("ZADD", "z", "INCR", "1", "a"),
             ("ZADD", "z", "-1.5", "a", "2", "c"), ("ZSCORE", "z", "a"), ("ZCARD", "z")]
    want = [1, 0, 1, b"7", 0, "ERR wrong number", "ERR value is not a valid float", 1, None,
            "ERR wrong number", 1, b"4", b"9", "ERR wrong number", "OK", "WRONGTYPE", "WRONGTYPE",
            "WRONGTYPE", 1, None, b"1", 1, b"-1.5", 4]
    _pipeline_twice(c, batch, want, ("z", "s"))


def test_command_names_and_a_long_pipeline(server):
    """commands.c's command_lookup answers from its last hit when the name
    matches it (length and bytes, any case), and prefetch_keys also prepares
    the request parsed before its look-ahead (networking.c): names of the
    same length one after another (INCR, DECR), in mixed case, one with a
    NUL inside, a first request with more arguments than the look-ahead
    peeks, and 19 two-key hints (HGET with a field, ZSCORE) in one read, get
    the replies they get one request at a time."""
    c = server.raw()
    batch = [("HSET", "h", "f", "1", "g", "2"), ("INCR", "n"), ("DECR", "n"), ("decr", "n"),
             ("iNcR", "n"), (b"IN\x00R", "n"), ("INCRBY", "n", "5"), ("DECRBY", "n", "2")]
    want = [2, 1, 0, -1, 0, "ERR unknown command", 5, 3]
    for i in range(19):                       # 1 + 27 requests, 19 of them 2 keys each
        batch.append(("HGET", "h", "f") if i % 2 else ("ZSCORE", "z", "m"))
        want.append(b"1" if i % 2 else None)
    batch += [("GET", "n"), ("INCR", "n")]
    want += [b"3", 4]
    _pipeline_twice(c, batch, want, ("h", "n"))
