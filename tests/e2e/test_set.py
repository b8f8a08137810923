"""Set commands, differentially against redis-server (same replies, errors
by text), plus SSCAN coverage, SPOP/SRANDMEMBER rules and restart."""
from chalk_harness import start_server
from differential import pair, same, servers  # noqa: F401 (pytest fixtures)


SCRIPT = """
sadd s a b c a
sadd s
scard s
scard nokey
sismember s a
sismember s z
sismember nokey a
smismember s a z b
smismember nokey a
smembers s
smembers nokey
srem s a a z
smembers s
srem nokey a
sadd t b d e
sinter s t
sunion s t
sdiff s t
sdiff t s
sinter s t nokey
sinter nokey s
sunion s nokey
sdiff nokey s
sinterstore dst s t
smembers dst
sunionstore dst s t
smembers dst
sdiffstore dst s t
smembers dst
sinterstore dst s nokey
exists dst
sunionstore s s t
smembers s
sintercard 2 s t
sintercard 2 s t limit 1
sintercard 2 s t limit 0
sintercard 0 s
sintercard 3 s t
sintercard 2 s t limit -1
sintercard 2 s t foo 1
set str x
sinter str
sinter s str
sunionstore dst s str
sadd str a
sismember str a
smove s t c
smembers s
smembers t
smove s t zz
smove s str c
smove str s a
smove t t b
smove nokey t a
spop nokey
spop nokey 3
spop s -1
spop s 1 2
srandmember nokey
srandmember nokey 3
srandmember s 0
srandmember s -9223372036854775808
sadd big 1 2 3 4 5
spop big 10
exists big
sadd one x
spop one
exists one
sadd mv a
smove mv newset a
exists mv
smembers newset
"""


def test_commands_match_redis(pair):
    same(pair, SCRIPT, unordered={"smembers", "sinter", "sunion", "sdiff", "spop", "srandmember"})


def test_binary_members(pair):
    a, b = pair
    for r in pair:
        r.sadd(b"s", b"\x00", b"", b"a\r\nb", b"\xff" * 300)
    assert a.smembers(b"s") == b.smembers(b"s")
    assert a.sismember(b"s", b"") and not a.sismember(b"s", b"\x00\x00")
    same(pair, "scard s")


def test_sscan_covers_every_member(pair):
    a, _ = pair
    members = {f"member:{i}" for i in range(1000)}
    a.sadd("s", *members)
    seen, cursor = set(), 0
    while True:
        cursor, page = a.sscan("s", cursor, count=13)
        seen.update(page)
        if cursor == 0:
            break
    assert seen == {m.encode() for m in members}


def test_spop_and_srandmember_rules(pair):
    a, _ = pair
    a.sadd("s", *range(50))
    popped = a.spop("s", 20)
    assert len(popped) == 20 and len(set(popped)) == 20
    assert a.scard("s") == 30
    assert not any(a.sismember("s", m) for m in popped)
    r = a.srandmember("s", 10)
    assert len(set(r)) == 10 and all(a.sismember("s", m) for m in r)
    assert len(a.srandmember("s", -100)) == 100
    assert sorted(a.srandmember("s", 1000)) == sorted(a.smembers("s"))
    rest = a.spop("s", 1000)
    assert len(rest) == 30 and not a.exists("s")


def test_sets_survive_restart():
    with start_server() as srv:
        r = srv.client()
        r.sadd("s", *range(300))
        r.sadd("t", *range(150, 450))
        r.sinterstore("i", "s", "t")
        srv.restart()
        r = srv.client()
        assert r.scard("i") == 150
        assert r.smembers("i") == {str(i) for i in range(150, 300)}
        assert r.dbsize() == 3


def test_random_members_of_a_big_set_by_sampling(pair):
    """>= 1024 members: SRANDMEMBER / SPOP seek each pick by rank instead
    of walking the set (composite.c, fill_picks). The picks must be
    members, distinct where asked, spread over the set, and popped ones
    gone."""
    a, _ = pair
    a.sadd("big", *range(3000))
    a.sadd("other", *range(100))
    seen = [a.srandmember("big") for _ in range(1000)]
    assert all(a.sismember("big", m) for m in set(seen))
    assert len(set(seen)) > 300                 # not stuck on a few members
    ten = a.srandmember("big", 10)
    assert len(set(ten)) == 10
    popped = a.spop("big", 16)
    assert len(set(popped)) == 16 and a.scard("big") == 3000 - 16
    assert not any(a.sismember("big", m) for m in popped)
    assert a.scard("other") == 100              # another set's records untouched


def test_random_picks_by_rank_hit_every_member_and_only_them(pair):
    """A pick is a seek to rank base + i (composite.c, fill_picks): 1000
    single picks from 40 members must reach all 40 and nothing of the
    neighbouring keys (one sorts just before, one just after; an off-by-one
    base lands there), for a set, a hash (values paired) and a sorted set
    (scores paired)."""
    a, _ = pair
    a.sadd("s", *(f"m{i}" for i in range(40)))
    a.sadd("r", "before")
    a.sadd("ss", "after")
    assert {a.srandmember("s") for _ in range(1000)} == {b"m%d" % i for i in range(40)}
    a.hset("h", mapping={f"f{i}": f"v{i}" for i in range(40)})
    a.hset("g", "before", "x")
    a.hset("hh", "after", "x")
    picks = [a.hrandfield("h", 1, withvalues=True) for _ in range(1000)]
    assert all(p[1] == b"v" + p[0][1:] for p in picks)
    assert {p[0] for p in picks} == {b"f%d" % i for i in range(40)}
    a.zadd("z", {f"m{i}": i for i in range(40)})
    a.zadd("y", {"before": -1})
    a.zadd("zz", {"after": 99})
    picks = [a.zrandmember("z", 1, withscores=True) for _ in range(1000)]
    assert all(float(p[1]) == int(p[0][1:]) for p in picks)
    assert {p[0] for p in picks} == {b"m%d" % i for i in range(40)}


def test_union_and_diff_by_merge_against_redis(pair):
    """SUNION / SDIFF walk the sets in step (cmd_set.c, set_merge): members
    that are prefixes of one another, binary bytes, overlaps of every kind,
    3 and 4 sets, a missing key, and an SDIFF of a small set against a big
    one (the probing path, diff_probes) — replies as sets equal Redis's."""
    import random
    rng = random.Random(6)
    a, b = pair
    pool = [b"a", b"ab", b"a\x00", b"\x00", b"\xff", b"b", b"", b"abc"] + \
        [b"m%d" % i for i in range(60)]
    for r in (a, b):
        for name, k in (("s1", 30), ("s2", 40), ("s3", 10), ("s4", 50)):
            r.delete(name)
            r.sadd(name, *random.Random(name + str(k)).sample(pool, k))
        r.delete("small", "big")
        r.sadd("small", "m1", "m2", "zz")
        r.sadd("big", *(b"m%d" % i for i in range(100)))
    cases = [("s1", "s2"), ("s2", "s1"), ("s1", "s2", "s3"), ("s4", "s1", "s2", "s3"),
             ("s1", "nokey"), ("nokey", "s1"), ("s3", "s3"), ("small", "big"), ("big", "small")]
    for keys in cases + [tuple(rng.sample(["s1", "s2", "s3", "s4"], 3)) for _ in range(10)]:
        for cmd in ("SUNION", "SDIFF"):
            x, y = a.execute_command(cmd, *keys), b.execute_command(cmd, *keys)
            assert sorted(x) == sorted(y), (cmd, keys)
            assert len(set(x)) == len(x), (cmd, keys)
        a.execute_command("SDIFFSTORE", "d", *keys)
        b.execute_command("SDIFFSTORE", "d", *keys)
        assert sorted(a.smembers("d")) == sorted(b.smembers("d"))
