"""test_qa_a_compat.py — small Redis 7 compatibility points found by the
acceptance audit of issue 4 (qa-a), each checked byte for byte against
Debian's redis-server in RESP2 and RESP3.

What it covers: the error texts and replies clients branch on for SELECT
with a non-number, CLIENT PAUSE with a negative timeout, and AUTH with a
username when no password is configured (Redis 7's default user is
"nopass": AUTH default <anything> succeeds, any other user is WRONGPASS).
Left out on purpose: everything the per-family differential tests already
compare. Interview topics: none of its own.
"""
from differential import both, servers  # noqa: F401 (fixtures)


def test_select_errors_as_redis(both):
    both("SELECT", "abc")          # not a number: the integer error
    both("SELECT", "16")           # a number out of range: the DB index error
    both("SELECT", "-1")
    both("SELECT", "3")
    both("SELECT", "0")


def test_client_pause_negative_timeout_as_redis(both):
    both("CLIENT", "PAUSE", "-1")
    both("CLIENT", "PAUSE", "abc")
    both("CLIENT", "PAUSE", "1", "sideways")


def test_auth_with_username_and_no_password_as_redis(both):
    both("AUTH", "default", "anything")
    both("AUTH", "someone", "x")
    both("AUTH", "x")
    both("PING")


def test_config_set_bad_enum_lists_every_value(servers):
    """The error of a bad enum value names every accepted value (it named
    only the first two: 'no, everysec', leaving out 'always')."""
    srv, _ = servers
    err = str(srv.raw().cmd("CONFIG", "SET", "appendfsync", "sometimes"))
    assert err.startswith("ERR CONFIG SET failed (possibly related to argument 'appendfsync') - "
                          "argument(s) must be one of the following: ")
    assert sorted(err.split(": ", 1)[1].split(", ")) == ["always", "everysec", "no"]
    err = str(srv.raw().cmd("CONFIG", "SET", "loglevel", "loud"))
    assert sorted(err.split(": ", 1)[1].split(", ")) == ["debug", "nothing", "notice", "verbose", "warning"]


def test_command_info_of_an_unknown_command_as_redis(both):
    both("COMMAND", "INFO", "nosuchcommand")       # RESP2: $-1 (a nil bulk), not *-1


def test_debug_subcommand_mistakes_as_redis(both):
    both("DEBUG", "FOO")                 # unknown
    both("DEBUG", "foo", "bar")
    both("DEBUG", "SLEEP")               # known, wrong arity: the same text
    both("DEBUG", "object")
