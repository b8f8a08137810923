"""redis_peer.py — start Debian's redis-server as a test peer, always stop it.

The client's e2e tests run against a real server. chalk-server is one;
redis-server is the reference peer (the behaviour chalk-cli and libchalk
must match). This fixture starts redis-server on a free loopback port in a
temporary directory (no persistence, a unix socket too, DEBUG enabled for
`DEBUG PROTOCOL`), waits until it answers PING, and stops it on exit —
also when the test fails.

    with RedisPeer() as peer:
        peer.port, peer.unix_path, peer.restart()

`servers()` lists the servers a test should run against: redis always, and
chalk-server when tests/e2e/chalk_harness.py and the binary exist.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ping(port, timeout=10.0):
    """Polls until a PING gets +PONG; raises if it never does."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server on port %d did not answer PING" % port)


class RedisPeer:
    """A redis-server of our own; a context manager that always stops it."""

    name = "redis"

    def __init__(self, extra_args=()):
        self.extra_args = list(extra_args)
        self.dir = tempfile.mkdtemp(prefix="chalk-redis-peer-")
        self.port = free_port()
        self.host = "127.0.0.1"
        self.unix_path = os.path.join(self.dir, "redis.sock")
        self.proc = None

    def start(self):
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--unixsocket", self.unix_path, "--enable-debug-command", "yes",
                "--logfile", os.path.join(self.dir, "redis.log")] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_ping(self.port)
        return self

    def stop(self, check=True):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def chalk_available():
    """True when chalk-server can be started by tests/e2e/chalk_harness.py."""
    here = os.path.dirname(os.path.abspath(__file__))
    bindir = os.environ.get("CHALK_BIN_DIR", "")
    return (os.path.exists(os.path.join(here, "chalk_harness.py")) and
            os.path.exists(os.path.join(bindir, "chalk-server")))
