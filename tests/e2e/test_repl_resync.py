"""Replication, part 2: partial resync from the backlog, and full resync
when the backlog no longer covers the gap.

A follower remembers (replid, offset) in <dir>/repl-state, written only
after the data up to that offset is in the log; after SIGKILL it asks to
continue from there. Waits are polls with deadlines.
"""
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


def info(srv):
    return srv.client().info("replication")


def in_sync(leader, follower):
    fi = info(follower)
    return (fi.get("master_link_status") == "up"
            and fi["slave_repl_offset"] == info(leader)["master_repl_offset"])


def same_data(leader, follower):
    d = "DEBUG", "DIGEST"
    return leader.client().execute_command(*d) == follower.client().execute_command(*d)


class Writer:
    """A client writing to the leader in the background until stopped."""

    def __init__(self, leader):
        self.leader = leader
        self.stop = threading.Event()
        self.n = 0
        self.t = threading.Thread(target=self.run)

    def run(self):
        r = self.leader.client()
        while not self.stop.is_set():
            r.set(f"k{self.n % 500}", self.n)
            r.hincrby("h", f"f{self.n % 20}", 1)
            self.n += 1

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join()


def test_sigkill_follower_then_partial_resync():
    # The backlog must cover every write made while the follower is down,
    # however slow its restart (an ASan build on a loaded machine): 64 MB.
    with start_server(repl_backlog_size="64mb") as leader, start_server(replicaof=f"127.0.0.1 {leader.port}") as f:
        wait_until(lambda: in_sync(leader, f), what="first sync")
        with Writer(leader) as w:
            wait_until(lambda: w.n > 300, what="writes")
            # repl-state is written once a second, behind the log: wait for it
            wait_until(lambda: _state_offset(f) > 0, what="repl-state written")
            f.kill()
            n_at_kill = w.n
            wait_until(lambda: w.n > n_at_kill + 200, what="writes while the follower is down")
            f.start()
            wait_until(lambda: info(f).get("master_link_status") == "up", what="link up again")
        wait_until(lambda: in_sync(leader, f), what="caught up")
        li = info(leader)
        assert li["sync_partial_ok"] == 1, li
        assert li["sync_full"] == 1, li
        assert li["last_psync_decision"].startswith("partial"), li
        assert "Partial Resynchronization" in f.log()
        assert same_data(leader, f)


def _state_offset(srv):
    try:
        with open(f"{srv.data_dir}/repl-state") as fh:
            return int(fh.read().split()[3])
    except (OSError, IndexError, ValueError):
        return 0


def test_sigkill_follower_then_full_resync_when_backlog_is_passed():
    with start_server(repl_backlog_size="16kb") as leader, \
            start_server(replicaof=f"127.0.0.1 {leader.port}") as f:
        wait_until(lambda: in_sync(leader, f), what="first sync")
        leader.client().set("x", "1")
        wait_until(lambda: in_sync(leader, f) and _state_offset(f) > 0, what="repl-state")
        f.kill()
        r = leader.client()
        for i in range(200):                      # ~40 KB of stream > 16 KB backlog
            r.set(f"big{i}", "v" * 150)
        f.start()
        wait_until(lambda: in_sync(leader, f), what="caught up")
        li = info(leader)
        assert li["sync_full"] == 2 and li["sync_partial_ok"] == 0, li
        assert "outside the backlog window" in li["last_psync_decision"], li
        assert same_data(leader, f)
        assert f.client().get("big199") == "v" * 150


def test_client_kill_master_reconnects_with_partial_resync():
    with start_server(repl_backlog_size="64mb") as leader, start_server(replicaof=f"127.0.0.1 {leader.port}") as f:
        wait_until(lambda: in_sync(leader, f), what="first sync")
        with Writer(leader) as w:
            wait_until(lambda: w.n > 100, what="writes")
            assert f.client().execute_command("CLIENT", "KILL", "TYPE", "master") == 1
            wait_until(lambda: info(leader)["sync_partial_ok"] >= 1, what="partial resync")
            n = w.n
            wait_until(lambda: w.n > n + 100, what="more writes")
            # and from the other side: the leader drops its replica (the
            # link killed above may not be reaped yet: then it counts too)
            assert leader.client().execute_command("CLIENT", "KILL", "TYPE", "replica") >= 1
            wait_until(lambda: info(leader)["sync_partial_ok"] >= 2, what="second partial resync")
        wait_until(lambda: in_sync(leader, f), what="caught up")
        assert info(leader)["sync_full"] == 1
        assert same_data(leader, f)


def test_follower_of_a_dead_leader_retries_with_backoff():
    """The leader goes away: the follower reports the link down, keeps
    serving its data, retries, and resyncs partially once it is back."""
    with start_server() as leader, start_server(replicaof=f"127.0.0.1 {leader.port}") as f:
        wait_until(lambda: in_sync(leader, f), what="first sync")
        leader.client().set("k", "v")
        wait_until(lambda: in_sync(leader, f), what="k")
        leader.stop()
        wait_until(lambda: info(f)["master_link_status"] == "down", what="link down")
        wait_until(lambda: f.log().count("MASTER <-> REPLICA sync failed") >= 2, what="retries")
        assert f.client().get("k") == "v"
        assert info(f)["master_link_down_since_seconds"] >= 0
