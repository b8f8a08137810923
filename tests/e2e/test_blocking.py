"""Blocking pops across clients: BLPOP BRPOP BLMOVE BRPOPLPUSH BZPOPMIN
BZPOPMAX served by another client's push (and from inside an EXEC), in
FIFO order, timeouts (fractional, 0 = forever), a disconnect while blocked
leaves the element for the next waiter and is noticed at once (both
io-backends), commands sent behind a blocked one run after it, in order,
and Redis's replies and errors.

"Blocked" is observed, not slept for: wait_blocked() polls CLIENT LIST
until the waiter's last command is the blocking one."""
import time

import pytest
import redis

from chalk_harness import SLOW, start_server


@pytest.fixture(scope="module")
def srv():
    with start_server() as s:
        yield s


OPEN = []


@pytest.fixture
def r(srv):
    c = srv.client(decode_responses=False)
    c.flushall()
    yield c
    while OPEN:                    # no waiter outlives its test
        OPEN.pop().close()


def waiter(srv, *args):
    """A raw connection that sent a blocking command; returns (conn, id)."""
    conn = srv.raw(timeout=20)
    OPEN.append(conn)
    cid = conn.cmd("CLIENT", "ID")
    conn.send(b"".join([b"*%d\r\n" % len(args)] +
                       [b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() if isinstance(x, str)
                                                                  else x for x in args)]))
    return conn, cid


def wait_blocked(r, cid, cmd):
    deadline = time.time() + 10 * SLOW
    while time.time() < deadline:
        for line in r.client_list():
            if int(line["id"]) == cid and line.get("cmd") == cmd:
                return
        time.sleep(0.01)
    raise AssertionError(f"client {cid} never blocked in {cmd}")


def test_blpop_served_by_a_push(srv, r):
    conn, cid = waiter(srv, "BLPOP", "q", "0")
    wait_blocked(r, cid, "blpop")
    assert r.rpush("q", "job") == 1
    assert conn.read_reply() == [b"q", b"job"]
    assert not r.exists("q")                 # the list emptied: deleted


def test_fifo_order_of_waiters(srv, r):
    conns = []
    for i in range(3):
        conn, cid = waiter(srv, "BLPOP", "q", "0")
        wait_blocked(r, cid, "blpop")
        conns.append(conn)
    r.rpush("q", "a", "b", "c")
    assert [c.read_reply() for c in conns] == [[b"q", b"a"], [b"q", b"b"], [b"q", b"c"]]


def test_first_nonempty_key_and_brpop(srv, r):
    r.rpush("b", "1", "2")
    assert r.blpop(["a", "b"], 1) == (b"b", b"1")
    assert r.brpop(["a", "b"], 1) == (b"b", b"2")
    conn, cid = waiter(srv, "BRPOP", "x", "y", "0")
    wait_blocked(r, cid, "brpop")
    r.rpush("y", "first", "last")
    assert conn.read_reply() == [b"y", b"last"]


def test_timeouts(srv, r):
    assert r.blpop("nothing", 0.2) is None   # fractional seconds
    assert r.bzpopmin("nothing", 0.1) is None
    assert r.execute_command("BLMOVE", "nothing", "dst", "LEFT", "RIGHT", "0.1") is None
    assert r.brpoplpush("nothing", "dst", 1) is None
    # 0 = forever: still waiting after a few ticks, then served
    conn, cid = waiter(srv, "BLPOP", "forever", "0")
    wait_blocked(r, cid, "blpop")
    time.sleep(0.5)
    r.lpush("forever", "x")
    assert conn.read_reply() == [b"forever", b"x"]


def test_argument_errors_match_redis(r):
    for args, err in [(("BLPOP", "q", "-1"), "timeout is negative"),
                      (("BLPOP", "q", "abc"), "timeout is not a float or out of range"),
                      (("BZPOPMIN", "q", "inf"), "timeout is out of range"),   # 7.2's text
                      (("BLPOP", "q", "1e300"), "timeout is out of range"),
                      (("BLMOVE", "a", "b", "UP", "LEFT", "0"), "syntax error")]:
        with pytest.raises(redis.ResponseError, match=err):
            r.execute_command(*args)
    r.set("str", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.blpop("str", 1)
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.bzpopmax("str", 1)


def test_disconnect_while_blocked_leaves_the_element(srv, r):
    gone, gid = waiter(srv, "BLPOP", "q", "0")
    wait_blocked(r, gid, "blpop")
    gone.close()                             # the client goes away blocked
    alive, aid = waiter(srv, "BLPOP", "q", "0")
    wait_blocked(r, aid, "blpop")
    r.rpush("q", "precious")
    assert alive.read_reply() == [b"q", b"precious"]
    # and a lone vanished waiter takes nothing
    gone2, gid2 = waiter(srv, "BLPOP", "q2", "0")
    wait_blocked(r, gid2, "blpop")
    gone2.close()
    time.sleep(0.2)
    r.rpush("q2", "kept")
    time.sleep(0.3)
    assert r.lrange("q2", 0, -1) == [b"kept"]


def test_blmove_and_brpoplpush_reliable_queue(srv, r):
    conn, cid = waiter(srv, "BLMOVE", "queue", "processing", "RIGHT", "LEFT", "0")
    wait_blocked(r, cid, "blmove")
    r.lpush("queue", "job")
    assert conn.read_reply() == b"job"
    assert r.lrange("processing", 0, -1) == [b"job"]
    conn, cid = waiter(srv, "BRPOPLPUSH", "queue", "processing", "0")
    wait_blocked(r, cid, "brpoplpush")
    r.lpush("queue", "job2")
    assert conn.read_reply() == b"job2"
    assert r.lrange("processing", 0, -1) == [b"job2", b"job"]


def test_bzpopmin_bzpopmax(srv, r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.bzpopmin("z", 1) == (b"z", b"a", 1.0)
    assert r.bzpopmax("z", 1) == (b"z", b"c", 3.0)
    conn, cid = waiter(srv, "BZPOPMIN", "jobs", "0")
    wait_blocked(r, cid, "bzpopmin")
    r.zadd("jobs", {"urgent": 1, "later": 10})
    assert conn.read_reply() == [b"jobs", b"urgent", b"1"]


def test_served_from_inside_exec(srv, r):
    conn, cid = waiter(srv, "BLPOP", "q", "0")
    wait_blocked(r, cid, "blpop")
    p = r.pipeline(transaction=True)
    p.rpush("q", "from-exec")
    p.set("other", "1")
    p.execute()
    assert conn.read_reply() == [b"q", b"from-exec"]


def test_blpop_inside_multi_does_not_block(r):
    p = r.pipeline(transaction=True)
    p.blpop("empty", 0)
    p.set("x", "1")
    assert p.execute() == [None, True]


def test_pipelined_commands_after_a_blocked_one_wait_for_it(srv, r):
    conn = srv.raw(timeout=20)
    cid = conn.cmd("CLIENT", "ID")
    conn.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n")
    wait_blocked(r, cid, "blpop")
    r.rpush("q", "v")
    assert conn.read_reply() == [b"q", b"v"]
    assert conn.read_reply() == "PONG"


def test_list_block_timeouts_reply_a_null_array_in_resp2(srv, r):
    # Redis 7 answers every timed-out list block (BLPOP, BRPOP, BLMOVE,
    # BRPOPLPUSH) with the null ARRAY *-1 in RESP2, not the null bulk $-1;
    # redis-py reads both as None, so only the bytes can tell them apart.
    raw = srv.raw()
    for cmd in (b"*3\r\n$5\r\nBLPOP\r\n$4\r\nnone\r\n$4\r\n0.01\r\n",
                b"*6\r\n$6\r\nBLMOVE\r\n$4\r\nnone\r\n$3\r\ndst\r\n$4\r\nLEFT\r\n$5\r\nRIGHT\r\n$4\r\n0.01\r\n",
                b"*4\r\n$10\r\nBRPOPLPUSH\r\n$4\r\nnone\r\n$3\r\ndst\r\n$4\r\n0.01\r\n"):
        raw.send(cmd)
        assert raw.read_line() == b"*-1", cmd


def blocked_clients(r):
    return int(r.info("clients")["blocked_clients"])


def wait_count(r, want):
    deadline = time.time() + 10 * SLOW
    while blocked_clients(r) != want and time.time() < deadline:
        time.sleep(0.01)
    return blocked_clients(r)


def test_blocked_clients_counts_every_way_out(srv, r):
    """INFO's blocked_clients goes back to 0 whichever way a waiter leaves
    (served, timed out, disconnected and noticed), and a waiter that comes
    after the count went to 0 is still served: a push skips its search for
    waiters only while none is blocked (server.nblocked, checked exactly by
    unit_model_list)."""
    assert blocked_clients(r) == 0
    a, aid = waiter(srv, "BLPOP", "q", "0")
    b, bid = waiter(srv, "BZPOPMIN", "z", "0")
    wait_blocked(r, aid, "blpop")
    wait_blocked(r, bid, "bzpopmin")
    assert blocked_clients(r) == 2
    r.rpush("q", "x")                        # served
    assert a.read_reply() == [b"q", b"x"]
    assert wait_count(r, 1) == 1
    b.close()                                # disconnected while blocked:
    assert wait_count(r, 0) == 0             # noticed with no push to its key
    r.zadd("z", {"m": 1})
    assert r.zcard("z") == 1                 # and it took nothing
    assert r.blpop("nothing", 0.1) is None   # timed out
    assert blocked_clients(r) == 0
    c, cid = waiter(srv, "BLPOP", "later", "0")
    wait_blocked(r, cid, "blpop")            # a waiter after the count went to 0
    assert blocked_clients(r) == 1
    r.lpush("later", "y")
    assert c.read_reply() == [b"later", b"y"]
    assert wait_count(r, 0) == 0


@pytest.mark.parametrize("backend", ["epoll", "uring"])
def test_disconnect_while_blocked_is_noticed_without_a_push(backend):
    """A blocked client that goes away is freed at once (the loop watches a
    blocked socket for its hangup), not when its key is next served: INFO's
    blocked_clients drops to 0 with no push at all. And what a blocked client
    sends behind its blocking command, before or while it waits, is neither
    lost nor run early: both replies come in order once it is served."""
    with start_server(io_backend=backend) as s:
        r = s.client(decode_responses=False)
        for cmd in (("BLPOP", "q", "0"), ("BZPOPMIN", "z", "0"),
                    ("BLMOVE", "a", "b", "LEFT", "RIGHT", "0"), ("BRPOP", "q", "z2", "0")):
            conn, cid = waiter(s, *cmd)
            wait_blocked(r, cid, cmd[0].lower())
            assert blocked_clients(r) == 1
            conn.close()
            OPEN.remove(conn)
            assert wait_count(r, 0) == 0, cmd
            assert r.client_list() and all(int(c["id"]) != cid for c in r.client_list())
        # a pipeline read with the blocking command, and one sent while blocked
        conn = s.raw(timeout=20)
        cid = conn.cmd("CLIENT", "ID")
        conn.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*2\r\n$4\r\nECHO\r\n$1\r\n1\r\n")
        wait_blocked(r, cid, "blpop")
        conn.send(b"*2\r\n$4\r\nECHO\r\n$1\r\n2\r\n*2\r\n$4\r\nLPOP\r\n$1\r\nq\r\n")
        time.sleep(0.3)                      # room to (wrongly) run them early
        wait_blocked(r, cid, "blpop")        # still blocked: nothing ran
        assert blocked_clients(r) == 1
        r.rpush("q", "v1", "v2")
        assert conn.read_reply() == [b"q", b"v1"]
        assert conn.read_reply() == b"1"
        assert conn.read_reply() == b"2"
        assert conn.read_reply() == b"v2"    # LPOP ran after BLPOP took v1
        assert wait_count(r, 0) == 0
        conn.close()
