"""Sorted-set commands, differentially against redis-server (same replies,
errors by text), plus reverse walks on many scores, Redis 7.2 score
format, RESP3 replies, ZSCAN, the queue and rate-limit patterns, restart."""
import pytest
import redis

from chalk_harness import start_server
from differential import pair, same, servers  # noqa: F401 (pytest fixtures)


SCRIPT = """
zadd z 1 a 2 b 3 c
zadd z 1 a
zadd z
zadd z 1
zadd z x a
zadd z nan a
zadd z nx xx 1 a
zadd z gt lt 1 a
zadd z nx gt 1 a
zadd z incr 1 a 2 b
zadd z ch 5 a 2 b 7 d
zadd z xx 9 e
zadd z nx 9 a
zadd z gt ch 1 a 10 b
zadd z lt ch 1 a 100 b
zadd z incr 2 a
zadd z incr nx 2 a
zadd z incr xx 2 nonexist
zadd z -inf m +inf n
zadd z incr +inf n
zadd z incr -inf n
zadd z 1 dup 2 dup
zscore z dup
zrange z 0 -1 withscores
zcard z
zcard nokey
zscore z a
zscore z none
zscore nokey a
zmscore z a none b
zmscore nokey a
zincrby z 2.5 a
zincrby z x a
zincrby z 1 new
zrank z a
zrevrank z a
zrank z none
zrank nokey a
zrange z 0 -1
zrange z -2 -1
zrange z 0 0 withscores
zrange z 1 3 rev withscores
zrevrange z 0 2 withscores
zrevrange z 0 -1
zrevrange z -100 100
zrange z (1 5 byscore
zrange z 5 (1 byscore rev
zrange z -inf +inf byscore limit 1 2
zrange z +inf -inf byscore rev limit 1 2 withscores
zrangebyscore z 1 5
zrangebyscore z (1 (5 withscores
zrangebyscore z -inf +inf limit 2 3
zrangebyscore z -inf +inf limit -1 3
zrangebyscore z -inf +inf limit 1 -1
zrangebyscore z 5 1
zrangebyscore z (3 3
zrevrangebyscore z +inf -inf
zrevrangebyscore z 5 1 withscores limit 0 2
zrevrangebyscore z (7 (3
zrangebyscore z a b
zrange nokey 0 -1
zcount z -inf +inf
zcount z (1 5
zcount z 5 1
zcount z x 1
zrange z 0 -1 limit 0 1
zrange z [a [b bylex withscores
zrange z 0 -1 foo
zadd lex 0 a 0 b 0 c 0 d 0 e
zrangebylex lex - +
zrangebylex lex [b (d
zrangebylex lex (b +
zrangebylex lex - (c limit 1 5
zrevrangebylex lex + -
zrevrangebylex lex [d (a limit 1 2
zrange lex [b [d bylex
zrange lex [d [b bylex rev
zlexcount lex - +
zlexcount lex [b (e
zlexcount lex + -
zrangebylex lex b d
zremrangebylex lex [b [c
zrange lex 0 -1
zremrangebyrank z 0 1
zrange z 0 -1 withscores
zremrangebyrank z -1 -1
zremrangebyscore z (5 +inf
zrange z 0 -1 withscores
zremrangebyscore z x 1
zremrangebyscore z -inf +inf
exists z
zadd p 1 a 2 b 3 c 4 d
zpopmin p
zpopmax p
zpopmin p 0
zpopmin p -1
zpopmax p 5
exists p
zpopmin nokey
zpopmin nokey 2
zpopmax nokey
zadd s1 1 a 2 b 3 c
zadd s2 10 b 20 c 30 d
sadd plain c d e
zunionstore u 2 s1 s2
zrange u 0 -1 withscores
zunionstore u 2 s1 s2 weights 2 3 aggregate max
zrange u 0 -1 withscores
zinterstore i 2 s1 s2 aggregate min
zrange i 0 -1 withscores
zinterstore i 3 s1 s2 plain
zrange i 0 -1 withscores
zunionstore u 3 s1 s2 plain weights 1 1 5
zrange u 0 -1 withscores
zunionstore u 2 s1 s2 weights 1 -inf
zrange u 0 -1 withscores
zunionstore u 0 s1
zunionstore u 5 s1
zunionstore u 2 s1 s2 weights 1
zunionstore u 2 s1 s2 weights 1 x
zunionstore u 2 s1 s2 aggregate foo
zinterstore i 2 s1 nokey
exists i
zunionstore s1 2 s1 s2
zrange s1 0 -1 withscores
zrangestore dst s2 0 -1
zrange dst 0 -1 withscores
zrangestore dst s2 +inf (10 byscore rev limit 0 1
zrange dst 0 -1 withscores
zrangestore dst s2 50 100 byscore
exists dst
zrangestore dst nokey 0 -1
set str x
zadd str 1 a
zrange str 0 -1
zscore str a
zunionstore u 1 str
zpopmin str
zadd inf 1 a -inf b +inf c 0 d -0 e -1.5 f 1e10 g
zrange inf 0 -1 withscores
zrevrange inf 0 -1 withscores
zrange inf -inf +inf byscore rev
zrangebyscore inf (-inf (+inf
zrangebyscore inf 0 0 withscores
zrangebyscore inf -0 0
zrank inf e
zrank inf d
zadd edge 1e400 a
zadd edge 1e-400 a
zadd edge " 1" a
zadd edge 0x10 a
zadd edge 1.5abc a
zadd edge 1 a
zcount edge ( 1
zcount edge "" +inf
zrange edge 0 -1 limit 0 -1
zrange edge 0 -1 limit 0 1
zunionstore edge2 1 edge weights 1e400
zunionstore edge2 1 edge weights nan
zadd nan 1 a
zincrby nan nan a
zadd nan incr +inf a
zadd nan incr -inf a
zscore nan a
"""


def test_commands_match_redis(pair):
    same(pair, SCRIPT)


def test_scores_print_shortest_round_trip(servers):
    """Redis 7.2's score format (7.0 printed %.17g): the shortest text that
    reads back as the same double."""
    r = redis.Redis(port=servers[0].port)
    r.zadd("f", {"a": 0.1, "b": 1e300, "c": 123456.789, "d": -2.5e-7, "e": 10})
    assert r.zrange("f", 0, -1, withscores=True, score_cast_func=bytes) == [
        (b"d", b"-2.5e-07"), (b"a", b"0.1"), (b"e", b"10"), (b"c", b"123456.789"),
        (b"b", b"1e+300")]
    assert r.zincrby("f", 0.2, "a") == pytest.approx(0.30000000000000004)


def test_reverse_walks_against_model(pair):
    """Reverse ranges run on a forward-only iterator (a binary search of
    seeks per distinct score): check them on many scores, with ties,
    negatives, and LIMIT, against redis."""
    a, b = pair
    import random
    rnd = random.Random(6)
    members = {f"m{i}": rnd.choice([rnd.randint(-50, 50), rnd.uniform(-1e6, 1e6), 0.0,
                                    float("inf"), float("-inf")]) for i in range(400)}
    for r in pair:
        r.zadd("z", members)
    assert a.zrevrange("z", 0, -1, withscores=True) == b.zrevrange("z", 0, -1, withscores=True)
    for lo, hi in [(-50, 50), ("-inf", "+inf"), ("(0", 10), (-1e6, "(-5")]:
        assert a.zrevrangebyscore("z", hi, lo) == b.zrevrangebyscore("z", hi, lo)
        assert a.zrangebyscore("z", lo, hi) == b.zrangebyscore("z", lo, hi)
        assert a.zrevrangebyscore("z", hi, lo, start=3, num=7) == \
            b.zrevrangebyscore("z", hi, lo, start=3, num=7)
        assert a.zcount("z", lo, hi) == b.zcount("z", lo, hi)
    for s, e in [(0, 9), (10, 20), (-5, -1), (390, 500)]:
        assert a.zrevrange("z", s, e) == b.zrevrange("z", s, e)
    for m in list(members)[:40]:
        assert a.zrank("z", m) == b.zrank("z", m)
        assert a.zrevrank("z", m) == b.zrevrank("z", m)
    assert a.zpopmax("z", 15) == b.zpopmax("z", 15)
    assert a.zpopmin("z", 15) == b.zpopmin("z", 15)
    assert a.zrange("z", 0, -1, withscores=True) == b.zrange("z", 0, -1, withscores=True)


def test_zadd_moves_index_records(pair):
    """ZADD reads each member's score and writes its new one through one
    prepared 'm' key (zs_put), deleting the old score-index record first.
    Check members rewritten back and forth in one command (with few pairs,
    kept on zadd_generic's stack, and with more than ZADD_FEW, on the
    heap), +0 / -0, ZINCRBY, and a big set deleted (its members reaped
    later: a grave) then created again with the same members. A stale or
    duplicate record would show in scores, ranges and counts."""
    a, b = pair
    same(pair, """
zadd z 1 dup 2 dup 1 dup 3 dup 2 dup
zadd z 1 a 2 b 3 a 4 c 5 b 6 d 7 a 1 dup
zadd z ch 1 a 2 b 3 c
zscore z a
zscore z dup
zadd z 0 pz -0 pz 0 pz 5 pz -0 pz
zincrby z 1 dup
zincrby z -1 dup
zadd z 4 dup 2 dup
zrange z 0 -1 withscores
zrangebyscore z -inf +inf withscores
zcount z -inf +inf
zcard z
zrank z dup
""")
    big = {f"m{i}": i for i in range(3000)}
    for r in pair:
        r.zadd("big", big)
        r.delete("big")
        r.zadd("big", {m: s + 1 if s % 2 else s for m, s in big.items()})
        r.zadd("big", {"m1": 7.5, "m2": 7.5, "m3": 1})
    for r in (a, b):
        assert r.zcard("big") == 3000
    assert a.zrange("big", 0, -1, withscores=True) == b.zrange("big", 0, -1, withscores=True)
    assert a.zcount("big", "-inf", "+inf") == b.zcount("big", "-inf", "+inf") == 3000
    assert a.zrangebyscore("big", 0, 10) == b.zrangebyscore("big", 0, 10)


def test_binary_members(pair):
    a, b = pair
    for r in pair:
        r.zadd(b"z", {b"\x00": 1, b"": 1, b"a\r\n": 2, b"\xff" * 100: -1})
    assert a.zrange(b"z", 0, -1, withscores=True) == b.zrange(b"z", 0, -1, withscores=True)
    assert a.zrangebylex(b"z", b"-", b"+") == b.zrangebylex(b"z", b"-", b"+")


def test_zscan_and_zrandmember(pair):
    a, _ = pair
    a.zadd("z", {f"m{i}": i for i in range(500)})
    seen, cursor = {}, 0
    while True:
        cursor, page = a.zscan("z", cursor, count=11)
        seen.update(page)
        if cursor == 0:
            break
    assert seen == {f"m{i}".encode(): float(i) for i in range(500)}
    assert a.zrandmember("nokey") is None
    assert len(set(a.zrandmember("z", 20))) == 20
    pairs = a.zrandmember("z", -5, withscores=True)
    assert len(pairs) == 10
    for m, s in zip(pairs[::2], pairs[1::2]):
        assert a.zscore("z", m) == float(s)


def test_zrank_withscore_and_resp3(servers):
    srv = servers[0]
    c = srv.raw()
    assert isinstance(c.cmd("HELLO", "3"), dict)
    c.cmd("DEL", "z")
    assert c.cmd("ZADD", "z", "1.5", "a", "2", "b") == 2
    assert c.cmd("ZSCORE", "z", "a") == 1.5             # a RESP3 double
    assert c.cmd("ZRANGE", "z", "0", "-1", "WITHSCORES") == [[b"a", 1.5], [b"b", 2.0]]
    assert c.cmd("ZRANK", "z", "b", "WITHSCORE") == [1, 2.0]
    assert c.cmd("ZPOPMIN", "z") == [b"a", 1.5]
    assert c.cmd("ZMSCORE", "z", "b", "x") == [2.0, None]


def test_priority_queue_and_sliding_window(pair):
    a, _ = pair
    # queue.priority-jobs: delayed jobs scored by due time
    a.zadd("jobs", {"later": 2000, "now": 1000, "urgent": 500})
    due = a.zrange("jobs", "-inf", 1000, byscore=True, offset=0, num=10)
    assert due == [b"urgent", b"now"]
    assert a.zrem("jobs", *due) == 2
    assert a.zpopmin("jobs") == [(b"later", 2000.0)]
    # ratelimit.strategies: sliding window of 10 s, limit 3
    for t in (100, 101, 105, 109):
        p = a.pipeline(transaction=False)   # MULTI/EXEC in production
        p.zremrangebyscore("rl", 0, t - 10)
        p.zcard("rl")
        p.zadd("rl", {f"req{t}": t})
        _, n, _ = p.execute()
        assert n == (t != 100) * min(3, [100, 101, 105, 109].index(t))


def test_zsets_survive_restart():
    with start_server() as srv:
        r = srv.client()
        r.zadd("z", {f"m{i}": i * 1.5 - 100 for i in range(300)})
        r.zrem("z", "m5")
        srv.restart()
        r = srv.client()
        assert r.zcard("z") == 299
        assert r.zrange("z", 0, 2, withscores=True) == [("m0", -100.0), ("m1", -98.5),
                                                        ("m2", -97.0)]
        assert r.zrevrange("z", 0, 0) == ["m299"]
        assert r.zscore("z", "m5") is None


def main_record_offset(r, key):
    """Where the key's main record sits in the log (DEBUG OBJECT)."""
    obj = r.execute_command("DEBUG", "OBJECT", key)
    return obj.split("offset:")[1].split()[0]


def test_unchanged_count_writes_no_main_record():
    """A new score for an existing member, or a new value for an existing
    field, leaves the member count as it was: the main record is not
    rewritten (composite.h, cp_meta_store); a new member rewrites it. WATCH
    still sees the change (the sub-record's write touches the key), and a
    LTRIM that trims nothing still rewrites it, as Redis touches the key."""
    with start_server() as srv:
        r, other = srv.client(), srv.client()
        r.zadd("z", {"a": 1, "b": 2})
        r.hset("h", "f", "v")
        r.rpush("l", "x", "y")
        z0, h0, l0 = (main_record_offset(r, k) for k in ("z", "h", "l"))
        r.zadd("z", {"a": 5})
        r.hset("h", "f", "v2")
        assert main_record_offset(r, "z") == z0 and main_record_offset(r, "h") == h0
        assert r.zscore("z", "a") == 5.0 and r.hget("h", "f") == "v2" and r.zcard("z") == 2
        r.zadd("z", {"c": 3})
        assert main_record_offset(r, "z") != z0 and r.zcard("z") == 3
        r.ltrim("l", 0, -1)
        assert main_record_offset(r, "l") != l0
        with r.pipeline() as p:
            p.watch("z")
            other.zadd("z", {"a": 7})
            p.multi()
            p.zcard("z")
            with pytest.raises(redis.WatchError):
                p.execute()
