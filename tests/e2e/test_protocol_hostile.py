"""Hostile input: the server survives it, refuses it with Redis's error texts,
keeps its memory, and loses no data. One server per event-loop backend
(io_uring, then epoll) for the whole file (each test leaves it answering
PING); the data written at the start must be intact at the end
(test_zz_data_intact runs last)."""
import resource
import socket
import time

import pytest

from chalk_harness import SANITIZE, SLOW, start_server

# Enough descriptors for 1k idle connections from this process.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(_soft, 4096), _hard), _hard))

MB = 1024


@pytest.fixture(scope="module", params=["uring", "epoll"])
def srv(request):
    with start_server(client_output_buffer_limit="normal 4mb 2mb 2", io_backend=request.param) as s:
        r = s.raw()
        assert r.cmd("DEBUG", "POPULATE", "1000") == "OK"
        s.digest = r.cmd("DEBUG", "DIGEST")
        yield s


def alive(srv):
    assert srv.raw().cmd("PING") == "PONG"


def connect(srv):
    return socket.create_connection(("127.0.0.1", srv.port), timeout=10 * SLOW)


def read_until_closed(sock):
    """Everything the server sends until it closes (b"" if reset)."""
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except (ConnectionResetError, socket.timeout):
        return data


@pytest.mark.parametrize("payload,error", [
    (b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*-1x\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$12ab\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n:5\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
])
def test_bad_lengths_get_error_and_close(srv, payload, error):
    socks = [connect(srv) for _ in range(100)]
    for s in socks:
        s.sendall(payload)
    for s in socks:
        assert read_until_closed(s) == error
        s.close()
    alive(srv)


def test_huge_announced_lengths_cost_nothing(srv):
    """*2147483647 and $536870912 are legal headers: the server waits for the
    bytes, and must not allocate for them meanwhile."""
    before, vm_before = srv.rss_kb(), srv.vm_kb()
    socks = []
    for i in range(100):
        for payload in (b"*2147483647\r\n", b"*1\r\n$536870912\r\n", b"*2\r\n$3\r\nGET\r\n$536870000\r\nab"):
            s = connect(srv)
            s.sendall(payload)
            socks.append(s)
    alive(srv)                              # all 300 were read by now
    grown = srv.rss_kb() - before
    assert grown < 16 * MB, f"RSS grew by {grown} kB for 300 announced-but-absent payloads"
    vm_grown = srv.vm_kb() - vm_before     # a malloc(512 MB) never touched shows here
    assert vm_grown < 256 * MB, f"virtual size grew by {vm_grown} kB"
    for s in socks:
        s.close()
    alive(srv)


def test_64mb_line_without_crlf(srv):
    before = srv.rss_kb()
    s = connect(srv)
    chunk = b"A" * (1 << 20)
    sent = 0
    try:
        for _ in range(64):
            s.sendall(chunk)
            sent += 1
    except (BrokenPipeError, ConnectionResetError):
        pass                                # closed at the limit, as it should
    data = read_until_closed(s)
    assert sent < 64 or data.startswith(b"-ERR Protocol error: too big inline request")
    s.close()
    assert srv.rss_kb() - before < 16 * MB
    assert "too big inline request" in srv.log() or sent < 64
    alive(srv)


def test_pipelining_without_reading_hits_output_limit(srv):
    """A client that sends and never reads: its replies pile up until the
    output buffer limit (4 MB here) disconnects it."""
    s = connect(srv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    big = b"x" * 65536
    req = b"*2\r\n$4\r\nECHO\r\n$65536\r\n" + big + b"\r\n"
    try:
        for _ in range(2000):               # 128 MB of replies if never cut
            s.sendall(req)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass                                # disconnected: expected
    s.close()
    deadline = time.time() + 10 * SLOW
    while "overcoming of output buffer limits" not in srv.log() and time.time() < deadline:
        time.sleep(0.1)
    assert "overcoming of output buffer limits" in srv.log()
    alive(srv)


def test_slow_reader_of_a_large_value(srv):
    """GETs of a 1 MB value from a client that never reads: cut at the output
    limit, while another client is served meanwhile."""
    r = srv.client()
    r.set("big", "v" * (1 << 20))
    cut_before = r.info("stats")["client_output_buffer_limit_disconnections"]
    s = connect(srv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        s.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 64)   # 64 MB of replies
    except (BrokenPipeError, ConnectionResetError):
        pass
    alive(srv)                              # the others are served meanwhile
    deadline = time.time() + 10 * SLOW
    cut = lambda: srv.client().info("stats")["client_output_buffer_limit_disconnections"]
    while cut() == cut_before and time.time() < deadline:
        time.sleep(0.1)
    assert cut() == cut_before + 1
    s.close()
    r.delete("big")


def test_10k_pipelined_commands_in_one_write(srv):
    s = connect(srv)
    n = 10000
    s.sendall(b"".join(b"*2\r\n$4\r\nECHO\r\n$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(n)))
    buf = b""
    want = b"".join(b"$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(n))
    while len(buf) < len(want):
        chunk = s.recv(1 << 20)
        assert chunk, "closed early"
        buf += chunk
    assert buf == want                      # every reply, in order
    s.close()


def test_1k_idle_connections(srv):
    fds_before = srv.fd_count()
    socks = [connect(srv) for _ in range(1000)]
    alive(srv)
    info = srv.client().info("clients")
    assert info["connected_clients"] >= 1000
    for s in socks:
        s.close()
    deadline = time.time() + 10 * SLOW
    while srv.fd_count() > fds_before + 5 and time.time() < deadline:
        time.sleep(0.1)
    assert srv.fd_count() <= fds_before + 5


def test_half_commands_then_disconnect(srv):
    for i in range(200):
        s = connect(srv)
        s.sendall([b"*3\r\n$3\r\nSET\r\n$1\r\nk", b"*2\r\n$4\r\nECHO\r\n$100\r\nabc",
                   b"ECHO \"unterminated", b"*1"][i % 4])
        s.close()
    alive(srv)


def test_binary_junk(srv):
    import random
    rnd = random.Random(7)
    for _ in range(50):
        s = connect(srv)
        s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 4096))))
        s.close()
    alive(srv)


@pytest.mark.parametrize("request_bytes", [
    b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 11\r\n\r\nFLUSHALL\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
])
def test_http_request_is_logged_and_closed(srv, request_bytes):
    s = connect(srv)
    s.sendall(request_bytes)
    data = read_until_closed(s)
    assert b"+OK" not in data               # FLUSHALL in the body never ran
    s.close()
    assert "Possible SECURITY ATTACK detected" in srv.log()
    alive(srv)


@pytest.mark.parametrize("first_line", [b"POST / HTTP/1.1\r\n", b"post /x\r\n", b"Host: example.com\r\n",
                                        b"*2\r\n$5\r\nHOST:\r\n$1\r\nx\r\n"])
def test_http_first_line_alone_closes_without_a_reply(srv, first_line):
    """commands.c's looks_like_http on its own: each of its words, in either
    case, inline or multibulk, closes the connection before any reply (no
    "-ERR unknown command"), as Redis does."""
    s = connect(srv)
    s.sendall(first_line)
    assert read_until_closed(s) == b""
    s.close()
    alive(srv)


def test_connect_close_cycles_leak_nothing(srv):
    fds_before, rss_before = srv.fd_count(), srv.rss_kb()
    for _ in range(10000):
        s = connect(srv)
        s.close()
    alive(srv)
    deadline = time.time() + 10 * SLOW
    while srv.fd_count() > fds_before + 2 and time.time() < deadline:
        time.sleep(0.1)
    assert srv.fd_count() <= fds_before + 2
    if not SANITIZE:     # ASan keeps freed memory in quarantine; its leak
        assert srv.rss_kb() - rss_before < 8 * MB   # checker covers this there


def test_zz_data_intact(srv):
    r = srv.raw()
    assert r.cmd("DBSIZE") == 1000
    assert r.cmd("DEBUG", "DIGEST") == srv.digest
