"""List commands, differentially against redis-server (same replies, errors
by text), plus long-list index arithmetic, binary items, restart."""
from chalk_harness import start_server
from differential import pair, same, servers  # noqa: F401 (pytest fixtures)


SCRIPT = """
rpush l a b c d e
lpush l z y
lrange l 0 -1
lrange l -3 -1
lrange l 5 100
lrange l -100 1
lrange l 3 2
lrange nokey 0 -1
llen l
llen nokey
lindex l 0
lindex l -1
lindex l 100
lindex l -100
lindex l x
lset l 1 Y
lset l -1 E
lset l 100 x
lset nokey 0 x
lrange l 0 -1
lpushx nokey a
rpushx nokey a
exists nokey
lpushx l q r
rpushx l s
lpop l
rpop l
lpop l 2
rpop l 0
lpop l -1
lpop nokey
lpop nokey 2
lpop l 1 2
lrange l 0 -1
rpush l a b a c a
lrem l 2 a
lrange l 0 -1
lrem l -1 a
lrange l 0 -1
lrem l 0 zz
lrem nokey 0 a
linsert l before c X
linsert l after c Y
linsert l after nope Y
linsert l middle c Y
linsert nokey before a b
lrange l 0 -1
ltrim l 1 -2
lrange l 0 -1
ltrim l 5 1
exists l
rpush p a b c a b c a
lpos p a
lpos p a rank 2
lpos p a rank -1
lpos p a rank -3
lpos p a rank 4
lpos p a count 0
lpos p a count 2 rank -1
lpos p a maxlen 1 count 0
lpos p a maxlen 4 count 0 rank -1
lpos p z
lpos p z count 0
lpos p a rank 0
lpos p a count -1
lpos p a maxlen -1
lpos p a foo 1
lpos nokey a
lpos nokey a count 0
rpush src 1 2 3
lmove src dst left right
lmove src dst right left
lrange dst 0 -1
lmove src src left right
lrange src 0 -1
rpoplpush src dst
lrange src 0 -1
exists src
rpoplpush src dst
lmove dst dst right right
lmove dst dst left left
lmove dst dst right left
lrange dst 0 -1
lmove dst dst up left
set str x
lpush str a
lrange str 0 -1
lmove dst str left left
lmove str dst left left
rpush one x
lmove one one left right
lrange one 0 -1
rpop one
exists one
rpush t 1 2 3 4 5 6 7 8 9 10 5
lrem t -2 5
lrange t 0 -1
ltrim t 0 -1
ltrim t -3 -1
lrange t 0 -1
rpush a1 x
rpop a1 5
exists a1
"""


def test_commands_match_redis(pair):
    same(pair, SCRIPT)


def test_long_list_index_arithmetic_against_model(pair):
    """Pushes on both sides, pops, LSET, LINSERT and LREM in the middle of a
    long list; LINDEX and LRANGE everywhere must agree with redis."""
    a, b = pair
    for r in pair:
        r.rpush("l", *range(500))
        r.lpush("l", *range(1000, 1300))
        r.lpop("l", 17)
        r.rpop("l", 23)
        r.lset("l", 100, "X")
        r.lset("l", -100, "Y")
        r.linsert("l", "BEFORE", "250", "ins")
        r.lrem("l", 0, "X")
        r.ltrim("l", 5, -6)
    assert a.llen("l") == b.llen("l")
    assert a.lrange("l", 0, -1) == b.lrange("l", 0, -1)
    for i in range(-760, 760, 37):
        assert a.lindex("l", i) == b.lindex("l", i), i
    for s, e in [(0, 10), (-10, -1), (100, 90), (300, 1000), (-1000, 5)]:
        assert a.lrange("l", s, e) == b.lrange("l", s, e)


def test_binary_items(pair):
    a, b = pair
    items = [b"\x00", b"", b"a\r\nb", b"\xff" * 1000]
    for r in pair:
        r.rpush(b"l\x00", *items)
    assert a.lrange(b"l\x00", 0, -1) == items == b.lrange(b"l\x00", 0, -1)
    assert a.lpos(b"l\x00", b"") == 1


def test_reliable_queue_pattern(pair):
    """queue.async: LMOVE into a processing list, LREM when done."""
    a, _ = pair
    a.lpush("queue", "job1", "job2", "job3")
    job = a.lmove("queue", "processing", "RIGHT", "LEFT")
    assert job == b"job1"
    assert a.lrange("processing", 0, -1) == [b"job1"]
    assert a.lrem("processing", 1, job) == 1
    assert not a.exists("processing")
    assert a.llen("queue") == 2


def test_lists_survive_restart():
    with start_server() as srv:
        r = srv.client()
        r.rpush("l", *range(100))
        r.lpush("l", *range(-1, -51, -1))
        r.lpop("l", 3)
        srv.restart()
        r = srv.client()
        assert r.lrange("l", 0, -1) == [str(i) for i in range(-47, 0)] + [str(i) for i in range(100)]
        assert r.llen("l") == 147
        assert r.lindex("l", 0) == "-47"
        assert r.lindex("l", -1) == "99"
        r.rpush("l", "end")
        assert r.lindex("l", 147) == "end"
