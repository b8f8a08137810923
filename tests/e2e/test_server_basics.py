"""The server's first contract: it starts, answers PING / ECHO / QUIT over
RESP (redis-py, redis-cli, a raw socket, inline commands), logs its start-up
like redis-server, and exits 0 on SIGTERM and SIGINT."""
import signal

from chalk_harness import RespError, start_server


def test_ping_echo(server):
    r = server.client()
    assert r.ping() is True
    assert r.echo("hello world") == "hello world"
    assert server.cli("ping") == "PONG"
    assert server.cli("echo", "x y") == "x y"


def test_raw_multibulk_and_inline(server):
    c = server.raw()
    c.send(b"*1\r\n$4\r\nPING\r\n")
    assert c.read_line() == b"+PONG"
    c.send(b"PING\r\n")                      # inline, as typed into telnet
    assert c.read_line() == b"+PONG"
    c.send(b'ECHO "a b"\n')                  # quotes, bare LF
    assert c.read_reply() == b"a b"
    assert c.cmd("PING", "x") == b"x"


def test_quit_closes_after_reply(server):
    c = server.raw()
    assert c.cmd("QUIT") == "OK"
    assert c.closed()


def test_unknown_command_and_arity(server):
    c = server.raw()
    err = c.cmd("FOO", "a", "b")
    assert isinstance(err, RespError)
    assert str(err) == "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
    err = c.cmd("ECHO")
    assert str(err) == "ERR wrong number of arguments for 'echo' command"
    assert c.cmd("PING") == "PONG"           # the connection survives both


def test_startup_log_like_redis(server):
    log = server.log()
    assert "Ready to accept connections tcp" in log
    assert f"port={server.port}" in log
    assert "io-backend=" in log
    assert server.data_dir in log
    # pid:M dd Mon yyyy hh:mm:ss.mmm * message
    first = log.splitlines()[0]
    pid, rest = first.split(":", 1)
    assert pid == str(server.pid) and rest.startswith("M ")


def test_sigterm_and_sigint_exit_zero():
    for sig in (signal.SIGTERM, signal.SIGINT):
        with start_server() as srv:
            srv.client().ping()
            assert srv.stop(sig=sig) == 0
            assert "ready to exit" in srv.log()
