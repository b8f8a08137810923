"""Generic key commands (cmd_keys.c, cmd_ttl.c, cmd_scan.c) against the real
chalk-server: reply bytes identical to redis-server's where the reply is
deterministic (Both, from differential.py), set-equal where Redis's order is
its hash order (KEYS), and the properties that define SCAN and RANDOMKEY.
"""
import random
import threading
import time

import pytest

from chalk_harness import SLOW, start_server
from differential import HOSTILE, both, keyspace_events, servers  # noqa: F401 (pytest fixtures)


DEL_SCRIPT = [
    ("MSET", "a", "1", "b", "2", "c", "3"), ("DEL", "a", "a", "nokey"), ("EXISTS", "a", "b", "b", "x"),
    ("UNLINK", "b", "c", "b"), ("EXISTS", "b", "c"), ("DEL", "nokey"), ("DEL",), ("EXISTS",),
    ("SET", "t", "v"), ("TYPE", "t"), ("TYPE", "nokey"), ("TOUCH", "t", "t", "nokey"),
    ("SET", "", "empty-name"), ("EXISTS", ""), ("GET", ""), ("DEL", ""),
]

EXPIRE_SCRIPT = [
    ("SET", "k", "v"), ("TTL", "k"), ("PTTL", "k"), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
    ("TTL", "nokey"), ("PTTL", "nokey"), ("EXPIRETIME", "nokey"), ("PERSIST", "nokey"),
    ("PERSIST", "k"), ("EXPIRE", "nokey", "100"), ("EXPIRE", "k", "100"), ("TTL", "k"),
    ("EXPIRE", "k", "100", "NX"), ("EXPIRE", "k", "200", "XX"), ("TTL", "k"),
    ("EXPIRE", "k", "50", "GT"), ("EXPIRE", "k", "300", "GT"), ("TTL", "k"),
    ("EXPIRE", "k", "400", "LT"), ("EXPIRE", "k", "150", "LT"), ("TTL", "k"),
    ("EXPIRE", "k", "100", "NX", "XX"), ("EXPIRE", "k", "100", "GT", "LT"),
    ("EXPIRE", "k", "100", "NX", "GT"), ("EXPIRE", "k", "100", "FOO"), ("EXPIRE", "k", "abc"),
    ("EXPIRE", "k", "100", "xx", "gt"), ("PERSIST", "k"), ("TTL", "k"),
    ("EXPIRE", "k", "100", "XX"), ("EXPIRE", "k", "100", "GT"), ("EXPIRE", "k", "100", "LT"),
    ("TTL", "k"), ("PERSIST", "k"),
    ("EXPIREAT", "k", "4102444800"), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
    ("PEXPIREAT", "k", "4102444800123"), ("PEXPIRETIME", "k"), ("EXPIRETIME", "k"),
    ("EXPIRE", "k", "0"), ("EXISTS", "k"), ("SET", "k", "v"), ("EXPIRE", "k", "-1"),
    ("EXISTS", "k"), ("SET", "k", "v"), ("EXPIREAT", "k", "1"), ("EXISTS", "k"),
    ("SET", "k", "v"), ("PEXPIREAT", "k", "-9223372036854775808"), ("EXISTS", "k"),
    ("SET", "k", "v"), ("PEXPIRE", "k", "9223372036854775807"), ("EXISTS", "k"), ("PERSIST", "k"),
] + [line for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT")
     for v in HOSTILE + ["9223372036854775", "9223372036854776", "-9223372036854775",
                         "-9223372036854776"]
     # GT/LT with the same value only for absolute times: for EXPIRE and
     # PEXPIRE, "now" moves between the two calls, and by how much differs.
     for line in [("SET", "k", "v"), (cmd, "k", v)] +
     ([(cmd, "k", v, "GT"), (cmd, "k", v, "LT")] if cmd.endswith("AT") else []) +
     [("EXISTS", "k")]]

RENAME_SCRIPT = [
    ("SET", "src", "v", "EX", "100"), ("SET", "dst", "old"), ("RENAME", "src", "dst"),
    ("GET", "dst"), ("TTL", "dst"), ("EXISTS", "src"), ("RENAME", "nokey", "x"),
    ("RENAME", "dst", "dst"), ("GET", "dst"), ("RENAMENX", "dst", "dst"), ("RENAMENX", "nokey", "x"),
    ("SET", "other", "o"), ("RENAMENX", "dst", "other"), ("RENAMENX", "dst", "fresh"),
    ("GET", "fresh"), ("EXISTS", "dst"), ("TTL", "fresh"),
]

COPY_MOVE_SCRIPT = [
    ("SET", "s", "v", "EX", "100"), ("COPY", "s", "d"), ("GET", "d"), ("TTL", "d"),
    ("COPY", "s", "d"), ("SET", "s", "v2"), ("COPY", "s", "d", "REPLACE"), ("GET", "d"), ("TTL", "d"),
    ("COPY", "s", "s"), ("COPY", "nokey", "x"), ("COPY", "s", "x", "FOO"), ("COPY", "s", "x", "DB"),
    ("COPY", "s", "s", "DB", "1"), ("COPY", "s", "x", "DB", "16"), ("COPY", "s", "x", "DB", "-1"),
    ("COPY", "s", "x", "DB", "abc"), ("COPY", "s", "x", "DB", "9223372036854775808"),
    ("COPY", "s", "x", "DB", "2147483648"), ("COPY", "s", "x", "DB", "0"),
    ("SELECT", "1"), ("GET", "s"), ("SELECT", "0"),
    ("MOVE", "s", "1"), ("EXISTS", "s"), ("MOVE", "s", "1"), ("SELECT", "1"), ("GET", "s"),
    ("MOVE", "s", "1"), ("SET", "s0", "x"), ("MOVE", "s", "0"), ("SELECT", "0"), ("GET", "s"),
    ("SET", "m", "1"), ("SELECT", "2"), ("SET", "m", "2"), ("SELECT", "0"), ("MOVE", "m", "2"),
    ("GET", "m"), ("MOVE", "m", "16"), ("MOVE", "m", "-1"), ("MOVE", "m", "x"),
    ("MOVE", "nokey", "3"), ("FLUSHALL",),
] + [("MOVE", "m", v) for v in HOSTILE] + [("COPY", "m", "n", "DB", v) for v in HOSTILE]

OBJECT_SCRIPT = [
    ("SET", "i", "12345"), ("OBJECT", "ENCODING", "i"), ("SET", "e", "short"),
    ("OBJECT", "ENCODING", "e"), ("SET", "r", "x" * 45), ("OBJECT", "ENCODING", "r"),
    ("SET", "r44", "x" * 44), ("OBJECT", "ENCODING", "r44"), ("SET", "big", "99999999999999999999"),
    ("OBJECT", "ENCODING", "big"), ("SET", "neg", "-5"), ("OBJECT", "ENCODING", "neg"),
    ("INCR", "c"), ("OBJECT", "ENCODING", "c"), ("OBJECT", "ENCODING", "nokey"),
    ("OBJECT", "FREQ", "i"), ("OBJECT", "FREQ", "nokey"), ("OBJECT", "FOO", "i"), ("OBJECT",),
    ("OBJECT", "ENCODING"),
]


@pytest.mark.parametrize("script", [DEL_SCRIPT, EXPIRE_SCRIPT, RENAME_SCRIPT, COPY_MOVE_SCRIPT,
                                    OBJECT_SCRIPT], ids=["del", "expire", "rename", "copy-move",
                                                         "object"])
def test_same_bytes_as_redis(both, script):
    both.run(script)


GLOB_PATTERNS = ["*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo", "*o",
                 "h\\*", "\\h*", "[", "[a", "[^", "x[]", "[]]*", "*[", "h[a-]*", "*\\", "\\",
                 "?", "??", "*?*", "**", "", "user:*:name", "user:[0-9]*", "*:*:*", "[!a]*",
                 "h[\\]]*", "h[a\\-z]llo", "[a-z][a-z]*", "H*", "*LLO", "a*b*c", "*e*l*l*o*"]


def test_keys_matches_redis(servers):
    """KEYS with Redis's glob syntax: the same set of keys as redis-server
    (the order is Redis's hash order, so sets are compared)."""
    chalk, peer = servers
    import redis
    rc = chalk.client(decode_responses=False)
    rr = redis.Redis(port=peer.port, decode_responses=False)
    names = [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"h*", b"h", b"*", b"[", b"a",
             b"user:1:name", b"user:22:name", b"user:x:name", b"abc", b"aXbYc", b"h]", b"h-llo",
             b"h\\", b"\\", b"", b"a\x00b", b"\xff\xfe", b"HELLO", b"o"]
    for r in (rc, rr):
        r.flushall()
        for n in names:
            r.set(n, b"v")
    for pat in GLOB_PATTERNS:
        got = sorted(rc.keys(pat))
        want = sorted(rr.keys(pat))
        assert got == want, f"KEYS {pat!r}: chalk {got} redis {want}"
    rr.close()


def test_keys_only_current_db(server):
    r = server.client()
    r.set("zero", "0")
    r.execute_command("SELECT", "1")   # note: redis-py's pool keeps this connection
    c1 = server.client(db=1)
    c1.set("one", "1")
    assert r.keys("*") in (["one"], ["zero"])
    assert server.client().keys("*") == ["zero"]
    assert c1.keys("*") == ["one"]
    assert c1.dbsize() == 1


def test_pathological_patterns_return_promptly(server):
    """CVE-2022-36021's shape: many stars against long keys that almost match.
    A backtracking matcher takes exponential time; ours is bounded by
    pattern length x key length. Generous timeout, no timing assertion
    beyond 'it answered'."""
    r = server.client()
    pipe = r.pipeline(transaction=False)
    for i in range(200):
        pipe.set("a" * 2000 + str(i), "v")
    pipe.execute()
    for pat in ["*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "a*" * 200 + "b", "*" * 1000 + "b",
                "[a-z]*" * 50 + "b", "?*" * 300 + "b"]:
        assert r.keys(pat) == []
        cursor, n = 0, 0
        while True:
            cursor, keys = r.scan(cursor, match=pat, count=100)
            assert keys == []
            n += 1
            if cursor == 0:
                break
    assert len(r.keys("a*" * 100)) == 200
    assert r.ping()


def full_scan(r, **kw):
    seen, cursor, calls = [], 0, 0
    while True:
        cursor, keys = r.scan(cursor, **kw)
        seen.extend(keys)
        calls += 1
        if cursor == 0:
            return seen, calls


def test_scan_options_and_errors(server):
    r = server.client()
    for i in range(500):
        r.set(f"key:{i}", i)
    r.set("other", "x")
    seen, calls = full_scan(r, count=50)
    assert set(seen) == {f"key:{i}" for i in range(500)} | {"other"}
    assert calls > 1, "COUNT 50 over 501 keys should take several calls"
    assert set(full_scan(r, match="key:1*")[0]) == {f"key:{i}" for i in range(500)
                                                   if str(i).startswith("1")}
    assert set(full_scan(r, _type="string")[0]) == set(seen)
    assert full_scan(r, _type="list")[0] == [] and full_scan(r, _type="nosuchtype")[0] == []
    c = server.raw()
    assert str(c.cmd("SCAN", "abc")) == "ERR invalid cursor"
    assert str(c.cmd("SCAN", "-1x")) == "ERR invalid cursor"
    assert str(c.cmd("SCAN", "18446744073709551616")) == "ERR invalid cursor"
    assert str(c.cmd("SCAN", "0", "COUNT", "0")) == "ERR syntax error"
    assert str(c.cmd("SCAN", "0", "COUNT", "-1")) == "ERR syntax error"
    assert str(c.cmd("SCAN", "0", "COUNT", "abc")) == "ERR value is not an integer or out of range"
    assert str(c.cmd("SCAN", "0", "COUNT")) == "ERR syntax error"
    assert str(c.cmd("SCAN", "0", "FOO", "bar")) == "ERR syntax error"
    for v in HOSTILE:
        reply = c.cmd("SCAN", v)          # some are valid cursors (Redis's strtoull): never a crash
        assert isinstance(reply, list) or "invalid cursor" in str(reply)
        reply = c.cmd("SCAN", "0", "COUNT", v)
        assert isinstance(reply, list) or "ERR" in str(reply)
    # other databases' keys never show
    c1 = server.client(db=3)
    assert full_scan(c1)[0] == []
    c1.set("in3", "x")
    assert full_scan(c1)[0] == ["in3"]


def test_scan_sees_every_key_during_inserts(server):
    """SCAN's guarantee: a key present for the whole scan is returned at least
    once, even while other keys are inserted (and the hash index resizes)."""
    r = server.client()
    base = {f"stable:{i}" for i in range(3000)}
    pipe = r.pipeline(transaction=False)
    for k in base:
        pipe.set(k, "v")
    pipe.execute()
    writer = server.client()
    stop = threading.Event()

    def insert():
        i = 0
        while not stop.is_set() and i < 60000:
            p = writer.pipeline(transaction=False)
            for j in range(500):
                p.set(f"new:{i + j}", "v")
            p.execute()
            i += 500

    t = threading.Thread(target=insert)
    t.start()
    try:
        seen, calls = full_scan(r, count=20)
    finally:
        stop.set()
        t.join()
    missing = base - set(seen)
    assert not missing, f"{len(missing)} stable keys never returned (e.g. {sorted(missing)[:3]})"
    assert calls > 10


def test_randomkey(server):
    r = server.client()
    assert r.randomkey() is None
    for i in range(50):
        r.set(f"k{i}", "v")
    got = {r.randomkey() for _ in range(200)}
    assert got <= {f"k{i}" for i in range(50)} and len(got) > 5
    c2 = server.client(db=2)
    assert c2.randomkey() is None          # db 0's keys are not db 2's
    c2.set("only", "x")
    assert {c2.randomkey() for _ in range(20)} == {"only"}


def test_rename_keeps_everything_atomically_across_restart(server):
    r = server.client()
    r.set("a", "1", ex=1000)
    r.set("b", "2")
    r.rename("a", "b")
    r.copy("b", "c", destination_db=1)
    r.move("b", 2)
    server.restart()
    r = server.client()
    assert r.exists("a", "b") == 0
    assert r.get("c") is None
    c1, c2 = server.client(db=1), server.client(db=2)
    assert c1.get("c") == "1" and 990 < c1.ttl("c") <= 1000
    assert c2.get("b") == "1" and 990 < c2.ttl("b") <= 1000


def test_object_encoding_and_help(server):
    r = server.client()
    r.set("n", "123")
    r.set("s", "hi")
    r.set("l", "x" * 100)
    c = server.raw()                     # redis-py 4.3's OBJECT callback wants infotype

    def obj(*args):
        reply = c.cmd("OBJECT", *args)
        return reply.decode() if isinstance(reply, bytes) else reply

    assert obj("ENCODING", "n") == "int"
    assert obj("ENCODING", "s") == "embstr"
    assert obj("ENCODING", "l") == "raw"
    assert obj("IDLETIME", "n") == 0
    assert obj("REFCOUNT", "n") == 1
    assert obj("ENCODING", "missing") is None
    assert any("ENCODING" in line for line in obj("HELP"))


COLLECTION_SCRIPT = [
    ("HSET", "h", "f1", "v1", "f2", "v2"), ("SADD", "s", "a", "b"), ("RPUSH", "l", "x", "y"),
    ("TYPE", "h"), ("TYPE", "s"), ("TYPE", "l"),
    ("RENAME", "h", "h2"), ("HGETALL", "h2"), ("EXISTS", "h"), ("HLEN", "h2"),
    ("COPY", "h2", "h3"), ("HSET", "h3", "f3", "v3"), ("HLEN", "h2"), ("HLEN", "h3"),
    ("COPY", "s", "h3", "REPLACE"), ("TYPE", "h3"), ("SCARD", "h3"), ("SISMEMBER", "h3", "a"),
    ("HGETALL", "h3"),
    ("SET", "h2", "now a string"), ("GET", "h2"), ("DEL", "h2"), ("HSET", "h2", "g", "w"),
    ("HGETALL", "h2"), ("MSET", "s", "str"), ("DEL", "s"), ("SADD", "s", "c"), ("SCARD", "s"),
    ("MOVE", "l", "1"), ("SELECT", "1"), ("LRANGE", "l", "0", "-1"), ("RENAMENX", "l", "l2"),
    ("LRANGE", "l2", "0", "-1"), ("DEL", "l2"), ("EXISTS", "l2"), ("RPUSH", "l2", "z"),
    ("LRANGE", "l2", "0", "-1"), ("SELECT", "0"),
    ("EXPIRE", "h3", "100"), ("TTL", "h3"), ("PERSIST", "h3"), ("TTL", "h3"), ("SCARD", "h3"),
    ("GETDEL", "h3"), ("GET", "h3"), ("APPEND", "h3", "x"), ("INCR", "h3"), ("LCS", "h3", "x"),
    ("SET", "h3", "v", "GET"), ("GETSET", "h3", "v"), ("SCARD", "h3"), ("SET", "h3", "v"),
    ("GET", "h3"), ("DEL", "h3"), ("SADD", "h3", "n"), ("SCARD", "h3"), ("SISMEMBER", "h3", "a"),
]


def test_generic_commands_over_collections(both):
    """Once the data-types issue's hashes, sets and lists exist, DEL, RENAME,
    COPY, MOVE, SET-over and EXPIRE must carry (or drop) every member."""
    if b"unknown command" in both.chalk.cmd_bytes("HSET", "probe", "f", "v"):
        pytest.skip("no hash type yet (data-types issue)")
    both.redis.cmd_bytes("HSET", "probe", "f", "v")
    both.run(COLLECTION_SCRIPT)


def test_scan_type_filter_with_collections(server):
    r = server.client()
    if "unknown command" in str(server.raw().cmd("HSET", "probe", "f", "v")):
        pytest.skip("no hash type yet (data-types issue)")
    r.delete("probe")
    r.set("str", "v")
    r.hset("hash", "f", "v")
    r.sadd("set", "m")
    r.rpush("list", "i")
    assert set(full_scan(r, _type="hash")[0]) == {"hash"}
    assert set(full_scan(r, _type="string")[0]) == {"str"}
    assert set(full_scan(r, _type="list")[0]) == {"list"}
    assert sorted(r.keys("*")) == ["hash", "list", "set", "str"]
    assert r.dbsize() == 4


def test_string_writes_over_a_collection_drop_its_members(server):
    """SET / MSET over a hash replace it whole: its field records are deleted
    in the same batch (the engine's record count shows it), not left behind
    for a later HSET to trip over."""
    r = server.client()
    if "unknown command" in str(server.raw().cmd("HSET", "probe", "f", "v")):
        pytest.skip("no hash type yet (data-types issue)")
    r.delete("probe")

    def engine_records():
        return int(r.info("persistence")["chalk_keys"])

    r.hset("h", mapping={"f1": "v1", "f2": "v2"})
    r.sadd("s", "a", "b", "c")
    assert engine_records() == 2 + 1 + 3 + 1
    r.set("h", "plain")
    assert engine_records() == 1 + 3 + 1
    r.mset({"s": "plain too"})
    assert engine_records() == 2
    assert r.get("h") == "plain" and r.get("s") == "plain too"
    # DEL / RENAME over a collection, and 8- and 24-byte strings (the sizes
    # that make ks_type read the value) deleted as the strings they are
    r.hset("h2", mapping={"a": "1", "b": "2"})
    r.rpush("l", "x", "y")
    r.set("eight___", "v")
    r.set("twenty-four-bytes-string", "v")
    assert engine_records() == 2 + 3 + 3 + 2
    assert r.type("eight___") == "string" and r.type("twenty-four-bytes-string") == "string"
    assert r.type("h2") == "hash" and r.type("l") == "list"
    r.rename("h", "h2")                     # the old h2's fields go
    assert engine_records() == 1 + 1 + 3 + 2
    assert r.delete("l", "eight___", "twenty-four-bytes-string") == 3
    assert engine_records() == 2


NOTIFY_SEQUENCE = [
    ("SET", "s", "1"), ("SETNX", "s", "2"), ("SETNX", "n", "2"), ("SETEX", "e", "100", "v"),
    ("PSETEX", "p", "100000", "v"), ("GETSET", "s", "3"), ("MSET", "a", "1", "b", "2"),
    ("MSETNX", "a", "1", "c", "3"), ("MSETNX", "x", "1", "y", "2"), ("APPEND", "s", "x"),
    ("SETRANGE", "s", "5", "y"), ("SETRANGE", "s", "1", ""), ("INCR", "i"), ("DECRBY", "i", "5"),
    ("INCRBYFLOAT", "f", "1.5"), ("GETEX", "s", "EX", "100"), ("GETEX", "s", "PERSIST"),
    ("GETEX", "s"), ("GETDEL", "n"), ("EXPIRE", "a", "100"), ("PERSIST", "a"), ("PERSIST", "a"),
    ("PEXPIREAT", "b", "1"), ("COPY", "a", "a2"), ("COPY", "a", "a3", "DB", "1"),
    ("MOVE", "c", "1"), ("MOVE", "e", "1"), ("RENAMENX", "a2", "a4"), ("UNLINK", "a4", "nokey"), ("DEL", "x", "y"),
    ("SET", "k", "v", "GET"), ("SET", "k", "v", "NX"), ("GETEX", "k", "PXAT", "1"),
]


@pytest.mark.parametrize("flags", ["KEA", "E$", "Kg"])
def test_string_and_key_events_same_as_redis(servers, flags):
    """Keyspace notifications (notify.c) from the string and key commands:
    the same events, channels and order as redis-server."""
    chalk, peer = servers
    if "unknown" in str(chalk.raw().cmd("CONFIG", "GET", "notify-keyspace-events")):
        pytest.skip("no keyspace notifications in this server")
    assert (keyspace_events(chalk.port, flags, "__key*@*__:*", NOTIFY_SEQUENCE) ==
            keyspace_events(peer.port, flags, "__key*@*__:*", NOTIFY_SEQUENCE))
