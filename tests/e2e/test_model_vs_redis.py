"""The unit model tests' model, checked against a real redis-server.

unit_model_hash / _list / _set / _zset compare chalk-server's command code
with a small model written in C (tests/unit/helpers/kvmodel.c). If the
model were wrong in the same way as the server, they would pass. So here
each binary runs with CHALK_MODEL_TRACE set: its random sequence records
every command it compared and the reply the model expected (the format is
at the top of tests/unit/helpers/modelfix.h). The records are replayed on
Debian's redis-server and every reply must be the model's, byte for byte
(sorted first where Redis leaves the order open).

The one difference allowed: ZRANK / ZREVRANK ... WITHSCORE is Redis 7.2's,
and a 7.0 peer answers it with an arity error; on a 7.2 peer it must agree
too. This test found that ZUNIONSTORE / ZINTERSTORE summed their inputs in
argument order (Redis: smallest first, which decides inf + inf - inf).
"""
import os
import socket
import subprocess
import tempfile

import pytest

from redis_peer import RedisPeer

FAMILIES = ["hash", "list", "set", "zset"]


def bin_path(name):
    here = os.path.dirname(os.path.abspath(__file__))
    bindir = os.environ.get("CHALK_BIN_DIR") or os.path.join(here, "..", "..", "build", "bin")
    return os.path.join(bindir, name)


def read_trace(path):
    """Yield None for a new sequence, else (args, unordered, expected reply)."""
    data = open(path, "rb").read()
    pos = 0

    def line():
        nonlocal pos
        end = data.index(b"\n", pos)
        out, pos = data[pos:end], end + 1
        return out

    def blob():
        nonlocal pos
        n = int(line())
        out, pos = data[pos:pos + n], pos + n + 1
        return out

    while pos < len(data):
        head = line()
        if head == b"T":
            yield None
            continue
        _, argc, unordered = head.split()
        args = [blob() for _ in range(int(argc))]
        yield args, int(unordered), blob()


class Conn:
    """A raw RESP2 connection: replies as bytes, exactly as sent."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.rf = self.sock.makefile("rb")

    def value(self):
        line = self.rf.readline()
        kind = line[:1]
        if kind in b"+-:":
            return line
        n = int(line[1:-2])
        if kind == b"$":
            return line if n < 0 else line + self.rf.read(n + 2)
        return line + b"".join(self.value() for _ in range(max(n, 0)))

    def run(self, args):
        self.sock.sendall(b"*%d\r\n" % len(args) +
                          b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        return self.value()


def value_len(b, off):
    end = b.index(b"\r\n", off) + 2
    kind = b[off:off + 1]
    if kind in b"+-:":
        return end - off
    n = int(b[off + 1:end - 2])
    if kind == b"$":
        return end - off + (n + 2 if n >= 0 else 0)
    o = end
    for _ in range(max(n, 0)):
        o += value_len(b, o)
    return o - off


def sorted_reply(b, group):
    """cx_sorted's canonical form: array elements sorted in groups."""
    if not b.startswith(b"*") or b.startswith(b"*-"):
        return b
    end = b.index(b"\r\n") + 2
    items, o = [], end
    for _ in range(int(b[1:end - 2]) // group):
        start = o
        for _ in range(group):
            o += value_len(b, o)
        items.append(b[start:o])
    return b[:end] + b"".join(sorted(items))


@pytest.mark.parametrize("family", FAMILIES)
def test_model_replies_are_redis_replies(family):
    exe = bin_path("unit_model_" + family)
    if not os.path.exists(exe):
        pytest.skip(exe + " not built")
    with tempfile.TemporaryDirectory(prefix="chalk-model-trace-") as tmp:
        trace = os.path.join(tmp, "trace")
        env = dict(os.environ, CHALK_MODEL_TRACE=trace)
        subprocess.run([exe], env=env, check=True, stdout=subprocess.DEVNULL, timeout=600)
        with RedisPeer() as peer:
            conn = Conn(peer.unix_path)
            info = conn.run([b"INFO", b"server"])
            is_72 = b"redis_version:7.2" in info or b"redis_version:8" in info
            commands, differences = 0, []
            for rec in read_trace(trace):
                if rec is None:
                    assert conn.run([b"FLUSHALL"]) == b"+OK\r\n"
                    continue
                args, unordered, want = rec
                got = conn.run(args)
                commands += 1
                if unordered:
                    got, want = sorted_reply(got, unordered), sorted_reply(want, unordered)
                if got == want:
                    continue
                if not is_72 and args[-1].upper() == b"WITHSCORE" and got.startswith(b"-ERR wrong number"):
                    continue
                differences.append((args, want, got))
    assert commands > 3000, f"only {commands} commands traced"
    assert not differences, "model and redis-server differ:\n" + "\n".join(
        f"  {a!r}\n    model {w!r}\n    redis {g!r}" for a, w, g in differences[:10])
