#!/usr/bin/python3
"""bench/server_scale.py — the server scale suite: memory per key and restart
time of chalk-server vs redis-server, as the data grows.

The one idea: fill both servers with the same N keys (MSET, pipelined over
one connection), read each process's resident memory (VmRSS from /proc, the
honest figure: Redis's used_memory leaves out fragmentation, and Chalk's
values live on disk), then stop it and time a restart until DBSIZE answers N
(Redis replays its AOF; Chalk rebuilds its index from the log and hints).
Both at appendfsync everysec, the default durability of both.

Left out on purpose: values above 1 KiB, eviction, RDB snapshots (Redis's
AOF with its RDB preamble is what it loads here, after BGREWRITEAOF: the
faster of its two formats). 10M keys is left to the engine scale suite
(engine_bench --light), where no network round trip is timed.

Interview topics: the figures answer cache.fundamentals (what keeping every
value in memory costs, Redis, vs keys only, Chalk) and storage.recovery, in
docs/PERFORMANCE.md.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_bench import Server, chalk_argv, log, redis_argv, resp_command, send_command  # noqa: E402

MSET_KEYS = 100      # keys per MSET
MSETS_IN_FLIGHT = 100  # commands written before reading their replies


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def read_replies(sock, count):
    """Read `count` one-line replies; returns how many were errors."""
    buf, lines, errors = b"", 0, 0
    while lines < count:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise OSError("server closed the connection")
        buf += chunk
        *done, buf = buf.split(b"\r\n")
        lines += len(done)
        errors += sum(1 for d in done if d.startswith(b"-"))
    return errors


def fill(port, keys, value_size):
    value = "v" * value_size
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        for first in range(0, keys, MSET_KEYS * MSETS_IN_FLIGHT):
            cmds = []
            for start in range(first, min(keys, first + MSET_KEYS * MSETS_IN_FLIGHT), MSET_KEYS):
                args = ["MSET"]
                for i in range(start, min(keys, start + MSET_KEYS)):
                    args += [f"key:{i:012d}", value]
                cmds.append(resp_command(args))
            s.sendall(b"".join(cmds))
            if read_replies(s, len(cmds)):
                raise RuntimeError("MSET failed")


def dbsize(port):
    reply = send_command(port, ["DBSIZE"])
    return int(reply[1:].split(b"\r\n")[0]) if reply.startswith(b":") else -1


def restart_ms(srv, keys):
    """Stop, start again on the same directory, time until DBSIZE == keys."""
    timeout = 60.0 + keys / 20000.0
    srv.stop()
    t0 = time.monotonic()
    if not srv.start(timeout=timeout):
        return None
    while time.monotonic() - t0 < timeout:
        try:
            if dbsize(srv.port) == keys:
                return (time.monotonic() - t0) * 1e3
        except OSError:
            pass
        time.sleep(0.01)
    return None


def one(label, argv_fn, keys, value_size, workdir):
    """(bytes of RSS per key, restart ms) or a reason string."""
    srv = Server(label, argv_fn, workdir)
    try:
        if not srv.start():
            log(f"{label}: {srv.error}")
            return "n/a (did not start)"
        for probe in (["MSET", "bench:probe", "1"], ["DBSIZE"]):
            if not srv.implements(probe):
                return "n/a (not implemented)"
        send_command(srv.port, ["DEL", "bench:probe"])
        base = rss_bytes(srv.proc.pid)
        fill(srv.port, keys, value_size)
        if dbsize(srv.port) != keys:
            return "n/a (DBSIZE does not match after the fill)"
        per_key = (rss_bytes(srv.proc.pid) - base) / keys
        if label == "redis":   # rewrite the AOF (RDB preamble): its fastest restart
            send_command(srv.port, ["BGREWRITEAOF"])
            time.sleep(0.2)
            while b"aof_rewrite_in_progress:1" in send_command(srv.port, ["INFO", "persistence"]):
                time.sleep(0.1)
        ms = restart_ms(srv, keys)
        if ms is None:
            log(f"{label}: restart failed: {srv.error or 'DBSIZE never reached N'}")
            return "n/a (restart failed)"
        return per_key, ms
    except (OSError, RuntimeError) as e:
        return f"n/a ({e})"
    finally:
        srv.stop()
        shutil.rmtree(srv.dir, ignore_errors=True)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chalk-server", default=os.path.join(root, "build", "bin", "chalk-server"))
    ap.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--keys", default="100000,1000000")
    ap.add_argument("--value-sizes", default="100,1024")
    ap.add_argument("--workdir", default=os.environ.get("TMPDIR", "/var/tmp"))
    ap.add_argument("--markdown")
    ap.add_argument("--csv")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="chalk-server-scale-", dir=a.workdir)
    rows = []
    try:
        for keys in [int(k) for k in a.keys.split(",")]:
            for size in [int(v) for v in a.value_sizes.split(",")]:
                log(f"scale: {keys} keys of {size} B")
                r = one("redis", redis_argv(a.redis_server, "everysec"), keys, size, work)
                c = one("chalk", chalk_argv(a.chalk_server, "everysec"), keys, size, work)
                rows.append((keys, size, r, c))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write(a, rows)
    return 0


def cell(x, i, fmt):
    return fmt.format(x[i]) if isinstance(x, tuple) else x


def write(a, rows):
    out = ["## Server scale suite", "",
           "Both servers at appendfsync everysec, filled with MSET (100 keys per command); "
           "memory = growth of the process's VmRSS per key; restart = stop, start, until "
           "DBSIZE answers N (Redis after BGREWRITEAOF). One repetition.", "",
           "| keys | value B | Redis RSS B/key | Chalk RSS B/key | Chalk/Redis memory "
           "| Redis restart ms | Chalk restart ms | Chalk/Redis restart |",
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines = ["keys,value_size,system,rss_per_key,restart_ms,status"]
    for keys, size, r, c in rows:
        both = isinstance(r, tuple) and isinstance(c, tuple)
        mem_ratio = f"{c[0] / r[0]:.2f}×" if both and r[0] > 0 else "-"
        rst_ratio = f"{c[1] / r[1]:.2f}×" if both and r[1] > 0 else "-"
        out.append(f"| {keys:,} | {size} | {cell(r, 0, '{:.0f}')} | {cell(c, 0, '{:.0f}')} | "
                   f"{mem_ratio} | {cell(r, 1, '{:.0f}')} | {cell(c, 1, '{:.0f}')} | {rst_ratio} |")
        for name, x in (("redis", r), ("chalk", c)):
            if isinstance(x, tuple):
                lines.append(f"{keys},{size},{name},{x[0]:.1f},{x[1]:.1f},ok")
            else:
                lines.append(f'{keys},{size},{name},,,"{x}"')
    out.append("")
    text = "\n".join(out)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
