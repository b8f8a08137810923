"""Expiry (server/expire.c): keys whose time has passed are never served,
are deleted lazily when touched and actively by the per-tick sampling cycle,
and expiry times survive a restart.

The engine hides an expired key from every read, so DBSIZE alone cannot
tell whether a key was DELETED; INFO persistence's chalk_keys (the engine's
index count, which includes expired-but-not-deleted keys) and INFO stats
expired_keys can: they are what these tests watch. No timing assertions:
each wait polls with a generous deadline.
"""
import time

from chalk_harness import SLOW


def info_field(r, section, name):
    return int(r.info(section)[name])


def wait_until(cond, timeout=30.0):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_active_cycle_deletes_untouched_keys(server):
    """Keys nobody reads again are still deleted: the sampling cycle finds
    them (DBSIZE and the engine's own key count drop with no access)."""
    r = server.client()
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"short:{i}", "v", px=200)
    for i in range(100):
        pipe.set(f"keep:{i}", "v")
    for i in range(100):
        pipe.set(f"later:{i}", "v", ex=3600)
    pipe.execute()
    assert info_field(r, "persistence", "chalk_keys") == 2200
    assert wait_until(lambda: info_field(r, "stats", "expired_keys") == 2000), \
        f"expired_keys stuck at {info_field(r, 'stats', 'expired_keys')}"
    assert info_field(r, "persistence", "chalk_keys") == 200
    assert r.dbsize() == 200
    assert r.exists("keep:1", "later:1") == 2


def test_lazy_expiry_on_access(server_factory):
    """A read of an expired key misses, and deletes it (counted), also when
    the active cycle runs rarely (hz 1)."""
    srv = server_factory(hz=1)
    r = srv.client()
    r.set("k", "v", px=50)
    r.set("ttl", "v", px=50)
    time.sleep(0.2)
    assert r.get("k") is None
    assert r.ttl("ttl") == -2
    assert r.exists("k") == 0 and r.set("k", "new", xx=True) is None
    assert info_field(r, "stats", "expired_keys") == 2
    assert info_field(r, "persistence", "chalk_keys") == 0
    assert info_field(r, "stats", "keyspace_misses") >= 1


def test_expire_commands_delete_and_count(server):
    r = server.client()
    r.set("a", "1")
    assert r.pexpire("a", 100) is True
    assert 0 < r.pttl("a") <= 100
    assert wait_until(lambda: r.get("a") is None)
    r.set("b", "1")
    assert r.expire("b", -1) is True           # a time in the past deletes at once
    assert r.exists("b") == 0
    r.set("c", "1", ex=100)
    assert r.persist("c") is True and r.ttl("c") == -1


def test_ttl_survives_restart_until_its_time(server):
    """An expiry is part of the record: after a restart the key is still
    there with its remaining time, and gone once the time has passed."""
    r = server.client()
    r.set("soon", "v", px=int(3000 * SLOW))
    r.set("forever", "v")
    r.set("far", "v", ex=10000)
    server.restart()
    r = server.client()
    assert r.get("soon") == "v"
    assert 0 < r.pttl("soon") <= 3000 * SLOW
    assert 9990 < r.ttl("far") <= 10000
    assert wait_until(lambda: r.exists("soon") == 0)
    server.restart()
    r = server.client()
    assert r.get("soon") is None and r.get("forever") == "v" and r.ttl("far") > 9000


def test_restart_keeps_data(server):
    r = server.client()
    r.mset({f"k{i}": str(i) for i in range(500)})
    r.incrby("counter", 41)
    r.incr("counter")
    r.append("s", "abc")
    r.setrange("s", 5, "z")
    r.delete("k7")
    server.restart()
    r = server.client()
    assert r.get("k1") == "1" and r.get("k499") == "499" and r.get("k7") is None
    assert r.get("counter") == "42" and r.get("s") == "abc\x00\x00z"
    assert r.dbsize() == 501


def test_expired_keys_resets_with_config_resetstat(server):
    r = server.client()
    r.set("x", "v", px=1)
    time.sleep(0.05)
    r.get("x")
    assert info_field(r, "stats", "expired_keys") == 1
    r.config_resetstat()
    assert info_field(r, "stats", "expired_keys") == 0


def test_lazy_expiry_reaches_the_followers(server_factory):
    """A leader that deletes an expired key on access hands that delete to
    the replication stream, so the follower's copy goes too (a follower
    never expires keys on its own clock). hz 1 makes the leader's active
    cycle rare, so the lazy path is (almost always) the one exercised."""
    leader = server_factory(hz=1)
    follower = server_factory(hz=1)
    f, lead = follower.client(), leader.client()
    if "unknown command" in str(follower.raw().cmd("ROLE")):
        import pytest
        pytest.skip("no replication in this server")
    f.execute_command("REPLICAOF", "127.0.0.1", leader.port)
    assert wait_until(lambda: f.info("replication").get("master_link_status") == "up")
    lead.set("keep", "v")
    lead.set("k", "v", px=100)
    assert wait_until(lambda: info_field(f, "persistence", "chalk_keys") == 2)
    time.sleep(0.15)
    assert lead.get("k") is None                  # lazy: deleted and counted here
    assert info_field(lead, "stats", "expired_keys") == 1
    assert wait_until(lambda: info_field(f, "persistence", "chalk_keys") == 1), \
        "the follower kept the expired key's record"
    assert f.get("keep") == "v"
