"""redis-py (Debian's python3-redis) used the way applications use it, for
strings, keys and expiry: its helpers (scan_iter, timedelta expiries,
pipelines without MULTI, binary keys) must work against chalk-server as
against redis-server. RESP3: this redis-py predates protocol=3, so RESP3
replies are checked on a raw connection after HELLO 3.
"""
import datetime

import pytest
import redis


def test_everyday_cache_usage(server):
    r = server.client()
    # cache-aside: miss, fill with a TTL, hit
    assert r.get("user:1") is None
    r.set("user:1", '{"name":"ada"}', ex=datetime.timedelta(minutes=5))
    assert r.get("user:1") == '{"name":"ada"}'
    assert 290 <= r.ttl("user:1") <= 300
    assert r.expire("user:1", datetime.timedelta(seconds=30)) and r.ttl("user:1") <= 30
    at = datetime.datetime.now() + datetime.timedelta(hours=1)
    assert r.expireat("user:1", at) and 3590 <= r.ttl("user:1") <= 3600
    assert r.pexpireat("user:1", at) and r.pttl("user:1") > 3_500_000
    assert r.expiretime("user:1") == int(at.timestamp()) or \
        abs(r.expiretime("user:1") - at.timestamp()) <= 1
    assert r.persist("user:1") and r.ttl("user:1") == -1
    # counters and rate limits
    assert r.incr("hits") == 1 and r.incrby("hits", 9) == 10 and r.decr("hits") == 9
    assert r.set("lock", "me", nx=True, px=10000) is True
    assert r.set("lock", "you", nx=True, px=10000) is None
    assert r.type("lock") == "string" and r.type("nothing") == "none"


def test_expire_conditions_through_redis_py(server):
    r = server.client()
    r.set("k", "v")
    assert r.expire("k", 100, nx=True) is True
    assert r.expire("k", 50, gt=True) is False
    assert r.expire("k", 200, gt=True) is True
    assert r.expire("k", 300, lt=True) is False
    assert r.expire("k", 10, xx=True) is True and r.ttl("k") <= 10


def test_pipeline_without_transaction_is_one_round_trip_per_batch(server):
    r = server.client()
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"p:{i}", i)
        pipe.incr(f"c:{i % 10}")
    pipe.mget([f"p:{i}" for i in range(5)])
    replies = pipe.execute()
    assert replies[-1] == ["0", "1", "2", "3", "4"]
    assert r.mget([f"c:{i}" for i in range(10)]) == ["100"] * 10


def test_scan_iter_and_keys(server):
    r = server.client()
    for i in range(300):
        r.set(f"session:{i}", "x")
        r.set(f"other:{i}", "y")
    got = set(r.scan_iter(match="session:*", count=50))
    assert got == {f"session:{i}" for i in range(300)}
    assert set(r.scan_iter(_type="STRING")) >= got
    assert sorted(r.keys("session:1?")) == sorted(f"session:{i}" for i in range(10, 20))
    assert r.delete(*[f"other:{i}" for i in range(300)]) == 300
    assert r.unlink("session:0", "session:0", "nope") == 1
    assert r.exists("session:1", "session:1", "nope") == 2
    assert r.touch("session:1", "nope") == 1


def test_rename_copy_move_getdel(server):
    r = server.client()
    r.set("a", "1", ex=100)
    assert r.rename("a", "b") and r.get("b") == "1" and r.ttl("b") > 0
    assert r.renamenx("b", "b2") is True and r.renamenx("b2", "b2") is False
    assert r.copy("b2", "c") and r.get("c") == "1"
    assert r.copy("b2", "c") is False and r.copy("b2", "c", replace=True) is True
    assert r.move("c", 5) and r.get("c") is None
    assert server.client(db=5).get("c") == "1"
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.rename("missing", "x")
    assert r.getdel("b2") == "1" and r.getdel("b2") is None
    assert r.randomkey() is None


def test_binary_keys_and_values(server):
    r = server.client(decode_responses=False)
    key = bytes(range(256))
    r.set(key, key[::-1], ex=100)
    assert r.get(key) == key[::-1]
    assert r.keys(b"\x00*") == [key]
    assert r.exists(key) == 1 and r.strlen(key) == 256
    assert r.getrange(key, 0, 1) == b"\xff\xfe"
    r.rename(key, b"\x00")
    assert r.get(b"\x00") == key[::-1]


def test_errors_are_classified_by_redis_py(server):
    r = server.client()
    r.set("s", "text")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("s")
    with pytest.raises(redis.ResponseError, match="not a valid float"):
        r.incrbyfloat("s", 1)
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SET", "k", "v", "EX", "10", "PX", "10")
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'set' command"):
        r.set("k", "v", ex=0)
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        r.execute_command("GET")


def test_resp3_replies(server):
    c = server.raw()
    assert isinstance(c.cmd("HELLO", "3"), dict)
    for cmd, want in [(("SET", "k", "v"), "OK"), (("GET", "nokey"), None), (("TTL", "k"), -1),
                      (("EXPIRE", "k", "100"), 1), (("TYPE", "k"), "string"),
                      (("MGET", "k", "nokey"), [b"v", None]), (("EXISTS", "k", "k"), 2),
                      (("OBJECT", "ENCODING", "nokey"), None), (("RANDOMKEY",), b"k"),
                      (("GETEX", "k", "PERSIST"), b"v"), (("TTL", "k"), -1)]:
        assert c.cmd(*cmd) == want, cmd
    c.send(b"*2\r\n$3\r\nGET\r\n$5\r\nnokey\r\n")
    assert c.read_line() == b"_"       # RESP3 null, not $-1
    cursor, keys = c.cmd("SCAN", "0", "COUNT", "100")
    assert cursor == b"0" and keys == [b"k"]
