"""test_client_cli.py — chalk-cli prints what redis-cli prints.

Both CLIs run the same commands against the same server; their stdout and
exit codes must be identical, byte for byte, in every output mode:
--no-raw (redis-cli's TTY format), --raw, the default when stdout is not a
terminal (raw), and RESP3 (-3). The command list is varied on purpose:
strings with quotes and control bytes, integers, nil, errors, empty and
nested arrays (two-digit indexes, streams, EVAL tables), maps, sets,
doubles, booleans and verbatim strings from RESP3.

Then the flags: commands from stdin, -x, -r, -e, -n, -s, --scan --pattern,
plus chalk-cli's own --wire and --time (checked for content, not against
redis-cli, which has neither).
"""
import os
import subprocess

import pytest

from redis_peer import RedisPeer, chalk_available

BIN = os.environ.get("CHALK_BIN_DIR", "")
CHALK_CLI = os.path.join(BIN, "chalk-cli")
REDIS_CLI = "/usr/bin/redis-cli"

SETUP = [
    ["FLUSHALL"],
    ["SET", "s", "hello world"],
    ["SET", "q", 'say "hi"\n\ttab\\ \x01\x7f\xc3\xa9'],
    ["SET", "n", "41"],
    ["RPUSH", "l"] + ["item%d" % i for i in range(12)],
    ["HSET", "h", "f1", "v1", "f2", "2"],
    ["SADD", "st", "x"],
    ["ZADD", "z", "1.5", "a", "2", "b"],
    ["XADD", "xs", "1-1", "k", "v", "k2", "v2"],
    ["XADD", "xs", "2-1", "only", "one"],
]

COMMANDS = [
    ["GET", "s"], ["GET", "q"], ["GET", "missing"], ["INCR", "n"],
    ["INCRBYFLOAT", "n", "0.5"], ["EXISTS", "s", "missing"],
    ["PING"], ["ECHO", ""], ["NOSUCHCOMMAND", "x"], ["GET"],
    ["LPUSH", "s", "x"], ["LRANGE", "l", "0", "-1"], ["LRANGE", "none", "0", "-1"],
    ["HGETALL", "h"], ["HGETALL", "none"], ["SMEMBERS", "st"],
    ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZSCORE", "z", "a"],
    ["XRANGE", "xs", "-", "+"], ["MGET", "s", "missing", "n"],
    ["EVAL", "return {1,{2,{'a','b'},{}},'c',{err='boom'}}", "0"],
    ["EVAL", "return {1,2,3,4,5,6,7,8,9,10,{'x',{'y'}}}", "0"],
    ["DEBUG", "PROTOCOL", "true"], ["DEBUG", "PROTOCOL", "false"],
    ["DEBUG", "PROTOCOL", "double"], ["DEBUG", "PROTOCOL", "null"],
    ["DEBUG", "PROTOCOL", "map"], ["DEBUG", "PROTOCOL", "set"],
    ["DEBUG", "PROTOCOL", "verbatim"],
    ["CONFIG", "GET", "maxmemory*"], ["TYPE", "z"], ["TTL", "s"],
    ["COMMAND", "DOCS", "SET"], ["COMMAND", "INFO", "GET", "NOSUCH"],
    ["XINFO", "STREAM", "xs"], ["XINFO", "STREAM", "xs", "FULL"],
    ["COMMAND", "DOCS", "ZADD", "CLIENT"], ["OBJECT", "FREQ", "s"],
]

MODES = [["--no-raw"], ["--raw"], [], ["-3", "--no-raw"], ["-3", "--raw"]]


def run(cli, port, args, stdin=None):
    p = subprocess.run([cli, "-p", str(port)] + args, input=stdin,
                       capture_output=True, timeout=30)
    return p.stdout, p.returncode


@pytest.fixture(scope="module")
def peer():
    with RedisPeer() as p:
        for cmd in SETUP:
            out, rc = run(REDIS_CLI, p.port, cmd)
            assert rc == 0, (cmd, out)
        yield p


@pytest.mark.parametrize("mode", MODES, ids=lambda m: " ".join(m) or "default")
def test_same_output_as_redis_cli(peer, mode):
    for cmd in COMMANDS:
        if cmd[0] == "INCR" or cmd[0] == "INCRBYFLOAT" or cmd[0] == "LPUSH":
            continue  # changes state: compared separately below
        want = run(REDIS_CLI, peer.port, mode + cmd)
        got = run(CHALK_CLI, peer.port, mode + cmd)
        assert got == want, "%s %s" % (mode, cmd)


def test_writes_same_output(peer):
    # The same writes through each CLI, each starting from the same state.
    for mode in (["--no-raw"], ["--raw"]):
        for cli in (REDIS_CLI, CHALK_CLI):
            run(REDIS_CLI, peer.port, ["SET", "n", "41"])
            outs = [run(cli, peer.port, mode + c) for c in
                    (["INCR", "n"], ["INCRBYFLOAT", "n", "0.5"], ["LPUSH", "s", "x"])]
            if cli == REDIS_CLI:
                want = outs
            else:
                assert outs == want, mode


def test_commands_from_stdin(peer):
    script = (b'GET s\nSET "with space" "a\\x41\\n"\nGET "with space"\n'
              b"GET 'single \\' quote'\nLRANGE l 0 2\nNOSUCH\n\nPING\n")
    for mode in (["--no-raw"], ["--raw"], ["-3", "--no-raw"]):
        want = run(REDIS_CLI, peer.port, mode, stdin=script)
        got = run(CHALK_CLI, peer.port, mode, stdin=script)
        assert got == want, mode


def test_flags(peer):
    cases = [
        (["-x", "SET", "fromstdin"], b"line1\nline2\n"),
        (["--no-raw", "GET", "fromstdin"], None),
        (["--no-raw", "-r", "3", "INCR", "ctr"], None),
        (["--no-raw", "-e", "NOSUCH"], None),
        (["--no-raw", "-e", "GET", "s"], None),
        (["-n", "2", "--no-raw", "SET", "indb2", "v"], None),
        (["-n", "2", "--no-raw", "GET", "indb2"], None),
        (["--no-raw", "GET", "indb2"], None),
        (["-s", peer.unix_path, "--no-raw", "GET", "s"], None),
        (["--scan", "--pattern", "item*"], None),
        (["--scan"], None),
        (["-2", "--no-raw", "HGETALL", "h"], None),
        (["--no-raw", "-r", "3", "-i", "0.05", "ECHO", "again"], None),
    ]
    for args, stdin in cases:
        results = []
        for cli in (REDIS_CLI, CHALK_CLI):
            if args[-1] == "ctr":  # stateful: both start from the same state
                run(REDIS_CLI, peer.port, ["DEL", "ctr"])
            results.append(run(cli, peer.port, args, stdin=stdin))
        assert results[1] == results[0], args
    # -e really changes the exit code.
    assert run(CHALK_CLI, peer.port, ["-e", "NOSUCH"])[1] == 1
    assert run(CHALK_CLI, peer.port, ["NOSUCH"])[1] == 0


def test_connection_refused_exit_code(peer):
    from redis_peer import free_port
    p = subprocess.run([CHALK_CLI, "-p", str(free_port()), "PING"],
                       capture_output=True, timeout=30)
    assert p.returncode == 1
    assert b"Could not connect" in p.stderr


def test_wire_shows_exact_bytes(peer):
    out, rc = run(CHALK_CLI, peer.port, ["--wire", "GET", "s"])
    text = out.decode()
    assert rc == 0
    lines = text.splitlines()
    assert lines[0].startswith('-> "*2\\r\\n"') and "array of 2" in lines[0]
    assert '-> "$3\\r\\n"' in text and '-> "GET\\r\\n"' in text
    assert '<- "$11\\r\\n"' in text and "bulk string of 11 bytes" in text
    assert '<- "hello world\\r\\n"' in text
    assert lines[-1] == "hello world"
    out, _ = run(CHALK_CLI, peer.port, ["--wire", "-3", "HGETALL", "h"])
    assert '<- "%2\\r\\n"' in out.decode() and "map of 2 pairs" in out.decode()


def test_time_prints_round_trip(peer):
    out, rc = run(CHALK_CLI, peer.port, ["--time", "--no-raw", "PING"])
    lines = out.decode().splitlines()
    assert rc == 0 and lines[0] == "PONG"
    assert lines[1].startswith("(") and lines[1].endswith(" ms round trip)")


def test_latency_raw_mode(peer):
    out, rc = run(CHALK_CLI, peer.port, ["--latency", "-i", "0.3"])
    fields = out.decode().split()
    assert rc == 0 and len(fields) == 4
    mn, mx, avg, n = float(fields[0]), float(fields[1]), float(fields[2]), int(fields[3])
    assert 0 <= mn <= avg <= mx and n >= 1


# ---- the same comparisons against chalk-server ------------------------------
# Every command is sent even if chalk-server does not have it yet: then both
# CLIs must print the same error. As the server grows, more of them become
# real replies, with no change here.

@pytest.mark.skipif(not chalk_available(), reason="chalk-server not built")
def test_same_output_as_redis_cli_on_chalk_server():
    from chalk_harness import start_server
    with start_server() as srv:
        for cmd in SETUP:
            run(REDIS_CLI, srv.port, cmd)
        extra = [["PING", "hello"], ["ECHO", "a \"b\"\n"], ["COMMAND", "COUNT"],
                 ["CLIENT", "GETNAME"], ["SELECT", "99999"]]
        for mode in MODES:
            for cmd in COMMANDS + extra:
                if cmd[0] in ("INCR", "INCRBYFLOAT", "LPUSH"):
                    continue
                want = run(REDIS_CLI, srv.port, mode + cmd)
                got = run(CHALK_CLI, srv.port, mode + cmd)
                assert got == want, "%s %s" % (mode, cmd)
        script = b"PING\nECHO 'one two'\nNOSUCH x\n"
        assert run(CHALK_CLI, srv.port, ["--no-raw"], stdin=script) == \
            run(REDIS_CLI, srv.port, ["--no-raw"], stdin=script)


@pytest.mark.skipif(not chalk_available(), reason="chalk-server not built")
def test_auth_on_chalk_server():
    from chalk_harness import start_server
    with start_server(requirepass="s3cret") as srv:
        for args in (["--no-raw", "PING"], ["-a", "s3cret", "--no-raw", "PING"],
                     ["-a", "wrong", "--no-raw", "PING"],
                     ["-a", "s3cret", "-3", "--no-raw", "PING"]):
            assert run(CHALK_CLI, srv.port, args) == run(REDIS_CLI, srv.port, args), args


def test_subscribe_streams_like_redis_cli(peer, tmp_path):
    # (P)SUBSCRIBE turns the CLI into a listener: both CLIs subscribe, the
    # test publishes, waits until both printed the last message, stops them
    # and compares what they printed.
    import time

    def wait(cond, what):
        deadline = time.time() + 20
        while not cond():
            assert time.time() < deadline, what
            time.sleep(0.05)

    for i, mode in enumerate((["--no-raw"], ["--raw"], ["-3", "--no-raw"])):
        outs = [tmp_path / ("%d-%d.out" % (i, k)) for k in range(2)]
        files = [open(o, "wb") for o in outs]
        procs = [subprocess.Popen([cli, "-p", str(peer.port)] + mode +
                                  ["SUBSCRIBE", "ch1", "ch2"],
                                  stdout=f, stderr=subprocess.DEVNULL)
                 for cli, f in zip((REDIS_CLI, CHALK_CLI), files)]
        try:
            wait(lambda: run(REDIS_CLI, peer.port, ["PUBSUB", "NUMSUB", "ch2"])[0]
                 .split()[-1] == b"2", "both subscribed")
            run(REDIS_CLI, peer.port, ["PUBLISH", "ch1", "hello"])
            run(REDIS_CLI, peer.port, ["PUBLISH", "ch2", "two words"])
            wait(lambda: all(b"two words" in o.read_bytes() for o in outs),
                 "both printed the messages")
        finally:
            for p, f in zip(procs, files):
                p.terminate()
                p.wait(timeout=10)
                f.close()
        want, got = [o.read_bytes() for o in outs]
        assert got == want, mode


def fake_server(reply):
    """A one-shot server that answers the first request with `reply` bytes
    and closes: returns (port, thread)."""
    import socket
    import threading
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)

    def serve():
        conn, _ = ls.accept()
        conn.recv(4096)
        try:
            conn.sendall(reply)
        except OSError:
            pass  # the client gave up first: that is the point
        conn.close()
        ls.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return ls.getsockname()[1], t


@pytest.mark.parametrize("reply,message", [
    (b"*9223372036854775807\r\n", b"aggregate length out of range"),
    (b"*4294967296\r\n", b"aggregate length out of range"),
    (b"$-2\r\n", b"bulk length out of range"),
    (b"$9999999999\r\n", b"bulk length out of range"),
    (b"*1\r\n" * 100000, b"nested too deep"),
    (b"$10\r\nabc", b"closed the connection mid-reply"),
    (b"*3\r\n:1\r\n", b"closed the connection mid-reply"),
], ids=["huge-array", "array-2^32", "bulk-minus-2", "bulk-10GB", "deep-nesting",
        "short-bulk", "short-array"])
def test_hostile_server_is_an_error_not_a_crash(reply, message):
    # The CVE-2021-32762 class: chalk-cli reports, exits 1, and stays small.
    # Address space capped at 1 GB (not under ASan, whose shadow memory
    # needs far more): allocating from an announced length would fail.
    sanitized = os.environ.get("CHALK_SANITIZE", "0").lower() in ("1", "on", "true")
    limit = "" if sanitized else "ulimit -v 1000000; "
    port, t = fake_server(reply)
    p = subprocess.run(["/usr/bin/env", "bash", "-c",
                        limit + "exec \"$0\" -p %d GET k" % port, CHALK_CLI],
                       capture_output=True, timeout=30)
    t.join(timeout=10)
    assert p.returncode == 1, p.stderr
    assert message in p.stderr, p.stderr
