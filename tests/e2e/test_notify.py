"""Keyspace notifications (notify-keyspace-events): the same events, on
the same channels, in the same order as redis-server for a sequence that
touches every type, plus class filtering and "expired" from active expiry
(no client touching the key)."""
import time

import pytest

from chalk_harness import SLOW, start_server
from differential import keyspace_events
from redis_peer import RedisPeer

SEQUENCE = [
    ("SET", "s", "1"), ("SET", "s2", "v", "EX", "100"), ("EXPIRE", "s", "100"),
    ("DEL", "s", "nokey"), ("RENAME", "s2", "s3"),
    ("INCR", "n"), ("INCRBYFLOAT", "n", "1.5"), ("APPEND", "n", "x"), ("SETRANGE", "n", "0", "y"),
    ("PERSIST", "s3"), ("GETDEL", "n"), ("MSET", "m1", "1", "m2", "2"), ("MOVE", "m1", "1"),
    ("HSET", "h", "f", "1", "g", "2"), ("HDEL", "h", "f"), ("HINCRBY", "h", "n", "1"),
    ("HINCRBYFLOAT", "h", "x", "1.5"), ("HDEL", "h", "g", "n", "x"),
    ("RPUSH", "l", "a", "b", "c"), ("LPUSH", "l", "z"), ("LPOP", "l"), ("RPOP", "l"),
    ("LSET", "l", "0", "A"), ("LINSERT", "l", "BEFORE", "A", "0"), ("LREM", "l", "0", "0"),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("LTRIM", "l", "5", "1"), ("RPOPLPUSH", "l2", "l3"),
    ("SADD", "st", "a", "b"), ("SREM", "st", "a"), ("SMOVE", "st", "st2", "b"),
    ("SADD", "st", "x"), ("SINTERSTORE", "st3", "st", "st2"), ("SUNIONSTORE", "st3", "st", "st2"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZINCRBY", "z", "1", "a"), ("ZREM", "z", "a"),
    ("ZREMRANGEBYSCORE", "z", "0", "2"), ("ZPOPMAX", "z"),
    ("ZADD", "z", "1", "a"), ("ZUNIONSTORE", "zu", "1", "z"), ("ZRANGESTORE", "zr", "zu", "0", "-1"),
]


@pytest.mark.parametrize("flags", ["KEA", "Kg", "El", "Ehz$", "Ks", "Ez", ""])
def test_same_events_as_redis(flags):
    with start_server() as srv, RedisPeer() as peer:
        got = keyspace_events(srv.port, flags, "__key*@0__:*", SEQUENCE)
        want = keyspace_events(peer.port, flags, "__key*@0__:*", SEQUENCE)
        assert got == want
        if flags == "KEA":
            assert len(got) > 80


def test_expired_event_from_active_expiry():
    with start_server(notify_keyspace_events="Ex") as srv:
        r = srv.client()
        p = r.pubsub()
        p.subscribe("__keyevent@0__:expired")
        assert p.get_message(timeout=5)["type"] == "subscribe"
        r.set("session", "x", px=50)
        r.hset("cart", "item", 1)
        r.pexpire("cart", 50)
        got = set()
        deadline = time.time() + 10 * SLOW
        while len(got) < 2 and time.time() < deadline:
            m = p.get_message(timeout=1)
            if m and m["type"] == "message":
                got.add(m["data"])
        assert got == {"session", "cart"}          # nobody read them: the cycle did
        assert r.dbsize() == 0


def test_off_by_default_and_config_get():
    with start_server() as srv:
        r = srv.client()
        assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": ""}
        p = r.pubsub()
        p.psubscribe("__key*__:*")
        p.get_message(timeout=5)
        r.set("k", "v")
        r.publish("x", "y")
        assert p.get_message(timeout=0.3) is None
