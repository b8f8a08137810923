"""Replication, part 3: WAIT, failover (REPLICAOF NO ONE), PSYNC2 and
chained replicas.

Waits are polls with deadlines; a WAIT timeout is an upper bound the test
never relies on for its answer.
"""
import os
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
    fi = info(follower)
    return (fi.get("master_link_status") == "up"
            and fi["slave_repl_offset"] == info(leader)["master_repl_offset"])


def digest(srv):
    return srv.client().execute_command("DEBUG", "DIGEST")


def follower_of(leader):
    return start_server(replicaof=f"127.0.0.1 {leader.port}")


def test_wait_counts_acknowledging_replicas():
    with start_server() as leader:
        r = leader.client()
        r.set("a", "1")
        assert r.execute_command("WAIT", 0, 0) == 0
        assert r.execute_command("WAIT", 1, 100) == 0      # nobody to ack: the timeout ends it
        with follower_of(leader) as f1, follower_of(leader) as f2:
            wait_until(lambda: in_sync(leader, f1) and in_sync(leader, f2), what="sync")
            r.set("b", "2")
            assert r.execute_command("WAIT", 2, 0) == 2      # 0 = wait as long as needed
            assert f1.client().get("b") == "2" and f2.client().get("b") == "2"
            assert r.execute_command("WAIT", 1, 0) >= 1
            try:
                f1.client().execute_command("WAIT", 1, 0)
                raise AssertionError("WAIT accepted on a replica")
            except redis.exceptions.ResponseError as e:
                assert "replica" in str(e)


def test_write_acknowledged_by_wait_survives_leader_death_and_promotion():
    with start_server() as leader, follower_of(leader) as f:
        wait_until(lambda: in_sync(leader, f), what="sync")
        r = leader.client()
        for i in range(200):
            r.set(f"k{i}", i)
        r.set("precious", "yes")
        assert r.execute_command("WAIT", 1, 0) == 1
        leader.kill()                                    # SIGKILL, no goodbye
        fc = f.client()
        assert fc.execute_command("REPLICAOF", "NO", "ONE") == "OK"
        assert fc.execute_command("ROLE")[0] == "master"
        assert fc.get("precious") == "yes" and fc.get("k199") == "199"
        fc.set("after", "promotion")                     # writable now
        assert fc.get("after") == "promotion"
        # its data has left the old history: no position may be claimed
        # after a restart (repl-state is a follower's only)
        assert not os.path.exists(os.path.join(f.data_dir, "repl-state"))


def test_promoted_follower_serves_its_old_peer_a_partial_resync():
    """PSYNC2: after REPLICAOF NO ONE the new leader keeps the old history
    as replid2, so the other follower continues instead of a full sync.
    No periodic PING on the leader: one that reached b but not c before the
    leader died would (rightly) make c's offset unreachable from b."""
    with start_server(repl_ping_replica_period=3600) as leader, \
            follower_of(leader) as b, follower_of(leader) as c:
        r = leader.client()
        for i in range(300):
            r.hset("h", f"f{i}", i)
        wait_until(lambda: in_sync(leader, b) and in_sync(leader, c), what="sync")
        old_id = info(leader)["master_replid"]
        leader.stop()
        wait_until(lambda: info(b)["master_link_status"] == "down", what="b sees the leader gone")
        b.client().execute_command("REPLICAOF", "NO", "ONE")
        bi = info(b)
        assert bi["role"] == "master" and bi["master_replid2"] == old_id
        assert bi["second_repl_offset"] == bi["master_repl_offset"] + 1
        c.client().execute_command("REPLICAOF", "127.0.0.1", b.port)
        # the setting follows the role (CONFIG REWRITE would persist it)
        assert c.client().config_get("replicaof") == {"replicaof": f"127.0.0.1 {b.port}"}
        assert b.client().config_get("replicaof") == {"replicaof": ""}
        wait_until(lambda: in_sync(b, c), what="c follows b")
        bi = info(b)
        assert bi["sync_partial_ok"] == 1 and bi["sync_full"] == 0, bi
        assert "previous replid" in bi["last_psync_decision"]
        b.client().set("new", "history")
        wait_until(lambda: c.client().get("new") == "history", what="stream from b")
        assert info(c)["master_replid"] == info(b)["master_replid"]
        assert digest(b) == digest(c)


def test_chained_replicas():
    """A follower with its own follower forwards its leader's stream byte
    for byte: same replid, same offsets, same data down the chain."""
    with start_server() as a, follower_of(a) as b:
        wait_until(lambda: in_sync(a, b), what="b")
        with follower_of(b) as c:
            r = a.client()
            p = r.pipeline(transaction=True)
            p.set("x", 1)
            p.sadd("s", "m1", "m2")
            p.execute()
            r.zadd("z", {"a": 1, "b": 2})
            # offsets compared inside the poll: the leader's periodic PING
            # may move them between two reads
            wait_until(lambda: in_sync(a, b) and in_sync(b, c) and
                       info(c)["master_repl_offset"] == info(a)["master_repl_offset"],
                       what="chain in sync, same offsets")
            assert info(c)["master_replid"] == info(a)["master_replid"]
            assert digest(a) == digest(b) == digest(c)
            try:
                c.client().set("x", 2)
                raise AssertionError("a chained replica accepted a write")
            except redis.exceptions.ReadOnlyError:
                pass
