"""Pub/sub: SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE / PUBLISH /
PUBSUB, byte for byte against redis-server for the RESP2 exchanges
(confirmations, messages, subscribed-mode errors, PING), RESP3 push
messages, and a slow subscriber cut off at the pubsub output limit."""
import time

import pytest

from chalk_harness import SLOW, RawConn, start_server
from differential import servers  # noqa: F401 (pytest fixture)


def raw_pair(servers):
    srv, peer = servers
    return srv.raw(), RawConn(peer.port, 10)


def both(conns, *args):
    """Send args on both; return both replies (they must be equal)."""
    out = [c.cmd(*args) for c in conns]
    assert repr(out[0]) == repr(out[1]), (args, out)
    return out[0]


def read_both(conns):
    out = [c.read_reply() for c in conns]
    assert repr(out[0]) == repr(out[1]), out
    return out[0]


def test_resp2_exchange_matches_redis(servers):
    subs = raw_pair(servers)
    pubs = raw_pair(servers)
    assert both(subs, "SUBSCRIBE", "news", "sport") == [b"subscribe", b"news", 1]
    assert read_both(subs) == [b"subscribe", b"sport", 2]
    assert both(subs, "PSUBSCRIBE", "n*") == [b"psubscribe", b"n*", 3]
    assert both(pubs, "PUBLISH", "news", "hello") == 2      # channel + pattern
    assert read_both(subs) == [b"message", b"news", b"hello"]
    assert read_both(subs) == [b"pmessage", b"n*", b"news", b"hello"]
    assert both(pubs, "PUBLISH", "nothing-here", "x") == 1  # the pattern only
    assert read_both(subs) == [b"pmessage", b"n*", b"nothing-here", b"x"]
    # subscribed mode (RESP2): only the subscribe family, PING, QUIT, RESET
    err = both(subs, "GET", "k")
    assert "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET" in str(err)
    assert both(subs, "PING") == [b"pong", b""]
    assert both(subs, "PING", "hi") == [b"pong", b"hi"]
    assert [sorted(c.cmd("PUBSUB", "CHANNELS")) for c in pubs] == [[b"news", b"sport"]] * 2
    assert both(pubs, "PUBSUB", "CHANNELS", "s*") == [b"sport"]
    assert both(pubs, "PUBSUB", "NUMSUB", "news", "none") == [b"news", 1, b"none", 0]
    assert both(pubs, "PUBSUB", "NUMPAT") == 1
    assert both(pubs, "PUBSUB", "SHARDCHANNELS") == []
    assert both(subs, "UNSUBSCRIBE", "news") == [b"unsubscribe", b"news", 2]
    assert both(subs, "PUNSUBSCRIBE") == [b"punsubscribe", b"n*", 1]
    assert both(subs, "UNSUBSCRIBE") == [b"unsubscribe", b"sport", 0]
    assert both(subs, "GET", "k") is None                   # normal mode again
    assert both(subs, "UNSUBSCRIBE") == [b"unsubscribe", None, 0]
    assert both(pubs, "PUBSUB", "NUMPAT") == 0


def test_binary_channels_and_messages(servers):
    subs = raw_pair(servers)
    pubs = raw_pair(servers)
    both(subs, "SUBSCRIBE", b"c\x00h")
    assert both(pubs, "PUBLISH", b"c\x00h", b"\r\n\x00\xff") == 1
    assert read_both(subs) == [b"message", b"c\x00h", b"\r\n\x00\xff"]


def test_redis_py_pubsub(servers):
    srv, _ = servers
    r = srv.client()
    p = r.pubsub()
    p.subscribe("a")
    p.psubscribe("b.*")
    for _ in range(2):
        assert p.get_message(timeout=5)["type"] in ("subscribe", "psubscribe")
    assert r.publish("a", "1") == 1
    assert r.publish("b.x", "2") == 1
    m1, m2 = p.get_message(timeout=5), p.get_message(timeout=5)
    assert (m1["type"], m1["channel"], m1["data"]) == ("message", "a", "1")
    assert (m2["type"], m2["pattern"], m2["channel"], m2["data"]) == ("pmessage", "b.*", "b.x", "2")
    p.close()
    deadline = time.time() + 5 * SLOW       # the disconnect drops the subscriptions
    while r.pubsub_numsub("a") != [("a", 0)] and time.time() < deadline:
        time.sleep(0.02)
    assert r.pubsub_numsub("a") == [("a", 0)]
    assert r.publish("a", "nobody") == 0


def test_resp3_push_and_normal_commands_while_subscribed(servers):
    srv, _ = servers
    c = srv.raw()
    assert isinstance(c.cmd("HELLO", "3"), dict)
    c.send(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
    assert c.read_line() == b">3"                 # a push, not an array
    assert c.read_reply() == b"subscribe" and c.read_reply() == b"ch" and c.read_reply() == 1
    assert c.cmd("SET", "k", "v") == "OK"         # RESP3: no subscribed mode
    pub = srv.client()
    assert pub.publish("ch", "m") == 1
    c.send(b"*1\r\n$4\r\nPING\r\n")
    assert c.read_line() == b">3"
    assert [c.read_reply() for _ in range(3)] == [b"message", b"ch", b"m"]
    assert c.read_reply() == "PONG"


def test_reset_leaves_channels(servers):
    srv, _ = servers
    c = srv.raw()
    c.cmd("SUBSCRIBE", "r1")
    assert c.cmd("RESET") == "RESET"
    assert srv.client().pubsub_numsub("r1") == [("r1", 0)]
    assert c.cmd("GET", "nokey") is None


def test_slow_subscriber_is_disconnected_at_the_pubsub_limit():
    with start_server(client_output_buffer_limit="pubsub 1mb 0 0") as srv:
        slow = srv.raw()
        slow.cmd("SUBSCRIBE", "firehose")        # ... and never reads again
        pub = srv.client()
        payload = "x" * 16384
        receivers = [pub.publish("firehose", payload) for _ in range(2000)]   # 32 MB
        assert receivers[0] == 1 and receivers[-1] == 0
        assert "overcoming of output buffer limits" in srv.log()
        assert pub.pubsub_numsub("firehose") == [("firehose", 0)]
        assert pub.ping()
