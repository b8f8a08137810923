"""Group commit pacing under appendfsync always (server/group_commit.c).

INFO persistence reports chalk_group_commits (completions that released
held replies), chalk_group_commit_writes (replies released), their ratio
chalk_writes_per_fsync, and chalk_group_commit_waits (loop turns a flush was
put off to let released clients write again). These tests check the
counters are true and the pacing rules that do not depend on timing: a lone
client never waits, and concurrent writers share fsyncs.
"""

import socket

from chalk_harness import start_server


def persistence(c):
    text = c.cmd("INFO", "persistence").decode()
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def test_lone_client_one_write_per_fsync_never_waits():
    with start_server(appendfsync="always") as srv:
        a, b = srv.raw(), srv.raw()
        assert b.cmd("CONFIG", "RESETSTAT") == "OK"
        for i in range(40):
            assert a.cmd("SET", f"k{i}", "v") == "OK"
        p = persistence(b)
        assert int(p["chalk_group_commit_writes"]) == 40
        assert int(p["chalk_group_commits"]) == 40
        assert p["chalk_writes_per_fsync"] == "1.00"
        # its next write is the whole expected cycle: issued at once
        assert int(p["chalk_group_commit_waits"]) == 0
        assert b.cmd("CONFIG", "RESETSTAT") == "OK"
        assert int(persistence(b)["chalk_group_commits"]) == 0


def test_concurrent_writers_share_fsyncs():
    """20 connections each keep one SET in flight, 15 rounds: every reply is
    released by a completion (writes == 300), and fsyncs are shared (the
    ratio is above 1; without group commit it would be exactly 1)."""
    with start_server(appendfsync="always") as srv:
        conns = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(20)]
        info = srv.raw()
        assert info.cmd("CONFIG", "RESETSTAT") == "OK"
        for r in range(15):
            for i, s in enumerate(conns):
                s.sendall(f"SET c{i} {r}\r\n".encode())
            for s in conns:
                buf = b""
                while not buf.endswith(b"\r\n"):
                    chunk = s.recv(64)
                    assert chunk, "server closed the connection"
                    buf += chunk
                assert buf == b"+OK\r\n"
        p = persistence(info)
        assert int(p["chalk_group_commit_writes"]) == 300
        assert int(p["chalk_group_commits"]) < 300
        assert float(p["chalk_writes_per_fsync"]) > 1.0
        for s in conns:
            s.close()
        assert srv.client().get("c7") == "14"
