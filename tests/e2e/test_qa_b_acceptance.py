"""test_qa_b_acceptance.py — requirements of issues 6 and 8 that no other test
covered, found by the acceptance audit (qa-b).

1. Issue 6, "blocked clients are served ... from a replica's stream": a
   client blocked in BLPOP / BZPOPMIN on a follower (replica-read-only no,
   as Redis needs for a blocking pop on a replica) is served when the
   leader's push reaches the follower through replication, and the pop is
   the follower's own (the leader keeps its element).
2. Issue 8, "redis-cli's flags ... so that habits carry over": `-n` with a
   database the server refuses prints redis-cli's warning ("SELECT 99
   failed: ...") and runs the command in db 0, against chalk-server and
   redis-server alike.
"""
import os
import random
import subprocess
import time

import pytest

from chalk_harness import SLOW, start_server
from redis_peer import RedisPeer

BIN = os.environ.get("CHALK_BIN_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")
CHALK_CLI = os.path.join(BIN, "chalk-cli")


def blocked_on(r, cid, cmd):
    """Wait until client cid is blocked in cmd (CLIENT LIST's cmd field)."""
    deadline = time.time() + 10 * SLOW
    while time.time() < deadline:
        if any(int(c["id"]) == cid and c.get("cmd") == cmd for c in r.client_list()):
            return
        time.sleep(0.01)
    raise AssertionError(f"client {cid} never blocked in {cmd}")


@pytest.mark.parametrize("cmd,push,want", [
    (("BLPOP", "q", "0"), ("RPUSH", "q", "job1"), [b"q", b"job1"]),
    (("BZPOPMIN", "z", "0"), ("ZADD", "z", "5", "m"), [b"z", b"m", b"5"]),
])
def test_blocked_on_a_follower_is_served_by_the_stream(cmd, push, want):
    with start_server() as leader:
        with start_server(replicaof=f"127.0.0.1 {leader.port}",
                          replica_read_only=False) as follower:
            f = follower.client()
            leader.client().set("ready", "1")
            deadline = time.time() + 30 * SLOW
            while f.get("ready") is None:
                assert time.time() < deadline, "follower never synced"
                time.sleep(0.02)
            conn = follower.raw(timeout=20 * SLOW)
            cid = conn.cmd("CLIENT", "ID")
            conn.send(b"*%d\r\n" % len(cmd) +
                      b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in cmd))
            blocked_on(f, cid, cmd[0].lower())
            leader.client().execute_command(*push)
            assert conn.read_reply() == want
            conn.close()
            # the pop happened on the follower only: the leader still has it
            assert leader.client().exists(cmd[1]) == 1


def cli(binary, port, *args):
    return subprocess.run([binary, "-p", str(port)] + list(args),
                          capture_output=True, text=True, timeout=20)


def test_cli_db_out_of_range_warns_like_redis_cli():
    with RedisPeer() as peer:
        want = cli("redis-cli", peer.port, "-n", "99", "set", "x", "1")
        got = cli(CHALK_CLI, peer.port, "-n", "99", "set", "x", "1")
    assert want.stderr.startswith("SELECT 99 failed: ERR DB index is out of range")
    assert (got.stdout, got.stderr, got.returncode) == \
        (want.stdout, want.stderr, want.returncode)
    with start_server() as srv:
        got = cli(CHALK_CLI, srv.port, "-n", "99", "set", "x", "1")
        assert got.stderr.startswith("SELECT 99 failed: ")
        assert got.stdout.strip() == "OK"
        assert srv.client(db=0).get("x") == "1"        # ran in db 0


def fsyncs(r):
    text = r.cmd("INFO", "persistence").decode()
    return int(text.split("chalk_fsyncs:")[1].split()[0])


def test_exec_reply_waits_for_its_fsync_under_always():
    """Issue 5: "With appendfsync always, EXEC's reply is sent only after the
    batch is durable". A SIGKILL cannot show it (the kernel keeps what
    write() got), so a second client reads the engine's fsync counter right
    after each EXEC reply: it must already have moved (test_fsync_switch.py
    does the same for single writes)."""
    with start_server(appendfsync="always") as srv:
        a, b = srv.raw(), srv.raw()
        for i in range(30):
            before = fsyncs(b)
            assert a.cmd("MULTI") == "OK"
            assert a.cmd("SET", f"k{i}", "v") == "QUEUED"
            assert a.cmd("HSET", f"h{i}", "f", "v") == "QUEUED"
            assert a.cmd("EXEC") == ["OK", 1]
            assert fsyncs(b) > before, f"EXEC {i} answered before any fsync"


def compactions(c):
    p = c.info("persistence")
    return int(p["chalk_compactions"]), int(p["chalk_compaction_bytes_written"])


@pytest.mark.parametrize("seed", [7, 2027])
def test_type_mix_survives_real_compaction_then_reopen(seed):
    """Issue 6: "the property test survives reopen and compaction".
    test_types_model.py's BGREWRITEAOF runs with the default 64 MB segment:
    its few KB never leave the active segment, so nothing is compacted
    (chalk_compactions stays 0). Here segments are 4 KiB: every round seals
    several, BGREWRITEAOF must really compact (the counter moves), and the
    data set read back after the compaction AND after a restart on the
    compacted segments and their hint files equals redis-server's."""
    from test_types_model import call, dump, rnd_cmd
    import redis
    rnd = random.Random(seed)
    with start_server(chalk_segment_size="4096") as srv, RedisPeer() as peer:
        b = redis.Redis(port=peer.port)
        for round_ in range(4):
            a = srv.client(decode_responses=False)
            for _ in range(400):
                cmd = rnd_cmd(rnd)
                assert call(a, cmd) == call(b, cmd), cmd
                if cmd[0] == "PEXPIRE":
                    time.sleep(0.005)
            want = dump(b)
            # 4 KiB segments also start compactions on their own: ask until
            # ours is accepted, then wait until no compaction is running.
            deadline = time.time() + 20 * SLOW
            before = compactions(a)
            while True:
                try:
                    assert a.bgrewriteaof()
                    break
                except redis.ResponseError as e:
                    assert "in progress" in str(e) and time.time() < deadline, e
                    time.sleep(0.02)
            while (compactions(a)[0] == before[0] or
                   a.info("persistence")["aof_rewrite_in_progress"]):
                assert time.time() < deadline, "BGREWRITEAOF compacted nothing"
                time.sleep(0.02)
            assert compactions(a)[1] > before[1]      # live records were rewritten
            assert dump(a) == want, f"round {round_}, after compaction"
            srv.restart()
            assert dump(srv.client(decode_responses=False)) == want, \
                f"round {round_}, after reopening the compacted segments"


def test_cli_user_flag_like_redis_cli():
    """Issue 8 lists --user among redis-cli's flags; no other test used it."""
    with RedisPeer() as peer:
        subprocess.run(["redis-cli", "-p", str(peer.port), "ACL", "SETUSER", "bob",
                        "on", ">pw", "+@all", "~*"], check=True, capture_output=True)
        for pw in ("pw", "bad"):
            args = ["--user", "bob", "-a", pw, "--no-raw", "ACL", "WHOAMI"]
            want = cli("redis-cli", peer.port, *args)
            got = cli(CHALK_CLI, peer.port, *args)
            assert (got.stdout, got.stderr) == (want.stdout, want.stderr)
        assert got.stdout.strip() == '"default"' and "AUTH failed" in got.stderr
        assert want.stdout.strip() == '"default"'
        got = cli(CHALK_CLI, peer.port, "--user", "bob", "-a", "pw", "ACL", "WHOAMI")
        assert got.stdout.strip() == "bob"
