"""The request path's cost rules that a benchmark would only show as a
ratio: checked here as behaviour, on both io-backends.

- A client whose reads fill its query buffer (a pipeline of many small
  requests, e.g. redis-benchmark's MSET at -P 16: 16 x ~300 bytes) gets a
  bigger buffer (networking.c, client_read_space), instead of being read
  1 KB per loop turn forever (one read, one parse and one reply write per
  KB). Seen through CLIENT INFO's qbuf-free, which is the buffer's free
  room.
"""
import re

import pytest

from chalk_harness import start_server


@pytest.fixture(params=["epoll", "uring"])
def server(request):
    with start_server(io_backend=request.param) as s:
        yield s


def test_query_buffer_grows_for_a_pipeline_of_small_requests(server):
    c = server.raw()
    n = 64
    mset = []
    for i in range(10):
        mset += [f"key:{i:012d}", "xxx"]
    one = f"*{len(mset) + 1}\r\n$4\r\nMSET\r\n".encode()
    for a in mset:
        one += f"${len(a)}\r\n{a}\r\n".encode()
    assert len(one) < 1024            # no single request fills a 1 KB buffer
    c.send(one * n)                   # ~17 KB in one burst
    for _ in range(n):
        assert c.read_line() == b"+OK"
    info = c.cmd("CLIENT", "INFO").decode()
    free = int(re.search(r"qbuf-free=(\d+)", info).group(1))
    assert free >= 4096, info         # stayed at 1 KB: the buffer never grew
