"""Hash commands, differentially: every command sequence runs on chalk-server
and on Debian's redis-server, and the replies must be equal (errors compared
by text). Plus what a differential test cannot see: HSCAN's cursor covers
every field, HRANDFIELD's count rules, and hashes surviving a restart."""
from chalk_harness import start_server
from differential import pair, same, servers  # noqa: F401 (pytest fixtures)


BASIC = """
hset h a 1 b 2 a 3
hset h
hset h a
hmset h x 1 y
hmset h x 1 y 2
hget h a
hget h zz
hget nokey a
hmget h a b zz
hmget nokey a b
hdel h a a zz
hexists h b
hexists h a
hlen h
hlen nokey
hgetall h
hkeys h
hvals h
hgetall nokey
hdel nokey a
hsetnx h b 9
hsetnx h new 9
hstrlen h new
hstrlen h none
hdel h b new x y
exists h
hlen h
"""


def test_basic_commands_match_redis(pair):
    same(pair, BASIC, unordered={"hgetall", "hkeys", "hvals"})


INCR = """
hincrby h n 5
hincrby h n -7
hincrby h n x
hincrby h n 9223372036854775807
hset h big 9223372036854775807
hincrby h big 1
hset h neg -9223372036854775808
hincrby h neg -1
hincrbyfloat h f 10.5
hincrbyfloat h f 0.25
hincrbyfloat h f 5.0e3
hincrbyfloat h f -5010.75
hincrbyfloat h f abc
hincrbyfloat h f inf
hincrbyfloat h f 1e5000
hincrbyfloat h f -1e5000
hincrbyfloat h f 1e-5000
hset h o 1e5000
hincrbyfloat h o 1
hset h u 1e-5000
hincrbyfloat h u 1
hset h s notnum
hincrby h s 1
hincrbyfloat h s 1
hget h f
hget h n
"""


def test_increments_match_redis(pair):
    same(pair, INCR)


WRONGTYPE = """
set str v
hset str x 1
hget str x
hmget str x
hlen str
hgetall str
hdel str x
hincrby str x 1
hscan str 0
hrandfield str
lpush h2 a
hget h2 a
"""


def test_wrongtype_matches_redis(pair):
    same(pair, WRONGTYPE)


def test_binary_fields_and_values(pair):
    for r in pair:
        r.hset(b"k\x00ey", mapping={b"\x00": b"\xff\x00", b"f\r\n": b"", b"": b"empty name"})
    a, b = pair
    assert a.hgetall(b"k\x00ey") == b.hgetall(b"k\x00ey")
    assert a.hget(b"k\x00ey", b"") == b"empty name"
    assert a.hstrlen(b"k\x00ey", b"f\r\n") == 0
    # A key that is a prefix of another must not see its fields
    # (the key length is part of every sub-record key).
    a.hset("ab", "c", 1)
    a.hset("a", "bc", 2)
    assert a.hgetall("a") == {b"bc": b"2"}
    assert a.hgetall("ab") == {b"c": b"1"}


def test_hscan_covers_every_field_even_with_shared_prefixes(pair):
    a, _ = pair
    # Fields sharing their first 7+ bytes exercise the cursor's rule that
    # a page never splits a 7-byte prefix group.
    fields = {f"sameprefix{i:04d}": i for i in range(600)}
    fields.update({f"f{i}": i for i in range(300)})
    a.hset("h", mapping=fields)
    seen, cursor, calls = {}, 0, 0
    while True:
        cursor, page = a.hscan("h", cursor, count=7)
        seen.update(page)
        calls += 1
        if cursor == 0:
            break
    assert set(seen) == {k.encode() for k in fields}
    assert calls > 2
    _, page = a.hscan("h", 0, match="f1*", count=10000)
    assert set(page) == {k.encode() for k in fields if k.startswith("f1")}


def test_hscan_options(pair):
    same(pair, """
hset h a 1
hscan h 0 count 0
hscan h 0 count x
hscan h x
hscan h 0 foo 1
hscan nokey 0
""")


def test_hrandfield_counts(pair):
    a, _ = pair
    a.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    assert a.hrandfield("h") in (b"a", b"b", b"c")
    assert a.hrandfield("nokey") is None
    assert a.hrandfield("nokey", 3) == []
    assert a.hrandfield("h", 0) == []
    two = a.hrandfield("h", 2)
    assert len(two) == 2 and len(set(two)) == 2
    assert sorted(a.hrandfield("h", 10)) == [b"a", b"b", b"c"]
    many = a.hrandfield("h", -20)
    assert len(many) == 20 and set(many) <= {b"a", b"b", b"c"}
    wv = a.hrandfield("h", -4, withvalues=True)
    assert len(wv) == 8
    for f, v in zip(wv[::2], wv[1::2]):
        assert a.hget("h", f) == v


def test_hmget_is_one_round_trip_for_n_fields(pair):
    a, _ = pair
    a.hset("user:1", mapping={f"f{i}": i for i in range(100)})
    assert a.hmget("user:1", [f"f{i}" for i in range(100)] + ["nope"]) == \
        [str(i).encode() for i in range(100)] + [None]


def test_hash_survives_restart_and_delete_frees_members():
    with start_server() as srv:
        r = srv.client()
        r.hset("h", mapping={f"f{i}": f"v{i}" for i in range(200)})
        r.hset("gone", "x", 1)
        r.delete("gone")
        srv.restart()
        r = srv.client()
        assert r.hlen("h") == 200
        assert r.hgetall("h") == {f"f{i}": f"v{i}" for i in range(200)}
        assert r.dbsize() == 1
        r.hset("gone", "y", 2)
        assert r.hgetall("gone") == {"y": "2"}
