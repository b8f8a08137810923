"""chalk_harness — start the real chalk-server for a test, drive it, always stop it.

Usage (a whole e2e test)::

    from chalk_harness import start_server

    def test_ping():
        with start_server() as srv:              # free port, fresh temp --dir
            assert srv.client().ping()           # redis-py, RESP2
            assert srv.cli("ping") == "PONG"     # redis-cli -p <port> ping
            r = srv.raw()                        # raw socket
            r.send(b"*1\\r\\n$4\\r\\nPING\\r\\n")
            assert r.read_line() == b"+PONG"

    # or with the pytest fixtures of conftest.py:
    def test_set(server):                        # one server per test
        server.client().set("k", "v")

    def test_always(server_factory):             # extra config, as kwargs
        srv = server_factory(appendfsync="always", requirepass="x")

Extra config: ``start_server(appendfsync="always", requirepass="x")`` becomes
``--appendfsync always --requirepass x``; ``start_server(config_text="maxclients 5\n")``
writes a chalk.conf (srv.config_path) and passes it first, like
``chalk-server chalk.conf --port ...`` (underscores become dashes, True/False
become yes/no). The binary is $CHALK_BIN_DIR/chalk-server (ctest sets it),
else ../../build/bin/chalk-server. Under sanitizer builds (CHALK_SANITIZE=1)
every timeout is multiplied by 5.

The server is stopped at the end of the ``with`` block (or fixture), even when
the test fails, and at interpreter exit (atexit) if anything escaped; its exit
status must be 0 unless the test killed it itself (a crash or an ASan report
at shutdown fails the test).
"""

import atexit
import os
import signal
import socket
import subprocess
import tempfile
import shutil
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
SANITIZE = os.environ.get("CHALK_SANITIZE", "0").lower() in ("1", "on", "true", "yes")
SLOW = 5.0 if SANITIZE else 1.0
_LIVE = set()


def bin_dir():
    return os.environ.get("CHALK_BIN_DIR") or os.path.join(HERE, "..", "..", "build", "bin")


def server_binary():
    path = os.path.join(bin_dir(), "chalk-server")
    if not os.path.exists(path):
        raise RuntimeError(f"chalk-server not found at {path}: build first or set CHALK_BIN_DIR")
    return path


def free_port():
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_leftovers():
    for srv in list(_LIVE):
        srv.stop(check=False)


atexit.register(_kill_leftovers)


def config_args(kwargs):
    """{'appendfsync': 'always'} -> ['--appendfsync', 'always']"""
    out = []
    for key, value in kwargs.items():
        name = key.replace("_", "-")
        if value is True:
            value = "yes"
        elif value is False:
            value = "no"
        out.append("--" + name)
        if isinstance(value, (list, tuple)):
            out.extend(str(v) for v in value)
        else:
            out.append(str(value))
    return out


class RespError(Exception):
    """An error reply (-ERR ..., -WRONGTYPE ...) read by RawConn."""


class RawConn:
    """A raw socket to the server: send bytes, read replies byte-exactly.

    read_line() reads one CRLF-terminated line; read_reply() parses one whole
    RESP2/RESP3 reply into Python values (errors come back as RespError
    instances, not raised); cmd(*args) sends a multibulk and returns
    read_reply(). closed() tells whether the server has closed the socket.
    """

    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_reply(self):
        line = self.read_line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+",):
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            data = self.read_exact(n + 2)[:-2]
            return data[4:] if kind == b"=" else data
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        if kind == b"%":
            return {_hashable(self.read_reply()): self.read_reply() for _ in range(int(rest))}
        if kind == b"_":
            return None
        if kind == b",":
            return float(rest)
        if kind == b"#":
            return rest == b"t"
        if kind == b"(":
            return int(rest)
        raise ValueError(f"unknown reply type in {line!r}")

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.send(b"".join(out))
        return self.read_reply()

    def closed(self, timeout=2.0):
        """True if the server closed the connection (EOF) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


class ChalkServer:
    """One running chalk-server. Use start_server() rather than this class."""

    def __init__(self, keep_dir=False, config_text=None, **config):
        self.config = config
        self.config_text = config_text
        self.dir = tempfile.mkdtemp(prefix="chalk-e2e-")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.port = None
        self.proc = None
        self.keep_dir = keep_dir
        self.expected_exit = None
        self._clients = []

    # -- life cycle --------------------------------------------------------
    def start(self, timeout=10.0):
        for _attempt in range(3):        # a "free" port can be taken meanwhile
            self.port = self.port or free_port()
            args = [server_binary()]
            if self.config_text is not None:      # a config file comes first
                self.config_path = os.path.join(self.dir, "chalk.conf")
                if not os.path.exists(self.config_path):
                    with open(self.config_path, "w") as f:
                        f.write(self.config_text)
                args.append(self.config_path)
            args += ["--port", str(self.port), "--dir", self.data_dir,
                     "--bind", "127.0.0.1"] + config_args(self.config)
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                         cwd=self.dir)
            _LIVE.add(self)
            if self._wait_ready(timeout * SLOW):
                return self
            self.stop(check=False)
            if "Failed listening" not in self.log():
                break
            self.port = None
        raise RuntimeError(f"chalk-server did not start; log:\n{self.log()}")

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGTERM, check=True, timeout=30.0):
        """Stop the server; returns its exit status. With check, a status
        other than 0 (a crash, an ASan report) raises."""
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        self._clients = []
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
                if check:
                    raise AssertionError(f"chalk-server ignored {sig!r}; log:\n{self.log()[-4000:]}")
            self.proc = None
            self._log.close()
        _LIVE.discard(self)
        if check and rc not in (0, self.expected_exit):
            raise AssertionError(f"chalk-server exited with {rc}; log tail:\n{self.log()[-4000:]}")
        return rc

    def restart(self, **more_config):
        """Stop (SIGTERM, exit 0 expected) and start again on the same port and
        data directory, with extra config merged in."""
        self.stop()
        self.config.update(more_config)
        return self.start()

    def kill(self, sig=signal.SIGKILL):
        """Send a signal and wait for the process; returns its exit status
        (negative = killed by that signal). The exit is not checked."""
        self.expected_exit = None
        self.proc.send_signal(sig)
        rc = self.proc.wait(30 * SLOW)
        self.proc = None
        self._log.close()
        _LIVE.discard(self)
        return rc

    def cleanup(self):
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- talking to it -----------------------------------------------------
    def client(self, protocol=2, decode_responses=True, **kw):
        """A redis-py client (RESP2). protocol=3: redis-py 5's RESP3 if this
        redis-py has it, else a RawConn that said HELLO 3."""
        if protocol == 3:
            try:
                c = redis.Redis(port=self.port, protocol=3, decode_responses=decode_responses, **kw)
            except TypeError:                         # redis-py < 5
                c = self.raw()
                auth = ["AUTH", "default", kw["password"]] if "password" in kw else []
                reply = c.cmd("HELLO", "3", *auth)
                assert isinstance(reply, dict), reply
                return c
        else:
            c = redis.Redis(port=self.port, decode_responses=decode_responses,
                            socket_timeout=30 * SLOW, **kw)
        self._clients.append(c)
        return c

    def raw(self, timeout=10.0):
        conn = RawConn(self.port, timeout * SLOW)
        self._clients.append(conn)
        return conn

    def cli(self, *args, input=None, check=True):
        """redis-cli -p <port> args...; returns stdout without the last newline."""
        res = subprocess.run(["redis-cli", "-p", str(self.port), *map(str, args)],
                             input=input, capture_output=True, text=True, timeout=60 * SLOW)
        if check and res.returncode != 0:
            raise AssertionError(f"redis-cli failed: {res.stderr}")
        return res.stdout.rstrip("\n")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _status_kb(self, field):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def rss_kb(self):
        """The server's resident memory (VmRSS) in kB."""
        return self._status_kb("VmRSS")

    def vm_kb(self):
        """The server's virtual size (VmSize) in kB: catches allocations
        that were made but never touched, which RSS does not show."""
        return self._status_kb("VmSize")

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))


class start_server:
    """Context manager: ``with start_server(**config) as srv: ...``."""

    def __init__(self, **config):
        self.srv = ChalkServer(**config)

    def __enter__(self):
        try:
            return self.srv.start()
        except BaseException:
            self.srv.stop(check=False)
            self.srv.cleanup()
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            # Check the exit status only when the test itself passed, so a
            # test failure is not hidden behind a teardown error.
            self.srv.stop(check=exc_type is None)
        finally:
            self.srv.cleanup()
        return False
