"""test_client_ketama_twemproxy.py — libchalk's ketama ring against twemproxy itself.

client/ring.c claims that a key goes to the same server as twemproxy's
`distribution: ketama` (with `hash: md5`) would send it. test_client_examples
checks the ring against a Python re-implementation; this test checks it
against the real proxy (Debian's nutcracker 0.5.0):

  1. start N real chalk-servers and a nutcracker in front of them;
  2. SET ~2000 keys through nutcracker (which picks the server);
  3. ask each chalk-server which keys it holds (KEYS *);
  4. ask libchalk's ring (chalk-example-sharding --map, same server names
     and weights) where each key goes; the two must agree on every key.

Twice: servers with configured names and weights 1:2:3 (twemproxy hashes
the name, "name-<j>"), and unnamed servers with equal weights (twemproxy
hashes "host:port-<j>"); each time again after a 4th server joins
(nutcracker restarted with the longer list). A third case puts an unnamed
server on port 11211, which twemproxy hashes as "host" alone (libmemcached's
habit, kept for compatibility); that server is a chalk-server bound to
127.0.0.2:11211 so it cannot clash with anything on 127.0.0.1.

Skipped when nutcracker is not installed (scripts/deps.sh installs it).
nutcracker and the servers are always stopped, by PID.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack

import pytest
import redis

from chalk_harness import SLOW, bin_dir, free_port, start_server

NUTCRACKER = shutil.which("nutcracker") or "/usr/sbin/nutcracker"
NKEYS = 2000

pytestmark = pytest.mark.skipif(not os.path.exists(NUTCRACKER),
                                reason="nutcracker (twemproxy) not installed: scripts/deps.sh")


class Nutcracker:
    """One nutcracker process on a free loopback port, stopped by PID."""

    def __init__(self, servers):
        # servers: list of (host, port, weight, name or None)
        self.dir = tempfile.mkdtemp(prefix="chalk-nutcracker-")
        self.port = free_port()
        lines = ["chalk:", "  listen: 127.0.0.1:%d" % self.port, "  hash: md5",
                 "  distribution: ketama", "  redis: true", "  auto_eject_hosts: false",
                 "  timeout: %d" % int(5000 * SLOW), "  servers:"]
        for host, port, weight, name in servers:
            lines.append("   - %s:%d:%d%s" % (host, port, weight, " " + name if name else ""))
        self.conf = os.path.join(self.dir, "nutcracker.yml")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = os.path.join(self.dir, "nutcracker.log")
        self.proc = subprocess.Popen(
            [NUTCRACKER, "-c", self.conf, "-o", self.log, "-s", str(free_port()),
             "-a", "127.0.0.1", "-p", os.path.join(self.dir, "pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._wait_listening(10 * SLOW)

    def _wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nutcracker exited: " + open(self.log).read()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nutcracker did not listen")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def ring_map(names, weights, keys):
    """libchalk's answer: key -> server name, from chalkc_ring_lookup()."""
    exe = os.path.join(bin_dir(), "chalk-example-sharding")
    args = [exe, "--map", "--weights", ",".join(map(str, weights))] + names
    p = subprocess.run(args, input="".join(k + "\n" for k in keys),
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert p.returncode == 0, p.stderr
    out = dict(line.rsplit(" ", 1) for line in p.stdout.splitlines())
    assert len(out) == len(keys)
    return out


def proxy_map(servers, backends, keys, tag):
    """twemproxy's answer: SET every key through nutcracker, then ask each
    backend which keys it holds. Returns key -> index into servers."""
    for b in backends:
        b.client().flushall()
    nc = Nutcracker(servers)
    try:
        c = redis.Redis(host="127.0.0.1", port=nc.port, socket_timeout=30 * SLOW,
                        decode_responses=True)
        pipe = c.pipeline(transaction=False)
        for k in keys:
            pipe.set(k, tag)
        assert all(pipe.execute())
        c.close()
    finally:
        nc.stop()
    where = {}
    for i, b in enumerate(backends):
        for k in b.client().keys("*"):
            assert k not in where, "key %r on two servers" % k
            where[k] = i
    assert sorted(where) == sorted(keys), "nutcracker lost or invented keys"
    return where


def twemproxy_name(host, port):
    """The name twemproxy hashes for an unnamed server (nc_conf.c)."""
    return host if port == 11211 else "%s:%d" % (host, port)


class ChalkOn11211:
    """A chalk-server on 127.0.0.2:11211 (chalk_harness binds 127.0.0.1 and a
    free port only), stopped by PID; exit status 0 required, like the harness."""

    host, port = "127.0.0.2", 11211

    def __enter__(self):
        try:
            socket.create_connection((self.host, self.port), 0.5).close()
            pytest.skip("127.0.0.2:11211 is already taken")
        except OSError:
            pass
        self.dir = tempfile.mkdtemp(prefix="chalk-e2e-11211-")
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir(), "chalk-server"), "--port", str(self.port),
             "--bind", self.host, "--dir", os.path.join(self.dir, "data")],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                self.client().ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError("chalk-server on 127.0.0.2:11211 did not start")

    def client(self):
        return redis.Redis(host=self.host, port=self.port, decode_responses=True,
                           socket_timeout=30 * SLOW)

    def __exit__(self, exc_type, exc, tb):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30 * SLOW)
        self.log.close()
        status = self.proc.returncode
        shutil.rmtree(self.dir, ignore_errors=True)
        if exc_type is None:
            assert status == 0, "chalk-server on 11211 exited with %d" % status
        return False


def check_agreement(servers, backends, keys, tag):
    names = [name or twemproxy_name(host, port) for host, port, _w, name in servers]
    weights = [w for _h, _p, w, _n in servers]
    proxy = proxy_map(servers, backends, keys, tag)
    ring = ring_map(names, weights, keys)
    wrong = [k for k in keys if ring[k] != names[proxy[k]]]
    assert not wrong, "%d of %d keys disagree, e.g. %r: ring %s, twemproxy %s" % (
        len(wrong), len(keys), wrong[0], ring[wrong[0]], names[proxy[wrong[0]]])
    # Every server got keys: the comparison did not pass because all keys
    # landed in one place.
    assert len(set(proxy.values())) == len(servers)


KEYS = ["user:%d" % i for i in range(NKEYS - 4)] + ["foo", "bar", "session:abc", "x" * 200]


@pytest.mark.parametrize("named", [True, False], ids=["named-weighted", "host-port-equal"])
def test_ring_agrees_with_twemproxy(named):
    with ExitStack() as stack:
        backends = [stack.enter_context(start_server()) for _ in range(4)]
        if named:
            servers = [("127.0.0.1", b.port, w, n) for b, w, n in
                       zip(backends, (1, 2, 3, 2), ("shard-a", "shard-b", "shard-c", "shard-d"))]
        else:
            servers = [("127.0.0.1", b.port, 1, None) for b in backends]
        check_agreement(servers[:3], backends[:3], KEYS, "three")
        check_agreement(servers, backends, KEYS, "four")   # a 4th server joins


def test_unnamed_port_11211_is_hashed_as_host_alone():
    with ExitStack() as stack:
        backends = [stack.enter_context(ChalkOn11211())]
        backends += [stack.enter_context(start_server()) for _ in range(2)]
        servers = [("127.0.0.2", 11211, 1, None)] + [("127.0.0.1", b.port, 1, None)
                                                     for b in backends[1:]]
        check_agreement(servers, backends, KEYS, "memcached-port")
