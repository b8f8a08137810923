"""differential.py — run the same commands on chalk-server and on Debian's
redis-server, and compare the replies.

What it does: the scaffolding of Chalk's differential tests, written once.
The idea: the strongest evidence of "what Redis does" is Redis, so a test
sends each command to both servers and asserts the replies are equal.
Two levels of comparison, pick the one a test needs:

  redis-py level (`pair`, `same`)      replies as redis-py parses them with
                                       its reply conversions switched off
                                       (raw), errors compared by text; lines
                                       of an `unordered` command compare as
                                       sorted lists (Redis's hash order).
  byte level (`both`, `Both`)          the exact RESP bytes of every reply,
                                       in RESP2 and RESP3 (the fixture runs
                                       each test once per protocol).

Use from a test file by importing the fixtures into its namespace (pytest
finds fixtures there):

    from differential import pair, same, servers  # noqa: F401 (fixtures)

    def test_hash(pair):
        same(pair, "hset h a 1\\nhget h a")

    from differential import both, servers        # noqa: F401

    def test_get(both):
        both("SET", "k", "v")                      # asserts equal bytes

Left out on purpose: comparing timing or memory (that is bench/), and any
normalisation beyond sorting the replies of unordered commands and the TTL
slack of Both: a difference is a failure, and the message shows both replies.
Interview topics: none of its own; it is how the data-type and key-command
tests show "behaves as Redis 7 does".
"""
import pytest
import redis

from chalk_harness import SLOW, RawConn, start_server
from redis_peer import RedisPeer

# Hostile integer arguments: the limits of a signed 64-bit integer and just
# beyond, 2^31, and strings that are almost integers.
HOSTILE = ["-9223372036854775808", "9223372036854775807", "-1", "0", "2147483648",
           "9223372036854775808", "-9223372036854775809", "abc", "1.5", "", " 1", "+1", "01"]


@pytest.fixture(scope="module")
def servers():
    """One chalk-server and one redis-server for the whole test module."""
    with start_server() as srv, RedisPeer() as peer:
        yield srv, peer


# --- redis-py level ------------------------------------------------------

@pytest.fixture
def pair(servers):
    """redis-py clients (chalk, redis) on freshly flushed servers."""
    srv, peer = servers
    a = redis.Redis(port=srv.port)
    b = redis.Redis(port=peer.port)
    a.flushall()
    b.flushall()
    yield a, b
    a.close()
    b.close()


def run(r, args):
    try:
        return r.execute_command(*args)
    except redis.ResponseError as e:
        return "ERR " + str(e)


def raw(r):
    """The same connection pool, without redis-py's reply conversions, so
    that both servers' replies are compared as they came."""
    c = redis.Redis(connection_pool=r.connection_pool)
    c.response_callbacks = {}
    return c


def same(pair, script, unordered=()):
    """Run each line on both servers; lines whose command is in `unordered`
    compare their array replies as sorted lists."""
    a, b = raw(pair[0]), raw(pair[1])
    for line in script.strip().splitlines():
        args = line.split()
        x, y = run(a, args), run(b, args)
        if args[0].lower() in unordered and isinstance(x, list) and isinstance(y, list):
            x, y = sorted(x), sorted(y)
        assert x == y, f"{line!r}: chalk {x!r} != redis {y!r}"


# --- byte level ----------------------------------------------------------

class Tap(RawConn):
    """A RawConn that also returns the exact bytes of each reply."""

    def __init__(self, port):
        super().__init__(port, 30)
        self.got = b""
        self.used = 0

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk
        self.got += chunk

    def cmd_bytes(self, *args):
        self.cmd(*args)
        end = len(self.got) - len(self.buf)
        out, self.used = self.got[self.used:end], end
        return out


class Both:
    """One connection to chalk-server and one to redis-server, same commands."""

    def __init__(self, chalk, peer, resp=2):
        self.chalk = Tap(chalk.port)
        self.redis = Tap(peer.port)
        for conn in (self.chalk, self.redis):
            if resp == 3:
                conn.cmd_bytes("HELLO", "3")
            conn.cmd_bytes("FLUSHALL")

    # Remaining times depend on when each server ran the command: on a
    # loaded machine the two may straddle a rounding boundary.
    SLACK = {b"TTL": 1, b"PTTL": 1000}

    def __call__(self, *args):
        a = self.chalk.cmd_bytes(*args)
        b = self.redis.cmd_bytes(*args)
        slack = self.SLACK.get(str(args[0]).upper().encode())
        if slack and a[:1] == b[:1] == b":" and int(a[1:]) >= 0 and int(b[1:]) >= 0:
            assert abs(int(a[1:]) - int(b[1:])) <= slack, f"{args!r}: chalk {a!r} redis {b!r}"
            return a
        assert a == b, f"{args!r}:\n  chalk {a!r}\n  redis {b!r}"
        return a

    def run(self, script):
        for line in script:
            self(*line)

    def close(self):
        self.chalk.close()
        self.redis.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def both(servers, request):
    b = Both(*servers, resp=request.param)
    yield b
    b.close()


# --- keyspace notifications ------------------------------------------------

def keyspace_events(port, flags, pattern, sequence):
    """Run `sequence` on the server at `port` with notify-keyspace-events set
    to `flags`; return every (channel, data) received on `pattern`, in order.
    A message on a channel of its own ("end") marks the end: when it arrives,
    every notification of the sequence has arrived before it. The setting is
    switched off again before returning (servers may be shared by a module)."""
    r = redis.Redis(port=port)
    r.flushall()
    r.config_set("notify-keyspace-events", flags)
    p = r.pubsub()
    p.psubscribe(pattern)
    p.subscribe("end")
    for _ in range(2):
        assert p.get_message(timeout=5)["type"] in ("psubscribe", "subscribe")
    for cmd in sequence:
        r.execute_command(*cmd)
    r.publish("end", "end")
    out = []
    while True:
        m = p.get_message(timeout=5 * SLOW)
        assert m is not None, "notifications stopped early"
        if m["channel"] == b"end":
            break
        out.append((m["channel"], m["data"]))
    p.close()
    r.config_set("notify-keyspace-events", "")
    return out
