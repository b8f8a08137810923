"""Replication, part 4: a bad leader never leaves a follower with half a
data set.

A fake leader (a Python socket server speaking just enough of the
handshake) sends a snapshot whose checksum is wrong, or dies in the middle
of one. The follower must log why, retry, and keep serving its old data
untouched. Waits are polls with deadlines.
"""
import socket
import struct
import threading
import time

from chalk_harness import SLOW, start_server


def wait_until(pred, timeout=20.0, what="condition"):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def read_command(f):
    """One RESP multibulk request from file f, as a list of str."""
    line = f.readline()
    if not line:
        return None
    assert line.startswith(b"*"), line
    args = []
    for _ in range(int(line[1:])):
        n = int(f.readline()[1:])
        args.append(f.read(n + 2)[:-2].decode())
    return args


def payload(records, bad_checksum):
    out = b"CHALKSYN" + struct.pack("<I", 1)
    for k, v in records:
        out += b"R" + struct.pack("<IIq", len(k), len(v), 0) + k + v
    out += b"E" + struct.pack("<Q", len(records))
    out += struct.pack("<Q", 12345 if bad_checksum else 0)   # never the real XXH64
    return out


class FakeLeader:
    """Answers the handshake, then sends a corrupted snapshot (mode
    'checksum') or half of one before closing (mode 'truncated')."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.syncs = 0
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self.serve(conn)
                except (OSError, AssertionError):
                    pass

    def serve(self, conn):
        f = conn.makefile("rb")
        while True:
            cmd = read_command(f)
            if cmd is None:
                return
            name = cmd[0].upper()
            if name == "PING":
                conn.sendall(b"+PONG\r\n")
            elif name == "REPLCONF":
                conn.sendall(b"+OK\r\n")
            elif name == "PSYNC":
                self.syncs += 1
                mark = b"m" * 40
                body = payload([(b"\x00kbad", b"\x00half")] * 50, bad_checksum=True)
                if self.mode == "truncated":
                    body = body[: len(body) // 2]
                conn.sendall(b"+FULLRESYNC " + b"f" * 40 + b" 100\r\n$EOF:" + mark + b"\r\n" + body)
                if self.mode == "checksum":
                    conn.sendall(mark)
                return                                    # close: the follower retries

    def close(self):
        self.stop.set()
        self.t.join()
        self.sock.close()


def check_follower_survives(mode, expected_log):
    fake = FakeLeader(mode)
    try:
        with start_server() as f:
            c = f.client()
            c.set("mine", "kept")
            c.execute_command("REPLICAOF", "127.0.0.1", fake.port)
            wait_until(lambda: fake.syncs >= 2, what="two attempts")
            wait_until(lambda: f.log().count(expected_log) >= 2, what=expected_log)
            info = c.info("replication")
            assert info["master_link_status"] == "down"
            assert c.get("mine") == "kept"                # old data untouched
            assert c.exists("bad") == 0                   # nothing of the bad payload
            c.execute_command("REPLICAOF", "NO", "ONE")
            assert c.get("mine") == "kept"
    finally:
        fake.close()


def test_corrupted_snapshot_is_refused_and_retried():
    check_follower_survives("checksum", "record count or checksum does not match")


def test_leader_dying_mid_snapshot_is_a_retry():
    check_follower_survives("truncated", "mid-snapshot")


def test_debug_reload_during_a_full_sync():
    """DEBUG RELOAD closes the engine while a replica's full sync holds an
    engine snapshot: the replica is dropped first (its snapshot released),
    and a follower that syncs afterwards ends with the leader's data.

    The replica in the middle of its full sync is a raw socket that asks for
    one (REPLCONF, PSYNC) and then never reads: the leader cannot finish
    sending ~60 MB into it, so "a full sync in progress" is a state the test
    holds, not a moment it has to catch (a real follower on an idle machine
    finishes before a poll sees it)."""
    with start_server() as leader:
        r = leader.client()
        p = r.pipeline(transaction=False)
        for i in range(3000):                     # ~60 MB: more than socket buffers hold
            p.set(f"k{i}", "x" * 20000)
        p.execute()
        stuck = leader.raw()
        stuck.send(b"*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n9999\r\n")
        assert stuck.read_line() == b"+OK"
        stuck.send(b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
        assert stuck.read_line().startswith(b"+FULLRESYNC")
        wait_until(lambda: r.info("replication").get("slave0", {}).get("state") == "send_bulk",
                   timeout=30, what="a full sync in progress")
        assert r.execute_command("DEBUG", "RELOAD") == "OK"
        assert "the engine is being reopened during its full sync" in leader.log()
        wait_until(lambda: r.info("replication")["connected_slaves"] == 0, what="the replica dropped")
        with start_server(replicaof=f"127.0.0.1 {leader.port}") as f:
            wait_until(lambda: f.client().info("replication")["master_link_status"] == "up" and
                       f.client().info("replication")["slave_repl_offset"] ==
                       r.info("replication")["master_repl_offset"], timeout=60, what="resynced")
            assert r.info("replication")["sync_full"] >= 2
            assert f.client().execute_command("DEBUG", "DIGEST") == r.execute_command("DEBUG", "DIGEST")
