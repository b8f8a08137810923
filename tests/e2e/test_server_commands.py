"""Connection and server commands against the real server, with real
clients: HELLO/RESP3, AUTH + requirepass, protected mode, SELECT, CLIENT,
COMMAND (and redis-cli's use of COMMAND DOCS), INFO, CONFIG, DEBUG, SLOWLOG,
MONITOR, maxclients, unix socket, io-backend, group commit (appendfsync
always), SHUTDOWN."""
import os
import socket
import subprocess
import time

import pytest
import redis

from chalk_harness import RespError, start_server


def test_hello_negotiates_resp3(server):
    c = server.raw()
    hello = c.cmd("HELLO", "3")
    assert hello[b"server"] == b"redis" and hello[b"version"] == b"7.2.4"
    assert hello[b"proto"] == 3 and hello[b"role"] == b"master"
    c.send(b"DEBUG PROTOCOL map\r\n")
    assert c.read_line() == b"%3"                   # a real RESP3 map
    assert c.read_reply() == 0 and c.read_reply() is False
    c.read_reply(), c.read_reply(), c.read_reply(), c.read_reply()
    assert str(c.cmd("HELLO", "4")).startswith("NOPROTO")
    r2 = server.raw()
    r2.send(b"DEBUG PROTOCOL map\r\n")
    assert r2.read_line() == b"*6"                  # degraded for RESP2


def test_requirepass_and_auth():
    with start_server(requirepass="s3cret") as srv:
        c = srv.raw()
        assert str(c.cmd("DBSIZE")) == "NOAUTH Authentication required."
        assert str(c.cmd("AUTH", "nope")).startswith("WRONGPASS")
        assert c.cmd("AUTH", "s3cret") == "OK"
        assert c.cmd("PING") == "PONG"
        r = srv.client(password="s3cret")
        assert r.ping()
        h = srv.raw().cmd("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me")
        assert h[b"proto"] == 3
        # before AUTH the protocol limits are tiny (Redis: 10 args, 16 KB)
        u = srv.raw()
        u.send(b"*11\r\n")
        assert str(u.read_reply()) == "ERR Protocol error: unauthenticated multibulk length"
        assert u.closed()


def test_protected_mode_refuses_non_loopback():
    addr = None
    for line in subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split():
        if "." in line and not line.startswith("127."):
            addr = line
            break
    if not addr:
        pytest.skip("no non-loopback IPv4 address on this machine")
    with start_server(bind=["127.0.0.1", addr]) as srv:
        with socket.create_connection((addr, srv.port), timeout=5) as s:
            data = s.recv(4096)
        assert data.startswith(b"-DENIED Chalk is running in protected mode")
        assert srv.client().ping()                   # loopback still fine


def test_select_and_databases(server):
    c = server.raw()
    assert c.cmd("SELECT", "15") == "OK"
    assert str(c.cmd("SELECT", "16")) == "ERR DB index is out of range"
    # Redis 7: a non-number is the integer error, not the DB index one
    assert str(c.cmd("SELECT", "x")) == "ERR value is not an integer or out of range"
    assert c.cmd("DEBUG", "POPULATE", "10") == "OK"   # into db 15
    assert c.cmd("DBSIZE") == 10
    assert c.cmd("SELECT", "0") == "OK" and c.cmd("DBSIZE") == 0
    assert "db15:keys=10,expires=0" in server.cli("info", "keyspace")
    # SWAPDB: db 15's keys (and their expiry) move to db 0 and back
    assert c.cmd("SWAPDB", "0", "15") == "OK"
    assert c.cmd("DBSIZE") == 10
    assert c.cmd("SELECT", "15") == "OK" and c.cmd("DBSIZE") == 0
    assert str(c.cmd("SWAPDB", "0", "16")) == "ERR DB index is out of range"
    assert str(c.cmd("SWAPDB", "x", "1")) == "ERR invalid first DB index"
    assert c.cmd("FLUSHALL") == "OK"
    assert c.cmd("SELECT", "0") == "OK" and c.cmd("DBSIZE") == 0


def test_client_commands(server):
    r = server.client()
    assert r.client_setname("worker-1")
    assert r.client_getname() == "worker-1"
    cid = r.client_id()
    listing = r.execute_command("CLIENT", "LIST")
    assert f"id={cid} " in listing and "name=worker-1" in listing
    only = r.execute_command("CLIENT", "LIST", "ID", cid)
    assert only.count("\n") == 1 and only.startswith(f"id={cid} ")
    assert str(server.raw().cmd("CLIENT", "SETNAME", "a b")).startswith("ERR Client names cannot")
    victim = server.raw()
    vid = victim.cmd("CLIENT", "ID")
    assert r.execute_command("CLIENT", "KILL", "ID", vid) == 1
    assert victim.closed()
    assert str(server.raw().cmd("CLIENT", "NOPE")) == "ERR unknown subcommand 'NOPE'. Try CLIENT HELP."


def test_client_pause_write_holds_writes_only(server):
    a, b = server.raw(), server.raw()
    assert a.cmd("DEBUG", "POPULATE", "3") == "OK"
    assert a.cmd("CLIENT", "PAUSE", "100000", "WRITE") == "OK"
    assert b.cmd("PING") == "PONG"                    # reads go on
    b.send(b"FLUSHALL\r\n")                           # a write waits
    assert a.cmd("DBSIZE") == 3
    assert a.cmd("CLIENT", "UNPAUSE") == "OK"
    assert b.read_reply() == "OK"
    assert a.cmd("DBSIZE") == 0


def test_command_table(server):
    c = server.raw()
    assert c.cmd("COMMAND", "COUNT") >= 20
    info = c.cmd("COMMAND", "INFO", "echo", "config|get", "nosuch")
    assert info[0][0] == b"echo" and info[0][1] == 2
    assert info[1][0] == b"config|get"
    assert info[2] is None
    docs = c.cmd("COMMAND", "DOCS", "echo")
    assert docs[0] == b"echo" and b"summary" in docs[1]
    assert b"ping" in c.cmd("COMMAND", "LIST")
    # redis-cli asks COMMAND DOCS for its hints and prints them in --help-like output
    out = server.cli("command", "docs", "ping")
    assert "Returns the server's liveliness response." in out


def test_info_fields(server):
    r = server.client()
    r.ping()
    info = r.info("everything")
    assert info["redis_version"] == "7.2.4"
    assert info["process_id"] == server.pid
    assert info["tcp_port"] == server.port
    assert len(info["run_id"]) == 40
    assert "chalk_version" in info and "chalk_git_sha1" in info
    assert info["connected_clients"] >= 1
    assert info["chalk_appendfsync"] == "everysec"
    assert "cmdstat_ping" in info and info["cmdstat_ping"]["calls"] >= 1
    assert info["total_commands_processed"] >= 1
    assert "used_cpu_user" in info and "chalk_segments" in info
    server.raw().cmd("NOSUCH")
    server.raw().cmd("SELECT", "99")
    assert "errorstat_ERR:count=2" in server.cli("info", "errorstats")   # Redis's format


def test_config_get_set(server):
    r = server.client()
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.config_get("save") == {"save": ""}          # redis-benchmark asks
    assert "appendonly" in r.config_get("append*")
    assert r.config_set("slowlog-log-slower-than", "0")
    assert r.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"] == "0"
    with pytest.raises(redis.ResponseError, match="can't set immutable config"):
        r.config_set("port", "1")
    with pytest.raises(redis.ResponseError, match="Unknown option"):
        r.config_set("nosuch", "1")
    # all or nothing: the bad second pair rolls back the first
    err = server.raw().cmd("CONFIG", "SET", "maxclients", "77", "timeout", "abc")
    assert isinstance(err, RespError)
    assert r.config_get("maxclients")["maxclients"] == "10000"


def test_slowlog_and_commandstats(server):
    r = server.client()
    r.config_set("slowlog-log-slower-than", "0")
    r.echo("marker")
    entries = r.slowlog_get(10)
    assert any(e["command"] in (b"ECHO marker", "ECHO marker") for e in entries), entries
    assert r.slowlog_len() >= 1
    assert r.slowlog_reset() and r.slowlog_len() <= 1


def test_slowlog_times_each_command_once(server):
    """call() reads the clock once per command: a command's start is the
    end of the same client's previous command only within one read. A PING
    sent after a pause, or run after its client waited (BLPOP), must not
    be charged with the pause."""
    r = server.client()
    r.config_set("slowlog-log-slower-than", "0")
    r.slowlog_reset()
    pause_us = 300000
    a = server.raw()
    a.send(b"DEBUG SLEEP 0.3\r\nECHO chained\r\n")   # one read: chained
    assert a.read_reply() == "OK" and a.read_reply() == b"chained"
    time.sleep(pause_us / 1e6)
    assert a.cmd("ECHO", "after-pause") == b"after-pause"   # a new read
    # Both ECHOs below run from the ready list, with no read, after a wait.
    a.send(b"BLPOP s4list 0.3\r\nECHO after-wait\r\n")
    assert a.read_reply() is None and a.read_reply() == b"after-wait"
    a.send(b"CLIENT PAUSE 300 WRITE\r\nSET s4key v\r\n")
    assert a.read_reply() == "OK" and a.read_reply() == "OK"
    took = {}                       # the longest entry of each command
    for e in r.slowlog_get(128):
        cmd = e["command"].decode() if isinstance(e["command"], bytes) else e["command"]
        took[cmd] = max(took.get(cmd, 0), e["duration"])
    assert took["DEBUG SLEEP 0.3"] >= pause_us, took
    # BLPOP runs again at each tick until its timeout: no run is charged the wait
    assert took["BLPOP s4list 0.3"] < pause_us / 4, took
    for cmd in ("ECHO chained", "ECHO after-pause", "ECHO after-wait", "SET s4key v"):
        assert took[cmd] < pause_us, (cmd, took)


def test_debug_object_reload_digest(server):
    c = server.raw()
    assert c.cmd("DEBUG", "POPULATE", "100") == "OK"
    obj = c.cmd("DEBUG", "OBJECT", "key:5")
    assert "segment:" in obj and "offset:" in obj
    digest = c.cmd("DEBUG", "DIGEST")
    assert digest != "0" * 40
    assert c.cmd("DEBUG", "RELOAD") == "OK"
    assert c.cmd("DEBUG", "DIGEST") == digest
    assert c.cmd("DBSIZE") == 100
    server.restart()
    assert server.raw().cmd("DEBUG", "DIGEST") == digest


def test_monitor_sees_commands(server):
    m = server.raw()
    assert m.cmd("MONITOR") == "OK"
    server.client().echo("seen by monitor")
    line = m.read_line()
    assert b'"ECHO" "seen by monitor"' in line


def test_maxclients_error():
    with start_server(maxclients=3) as srv:
        keep = [srv.raw() for _ in range(3)]
        for k in keep:
            assert k.cmd("PING") == "PONG"
        extra = srv.raw()
        assert extra.read_line() == b"-ERR max number of clients reached"
        keep[0].close()
        srv.raw()  # a slot frees up eventually; the server is still fine
        assert keep[1].cmd("PING") == "PONG"


@pytest.mark.parametrize("backend", ["epoll", "uring"])
def test_io_backends_and_unix_socket(backend, tmp_path):
    sock = str(tmp_path / "chalk.sock")
    with start_server(io_backend=backend, unixsocket=sock, unixsocketperm="700") as srv:
        assert oct(os.stat(sock).st_mode & 0o777) == "0o700"
        name = "io_uring" if backend == "uring" else "epoll"
        assert f"io-backend={name}" in srv.log()
        r = redis.Redis(unix_socket_path=sock, decode_responses=True)
        assert r.ping()
        assert r.info("server")["multiplexing_api"] == name
        pipe = r.pipeline(transaction=False)
        for i in range(2000):
            pipe.echo(str(i))
        assert pipe.execute() == [str(i) for i in range(2000)]
        r.close()


def test_appendfsync_always_group_commit():
    with start_server(appendfsync="always") as srv:
        r = srv.client()
        assert r.execute_command("DEBUG", "POPULATE", "5000") == "OK"
        info = r.info("persistence")
        assert info["chalk_appendfsync"] == "always"
        assert info["chalk_fsyncs"] >= 1
        # five batches of 1000, one command: fewer fsyncs than batches
        assert info["chalk_fsyncs"] <= 5
        srv.restart()
        assert srv.client().dbsize() == 5000


def test_shutdown_command_exits_zero(server):
    c = server.raw()
    c.send(b"SHUTDOWN\r\n")
    assert c.closed(timeout=10)
    assert server.stop() == 0


def test_config_file_and_rewrite():
    with start_server(config_text="# mine\nmaxclients 123\nloglevel notice\n") as srv:
        r = srv.client()
        assert r.config_get("maxclients")["maxclients"] == "123"
        assert r.config_set("maxclients", "456")
        assert r.execute_command("CONFIG", "REWRITE") == "OK"
        text = open(srv.config_path).read()
        assert "# mine\n" in text and "maxclients 456\n" in text and "maxclients 123" not in text
        srv.restart()
        assert srv.client().config_get("maxclients")["maxclients"] == "456"


def test_idle_timeout_closes_client():
    import time
    with start_server(timeout=1) as srv:
        c = srv.raw()
        assert c.cmd("PING") == "PONG"
        assert c.closed(timeout=10)            # idle > 1 s: the cron closes it
        assert srv.raw().cmd("PING") == "PONG"


def test_latency_monitor(server):
    c = server.raw()
    assert c.cmd("CONFIG", "SET", "latency-monitor-threshold", "1") == "OK"
    assert c.cmd("DEBUG", "SLEEP", "0.01") == "OK"
    latest = c.cmd("LATENCY", "LATEST")
    assert latest and latest[0][0] == b"command" and latest[0][2] >= 1
    assert len(c.cmd("LATENCY", "HISTORY", "command")) == 1
    assert c.cmd("LATENCY", "RESET") == 1
    assert c.cmd("LATENCY", "LATEST") == []


def test_debug_refused_from_non_local_client_by_default():
    """enable-debug-command local: DEBUG works over loopback (the tests above)
    and is refused over a non-loopback address."""
    addr = None
    for word in subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split():
        if "." in word and not word.startswith("127."):
            addr = word
            break
    if not addr:
        pytest.skip("no non-loopback IPv4 address on this machine")
    with start_server(bind=["127.0.0.1", addr], requirepass="pw") as srv:
        r = redis.Redis(host=addr, port=srv.port, password="pw")
        with pytest.raises(redis.ResponseError, match="DEBUG command not allowed"):
            r.execute_command("DEBUG", "DIGEST")
        with pytest.raises(redis.ResponseError, match="can't set protected config"):
            r.config_set("dir", "/tmp")
        r.close()


def test_logfile(tmp_path):
    path = tmp_path / "chalk.log"
    with start_server(logfile=str(path)) as srv:
        assert srv.client().ping()
        text = path.read_text()
        assert "Ready to accept connections tcp" in text
        assert f":M " in text.splitlines()[0]


@pytest.mark.parametrize("backend", ["uring", "epoll"])
def test_reload_rewires_the_engine_event_fd(backend):
    """After DEBUG RELOAD the engine has a new event fd: under always, a
    write's reply only arrives if the loop polls that new fd."""
    with start_server(appendfsync="always", io_backend=backend) as srv:
        c = srv.raw()
        for i in range(2):
            assert c.cmd("DEBUG", "RELOAD") == "OK"
            assert c.cmd("DEBUG", "POPULATE", "10", f"r{i}") == "OK"
        assert c.cmd("DBSIZE") == 20


def test_always_reply_released_only_after_fsync():
    """Under appendfsync always, by the time a write's reply arrives, an
    fsync covering it has completed: a second client that asks right after
    always sees the fsync counter past its value from before the write.
    (Were the reply sent at once, the counter would often still be behind:
    an fsync takes longer than a loopback round trip.)"""
    with start_server(appendfsync="always") as srv:
        a, b = srv.raw(), srv.raw()

        def fsyncs():
            text = b.cmd("INFO", "persistence").decode()
            return int(text.split("chalk_fsyncs:")[1].split()[0])

        for i in range(30):
            before = fsyncs()
            assert a.cmd("DEBUG", "POPULATE", "1", f"w{i}") == "OK"
            assert fsyncs() > before
