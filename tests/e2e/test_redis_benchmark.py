"""redis-benchmark's default test list against chalk-server (-q, small -n,
-c 10): every test whose commands Chalk implements must run to completion
without an error reply, and leave exactly the data Redis would.

redis-benchmark stops at the first error reply, so each test runs on its
own (-t <test>), and a test whose command is unknown to this chalk-server
(COMMAND INFO says null: the list, set, hash, zset commands belong to the
data-types issue) is reported as skipped by name, not failed. No timing
assertions: throughput lives in bench/.
"""
import shutil
import subprocess

import pytest

from chalk_harness import SLOW

N = 2000
# redis-benchmark -t name -> the commands it sends (its default list, 7.0)
DEFAULT_TESTS = {
    "ping_inline": ["ping"], "ping_mbulk": ["ping"], "set": ["set"], "get": ["get"],
    "incr": ["incr"], "lpush": ["lpush"], "rpush": ["rpush"], "lpop": ["lpop"], "rpop": ["rpop"],
    "sadd": ["sadd"], "hset": ["hset"], "spop": ["spop"], "zadd": ["zadd"],
    "zpopmin": ["zpopmin"], "lrange": ["lpush", "lrange"], "mset": ["mset"],
}

pytestmark = pytest.mark.skipif(not shutil.which("redis-benchmark"), reason="no redis-benchmark")


def implemented(raw, commands):
    return all(raw.cmd("COMMAND", "INFO", c)[0] is not None for c in commands)


def run_benchmark(port, test):
    res = subprocess.run(["redis-benchmark", "-p", str(port), "-q", "-n", str(N), "-c", "10",
                          "-t", test], capture_output=True, text=True, timeout=300 * SLOW)
    out = res.stdout.replace("\r", "\n") + res.stderr
    return res.returncode, out


def test_default_list(server):
    r = server.client()
    raw = server.raw()                  # redis-py 4.3 reshapes COMMAND INFO
    ran, skipped = [], []
    for test, commands in DEFAULT_TESTS.items():
        if not implemented(raw, commands):
            skipped.append(test)
            continue
        rc, out = run_benchmark(server.port, test)
        assert rc == 0 and "Error from server" not in out, f"{test}: rc {rc}\n{out[-2000:]}"
        assert "requests per second" in out, f"{test}: no result line\n{out[-2000:]}"
        ran.append(test)
    print(f"redis-benchmark ran: {ran}; skipped (commands not in this server): {skipped}")
    for mine in ("ping_inline", "ping_mbulk", "set", "get", "incr", "mset"):
        assert mine in ran, f"{mine} must run: its commands are Chalk's"
    # The data Redis would leave: SET and MSET write a 3-byte payload (-d 3;
    # random bytes since Redis 6.2) to the literal key names (no -r), and
    # INCR ran exactly N times on one counter.
    assert r.strlen("key:__rand_int__") == 3
    assert r.get("counter:__rand_int__") == str(N)
    assert r.ping()
