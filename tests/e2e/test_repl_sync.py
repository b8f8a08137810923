"""Replication, part 1: full sync, the stream, read-only followers.

Real chalk-server processes on loopback: a leader, a follower started with
--replicaof. Every wait is a poll with a deadline (no sleeps that hide
races). What each test proves is in its docstring.
"""
import subprocess
import threading
import time

import redis

from chalk_harness import SLOW, start_server


def wait_until(pred, timeout=20.0, what="condition"):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def info(srv):
    return srv.client().info("replication")


def in_sync(leader, follower):
    """The follower's link is up and it applied everything the leader sent."""
    fi = info(follower)
    return (fi.get("master_link_status") == "up"
            and fi["slave_repl_offset"] == info(leader)["master_repl_offset"])


def follower_of(leader, **config):
    return start_server(replicaof=f"127.0.0.1 {leader.port}", **config)


def fill_all_types(r, n, tag=""):
    p = r.pipeline(transaction=False)
    for i in range(n):
        kind = i % 6
        if kind == 0:
            p.set(f"s{tag}:{i}", f"v{i}")
        elif kind == 1:
            p.hset(f"h{tag}:{i}", mapping={"a": i, "b": f"x{i}"})
        elif kind == 2:
            p.rpush(f"l{tag}:{i}", "a", "b", i)
        elif kind == 3:
            p.sadd(f"t{tag}:{i}", "m1", "m2", i)
        elif kind == 4:
            p.zadd(f"z{tag}:{i}", {"a": 1.5, "b": i})
        else:
            p.set(f"e{tag}:{i}", i, ex=3600)
        if i % 1000 == 999:
            p.execute()
    p.execute()


def test_full_sync_of_all_types_while_writes_continue():
    """A follower that joins a leader holding many keys of every type, while
    a client keeps writing, ends with exactly the leader's data (DEBUG
    DIGEST covers every engine record, value and expiry)."""
    with start_server() as leader:
        r = leader.client()
        fill_all_types(r, 100000)   # the issue: 100k keys of all types
        stop = threading.Event()

        def writer():
            w = leader.client()
            i = 0
            while not stop.is_set():
                w.incr("counter")
                w.hset("live", f"f{i % 50}", i)
                w.lpush("events", i)
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        try:
            with follower_of(leader) as f:
                wait_until(lambda: info(f).get("master_link_status") == "up", what="link up")
                fill_all_types(r, 3000, tag="after")   # more, after the snapshot point
                stop.set()
                t.join()
                wait_until(lambda: in_sync(leader, f), what="follower caught up")
                assert f.client().execute_command("DEBUG", "DIGEST") == \
                    r.execute_command("DEBUG", "DIGEST")
                assert f.client().dbsize() == r.dbsize() > 103000
                assert f.client().get("counter") == r.get("counter")
                assert info(leader)["sync_full"] == 1
        finally:
            stop.set()
            t.join()


def test_follower_refuses_writes_and_serves_reads():
    with start_server() as leader, follower_of(leader) as f:
        wait_until(lambda: in_sync(leader, f), what="sync")
        leader.client().set("k", "v")
        wait_until(lambda: f.client().get("k") == "v", what="k replicated")
        c = f.client()
        for cmd in (("SET", "k", "x"), ("DEL", "k"), ("HSET", "h", "a", "b"), ("INCR", "n")):
            try:
                c.execute_command(*cmd)
                raise AssertionError(f"{cmd} accepted by a follower")
            except redis.exceptions.ReadOnlyError as e:
                assert "You can't write against a read only replica." in str(e)
        assert c.get("k") == "v"
        assert c.config_get("replicaof") == {"replicaof": f"127.0.0.1 {leader.port}"}  # not a write
        assert c.execute_command("ROLE")[0] == "slave"
        fi = info(f)
        assert fi["role"] == "slave" and fi["master_port"] == leader.port
        assert fi["master_sync_in_progress"] == 0 and fi["master_last_io_seconds_ago"] >= 0
        li = info(leader)
        assert li["connected_slaves"] == 1 and li["slave0"]["state"] == "online"
        assert li["slave0"]["port"] == f.port
        assert leader.client().execute_command("ROLE")[0] == "master"


def test_exec_arrives_whole():
    """A reader polling the follower never sees half of a transaction: the
    leader's EXEC travels as one CHALK.APPLY, applied as one engine batch."""
    with start_server() as leader, follower_of(leader) as f:
        wait_until(lambda: in_sync(leader, f), what="sync")
        r = leader.client()
        fr = f.client()
        seen_bad = []
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                a, b = fr.mget("a", "b")
                if a != b:
                    seen_bad.append((a, b))

        t = threading.Thread(target=reader)
        t.start()
        for i in range(400):
            p = r.pipeline(transaction=True)
            p.set("a", i)
            p.set("b", i)
            p.execute()
        wait_until(lambda: in_sync(leader, f), what="caught up")
        stop.set()
        t.join()
        assert not seen_bad, seen_bad[:5]
        assert fr.mget("a", "b") == ["399", "399"]


def test_exec_is_one_unit_in_the_stream():
    """What a replica receives for a MULTI/EXEC is ONE CHALK.APPLY holding
    every op of the transaction, in order (read from a raw SYNC)."""
    with start_server() as leader:
        raw = leader.raw()
        raw.send(b"SYNC\r\n")
        line = raw.read_line()
        assert line.startswith(b"$EOF:") and len(line) == 45, line
        mark = line[5:]
        while mark not in raw.buf:
            raw._fill()
        raw.buf = raw.buf[raw.buf.index(mark) + 40:]
        p = leader.client().pipeline(transaction=True)
        p.set("a", 1)
        p.incr("a")
        p.hset("h", "f", "v")
        p.delete("gone")
        p.execute()
        leader.client().set("next", "unit")
        unit = raw.read_reply()
        while unit == [b"PING"]:
            unit = raw.read_reply()
        assert unit[0] == b"CHALK.APPLY"
        assert unit[1:5] == [b"P", b"\x00ka", b"\x001", b"0"]
        assert unit[5:9] == [b"P", b"\x00ka", b"\x002", b"0"]
        assert b"\x00khnext" not in unit and b"\x00knext" not in unit
        assert [x for x in unit[9:] if x in (b"P", b"D")] == [b"P", b"P"]   # hash field + meta
        nxt = raw.read_reply()
        assert nxt[0] == b"CHALK.APPLY" and nxt[2] == b"\x00knext"


def test_expiry_is_driven_by_the_leader():
    """A follower hides an expired key on read but does not delete it on its
    own clock; the leader's delete arrives through the stream."""
    with start_server() as leader, follower_of(leader) as f:
        wait_until(lambda: in_sync(leader, f), what="sync")
        r = leader.client()
        r.set("gone", "x", px=300)
        r.set("stays", "y")
        wait_until(lambda: f.client().get("gone") == "x", what="gone replicated")
        wait_until(lambda: f.client().get("gone") is None, what="hidden after expiry")
        wait_until(lambda: r.exists("gone") == 0 and in_sync(leader, f), what="leader expired it")
        assert f.client().info("stats")["expired_keys"] == 0     # never on its own clock
        assert f.client().execute_command("DEBUG", "DIGEST") == r.execute_command("DEBUG", "DIGEST")


def test_redis_cli_replica_prints_the_stream():
    """`redis-cli --replica` (Redis 7's own tool) performs SYNC, skips our
    EOF-framed payload and prints every CHALK.APPLY of the stream."""
    with start_server() as leader:
        r = leader.client()
        r.set("before", "1")
        proc = subprocess.Popen(["stdbuf", "-o0", "redis-cli", "-p", str(leader.port), "--replica"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            lines = []

            def read_until(word):
                for line in proc.stdout:
                    lines.append(line)
                    if word in line:
                        return
                raise AssertionError(f"redis-cli ended before {word!r}: {lines}")

            read_until("Logging commands from master")
            read_until("REPLCONF ACK 0")
            # redis-cli reads one "reply" to its REPLCONF ACK, which a leader
            # never sends: it swallows the first command of the stream (the
            # same happens against redis-server). Give it one to swallow.
            r.set("swallowed", "x")
            r.set("hello", "world")
            read_until("hello")
            assert '"CHALK.APPLY","P","\\x00khello","\\x00world","0"' in lines[-1]
        finally:
            proc.kill()
            proc.wait()
        assert leader.client().get("before") == "1"


def test_not_a_leader_is_a_clear_error_and_a_retry():
    """A follower pointed at something that is not a Chalk leader (a TCP
    listener that answers with HTTP) logs why and keeps retrying, serving
    its old data meanwhile."""
    import socket
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    port = ls.getsockname()[1]
    stop = threading.Event()

    def nonsense():
        ls.settimeout(0.2)
        while not stop.is_set():
            try:
                s, _ = ls.accept()
            except OSError:
                continue
            s.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            s.close()

    t = threading.Thread(target=nonsense)
    t.start()
    try:
        with start_server(replicaof=f"127.0.0.1 {port}") as f:
            wait_until(lambda: f.log().count("MASTER <-> REPLICA sync failed") >= 2, what="retries")
            assert "not a Chalk/Redis leader" in f.log()
            assert info(f)["master_link_status"] == "down"
            assert f.client().ping()
    finally:
        stop.set()
        t.join()
        ls.close()


def test_masterauth_and_a_writable_replica():
    """A leader with a password is followed with masterauth (AUTH in the
    handshake); without it the follower logs the refusal and retries. With
    replica-read-only no, a follower's own writes stay local."""
    with start_server(requirepass="s3cret") as leader:
        r = leader.client(password="s3cret")
        r.set("k", "v")
        with follower_of(leader) as bad:
            wait_until(lambda: "NOAUTH" in bad.log() or "PSYNC refused" in bad.log(),
                       what="refusal logged")
            assert info(bad)["master_link_status"] == "down"
        with follower_of(leader, masterauth="s3cret", replica_read_only=False) as f:
            wait_until(lambda: info(f).get("master_link_status") == "up", what="link up")
            wait_until(lambda: f.client().get("k") == "v", what="data")
            f.client().set("local", "only")
            assert f.client().get("local") == "only"
            assert r.get("local") is None
