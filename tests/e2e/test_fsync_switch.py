"""CONFIG SET appendfsync at run time (engine: chalk_set_fsync, policy.c).

Each test fails if the switch is not carried through to where it matters:
CONFIG GET and INFO persistence show the new policy, and the engine really
follows it (fsync counter moves under always, stands still under no), and a
reply under always still arrives only after an fsync covering it.
"""

import time

from chalk_harness import SLOW, RespError, start_server


def fsyncs(c):
    text = c.cmd("INFO", "persistence").decode()
    return int(text.split("chalk_fsyncs:")[1].split()[0])


def info_policy(c):
    text = c.cmd("INFO", "persistence").decode()
    return text.split("chalk_appendfsync:")[1].split()[0]


def config_get(c, name):
    return [x.decode() for x in c.cmd("CONFIG", "GET", name)]


def test_switch_no_to_always_holds_replies_until_fsync():
    with start_server(appendfsync="no") as srv:
        a, b = srv.raw(), srv.raw()
        assert config_get(b, "appendfsync") == ["appendfsync", "no"]
        for i in range(20):
            assert a.cmd("SET", f"n{i}", "v") == "OK"
        assert fsyncs(b) == 0            # no: the engine never fsyncs

        assert b.cmd("CONFIG", "SET", "appendfsync", "always") == "OK"
        assert config_get(b, "appendfsync") == ["appendfsync", "always"]
        assert info_policy(b) == "always"
        # Every reply now waits for an fsync that covers its write: a second
        # client asking right after always sees the counter moved. (Sent at
        # once, it would often lag: an fsync outlasts a loopback round trip.)
        for i in range(30):
            before = fsyncs(b)
            assert a.cmd("SET", f"a{i}", "v") == "OK"
            assert fsyncs(b) > before

        # And back: under no the engine stops fsyncing.
        assert b.cmd("CONFIG", "SET", "appendfsync", "no") == "OK"
        assert info_policy(b) == "no"
        settled = fsyncs(b)
        for i in range(20):
            assert a.cmd("SET", f"m{i}", "v") == "OK"
        assert fsyncs(b) == settled
        srv.restart()
        assert srv.client().dbsize() == 70


def test_switch_to_everysec_fsyncs_in_background():
    with start_server(appendfsync="no") as srv:
        c = srv.raw()
        assert c.cmd("SET", "k", "v") == "OK"
        assert c.cmd("CONFIG", "SET", "appendfsync", "everysec") == "OK"
        assert info_policy(c) == "everysec"
        assert c.cmd("SET", "k2", "v") == "OK"
        deadline = time.time() + 10 * SLOW
        while fsyncs(c) == 0 and time.time() < deadline:
            time.sleep(0.1)
        assert fsyncs(c) >= 1


def test_bad_value_changes_nothing():
    with start_server(appendfsync="everysec") as srv:
        c = srv.raw()
        reply = c.cmd("CONFIG", "SET", "appendfsync", "sometimes")
        assert isinstance(reply, RespError) and "appendfsync" in str(reply)
        assert config_get(c, "appendfsync") == ["appendfsync", "everysec"]
        # all-or-nothing: a bad second pair rolls the first one back
        reply = c.cmd("CONFIG", "SET", "appendfsync", "always", "maxclients", "zero")
        assert isinstance(reply, RespError)
        assert config_get(c, "appendfsync") == ["appendfsync", "everysec"]
        assert info_policy(c) == "everysec"
