#!/usr/bin/python3
"""bench/server_scale.py — the server scale suite: memory per key, restart
time and throughput of chalk-server vs redis-server as the data grows
(100k -> 1M -> 10M keys, 100-byte and 1-KiB values).

The one idea: fill one server with N keys `key:%012d` (MSET, 100 keys per
command, pre-built byte buffers written by one thread while another counts
the replies), read its resident memory (VmRSS from /proc, the honest figure:
Redis's used_memory leaves out fragmentation, and Chalk's values live on
disk), run redis-benchmark GET and SET with -r N over the filled key space
(random keys, 50 clients, the same value size), then stop it and time a
restart until DBSIZE answers N (Redis loads its AOF, rewritten first by
BGREWRITEAOF into an RDB preamble: its faster format; Chalk rebuilds its
index from the log and hints). Then the data directory is deleted and the
other server takes its turn. Both at appendfsync everysec, the default
durability of both.

One server at a time: Redis at 10M x 1 KiB needs ~14 GB of RSS and ~10 GB
of AOF, so the two sides cannot share the machine; the throughput ratio
therefore compares two moments of a shared machine, not interleaved runs
(the memory and restart figures do not depend on the load). Before each
server at each size, MemAvailable and the free disk are checked against an
estimate (the per-key figure measured at the previous size, x1.25, + 1 GiB);
when they fall short the cell says "not measured: why" instead.

Left out on purpose: values above 1 KiB, eviction, RDB-only persistence,
more than one repetition of the fill and the restart (a 10M fill takes
minutes; the throughput rows repeat --reps times).

Interview topics: the figures answer cache.fundamentals (what keeping every
value in memory costs, Redis, vs keys only, Chalk) and storage.recovery, in
docs/PERFORMANCE.md.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_bench import Server, chalk_argv, log, redis_argv, run_benchmark, send_command  # noqa: E402

MSET_KEYS = 100         # keys per MSET
CHUNK_KEYS = 10000      # keys per sendall (100 MSETs, ~10 MB at 1 KiB)
GIB = 1 << 30


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def mset_chunk(first, end, value):
    """RESP bytes of the MSETs that set keys [first, end) to `value`."""
    item = b"$16\r\nkey:%012d\r\n$" + b"%d\r\n" % len(value) + value + b"\r\n"
    parts = []
    for start in range(first, end, MSET_KEYS):
        stop = min(end, start + MSET_KEYS)
        parts.append(b"*%d\r\n$4\r\nMSET\r\n" % (1 + 2 * (stop - start)))
        parts.append(b"".join([item % i for i in range(start, stop)]))
    return b"".join(parts)


def fill(port, keys, value_size):
    """Sets every key; one thread writes, this one's helper counts replies."""
    commands = (keys + MSET_KEYS - 1) // MSET_KEYS
    value = b"v" * value_size
    state = {"lines": 0, "error": None}

    def count_replies(sock):
        try:
            while state["lines"] < commands:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    raise OSError("server closed the connection")
                if b"-" in chunk:
                    raise RuntimeError(f"MSET failed: {chunk[:80]!r}")
                state["lines"] += chunk.count(b"\n")
        except (OSError, RuntimeError) as e:
            state["error"] = e

    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        reader = threading.Thread(target=count_replies, args=(s,), daemon=True)
        reader.start()
        for first in range(0, keys, CHUNK_KEYS):
            if state["error"]:
                break
            s.sendall(mset_chunk(first, min(keys, first + CHUNK_KEYS), value))
        reader.join()
    if state["error"]:
        raise state["error"] if isinstance(state["error"], RuntimeError) else OSError(state["error"])


def dbsize(port):
    reply = send_command(port, ["DBSIZE"], timeout=30)
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


def throughput(port, keys, value_size, requests, reps):
    """{"GET": median req/s, "SET": ...}: redis-benchmark -r keys, GET and SET
    alternating rep by rep; None where redis-benchmark failed."""
    samples = {"GET": [], "SET": []}
    for _ in range(reps):
        for test in samples:
            r = run_benchmark(port, ["-r", str(keys), "-t", test.lower()], requests=requests,
                              pipeline=1, clients=50, data_size=value_size)
            if r:
                samples[test].append(r[0])
    return {t: statistics.median(s) if s else None for t, s in samples.items()}


def wait_aof_rewrite(port):
    send_command(port, ["BGREWRITEAOF"], timeout=30)
    time.sleep(0.2)
    while b"aof_rewrite_in_progress:1" in send_command(port, ["INFO", "persistence"], timeout=30):
        time.sleep(0.1)


def room_for(label, keys, value_size, workdir, per_key):
    """None when memory and disk look enough, else the reason not to try."""
    need_mem = per_key * keys * 1.25 + GIB
    have_mem = mem_available()
    if have_mem < need_mem:
        return (f"not measured: needs ~{need_mem / GIB:.1f} GiB of memory, "
                f"MemAvailable {have_mem / GIB:.1f} GiB")
    # Redis: the AOF, then its rewrite next to it; Chalk: the log (and a compaction).
    need_disk = (value_size + 64) * keys * 2 + GIB
    have_disk = shutil.disk_usage(workdir).free
    if have_disk < need_disk:
        return (f"not measured: needs ~{need_disk / GIB:.1f} GiB of disk, "
                f"{have_disk / GIB:.1f} GiB free")
    return None


def one(label, argv_fn, keys, value_size, workdir, a):
    """A dict of figures, or a reason string."""
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
        t0 = time.monotonic()
        fill(srv.port, keys, value_size)
        fill_s = time.monotonic() - t0
        if dbsize(srv.port) != keys:
            return "n/a (DBSIZE does not match after the fill)"
        per_key = (rss_bytes(srv.proc.pid) - base) / keys
        log(f"  {label}: filled in {fill_s:.1f} s, {per_key:.0f} B/key")
        rps = throughput(srv.port, keys, value_size, a.requests, a.reps)
        if dbsize(srv.port) != keys:   # SET -r keys only overwrites
            return "n/a (DBSIZE changed during the throughput test)"
        if label == "redis":   # rewrite the AOF (RDB preamble): its fastest restart
            wait_aof_rewrite(srv.port)
        ms = restart_ms(srv, keys)
        if ms is None:
            log(f"{label}: restart failed: {srv.error or 'DBSIZE never reached N'}")
            return "n/a (restart failed)"
        log(f"  {label}: restart {ms:.0f} ms, GET {rps['GET']} SET {rps['SET']} req/s")
        return {"rss_per_key": per_key, "restart_ms": ms, "get_rps": rps["GET"],
                "set_rps": rps["SET"], "fill_s": fill_s}
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
    ap.add_argument("--keys", default="100000,1000000,10000000")
    ap.add_argument("--value-sizes", default="100,1024")
    ap.add_argument("--requests", type=int, default=100000,
                    help="redis-benchmark requests per GET/SET run")
    ap.add_argument("--reps", type=int, default=3, help="GET/SET runs per server and size")
    ap.add_argument("--workdir", default=os.environ.get("TMPDIR", "/var/tmp"))
    ap.add_argument("--markdown")
    ap.add_argument("--csv")
    a = ap.parse_args()
    if not shutil.which("redis-benchmark"):
        log("redis-benchmark not found (Debian: redis-tools; scripts/deps.sh)")
        return 1
    # SIGTERM / SIGHUP become exceptions, so the finally blocks stop the servers.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    work = tempfile.mkdtemp(prefix="chalk-server-scale-", dir=a.workdir)
    systems = [("redis", redis_argv(a.redis_server, "everysec")),
               ("chalk", chalk_argv(a.chalk_server, "everysec"))]
    per_key = {}   # (system, value size) -> B/key at the last size measured
    rows = []
    t_start = time.monotonic()
    try:
        for keys in [int(k) for k in a.keys.split(",")]:
            for size in [int(v) for v in a.value_sizes.split(",")]:
                log(f"scale: {keys} keys of {size} B")
                cells = {}
                for label, argv_fn in systems:
                    guess = per_key.get((label, size), size + 300 if label == "redis" else 300)
                    why = room_for(label, keys, size, work, guess)
                    cells[label] = why or one(label, argv_fn, keys, size, work, a)
                    if why:
                        log(f"  {label}: {why}")
                    elif isinstance(cells[label], dict):
                        per_key[(label, size)] = cells[label]["rss_per_key"]
                rows.append((keys, size, cells["redis"], cells["chalk"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write(a, rows, time.monotonic() - t_start)
    return 0


def fmt(x, key, spec):
    if not isinstance(x, dict):
        return x
    v = x.get(key)
    return "-" if v is None else spec.format(v)


def ratio(r, c, key):
    if isinstance(r, dict) and isinstance(c, dict) and r.get(key) and c.get(key) is not None:
        return f"{c[key] / r[key]:.2f}×"
    return "-"


def write(a, rows, seconds):
    out = ["## Server scale suite", "",
           f"One server at a time (Redis, then Chalk, each deleted before the next), both at "
           f"appendfsync everysec, filled with MSET (100 keys of `key:%012d` per command, "
           f"pipelined); memory = growth of the process's VmRSS per key after the fill; "
           f"restart = stop, start, until DBSIZE answers N (Redis after BGREWRITEAOF: its "
           f"AOF with an RDB preamble). One fill and one restart per cell; {a.reps} GET/SET "
           f"runs (median). Suite time {seconds:.0f} s.", "",
           "| keys | value B | Redis RSS B/key | Chalk RSS B/key | Chalk/Redis memory "
           "| Redis restart ms | Chalk restart ms | Chalk/Redis restart |",
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for keys, size, r, c in rows:
        out.append(f"| {keys:,} | {size} | {fmt(r, 'rss_per_key', '{:.0f}')} | "
                   f"{fmt(c, 'rss_per_key', '{:.0f}')} | {ratio(r, c, 'rss_per_key')} | "
                   f"{fmt(r, 'restart_ms', '{:,.0f}')} | {fmt(c, 'restart_ms', '{:,.0f}')} | "
                   f"{ratio(r, c, 'restart_ms')} |")
    out += ["", f"Throughput over the filled key space: redis-benchmark -c 50 -P 1 -r N "
            f"-n {a.requests:,} -d <value size>, GET and SET of random keys (SET overwrites, "
            f"DBSIZE stays N); the two servers ran one after the other, not interleaved. "
            f"Fill = seconds to MSET the N keys from one Python connection.", "",
            "| keys | value B | Redis GET/s | Chalk GET/s | Chalk/Redis GET | Redis SET/s "
            "| Chalk SET/s | Chalk/Redis SET | Redis fill s | Chalk fill s |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for keys, size, r, c in rows:
        out.append(f"| {keys:,} | {size} | {fmt(r, 'get_rps', '{:,.0f}')} | "
                   f"{fmt(c, 'get_rps', '{:,.0f}')} | {ratio(r, c, 'get_rps')} | "
                   f"{fmt(r, 'set_rps', '{:,.0f}')} | {fmt(c, 'set_rps', '{:,.0f}')} | "
                   f"{ratio(r, c, 'set_rps')} | {fmt(r, 'fill_s', '{:.1f}')} | "
                   f"{fmt(c, 'fill_s', '{:.1f}')} |")
    out.append("")
    cols = ["rss_per_key", "restart_ms", "get_rps", "set_rps", "fill_s"]
    lines = ["keys,value_size,system," + ",".join(cols) + ",status"]
    for keys, size, r, c in rows:
        for name, x in (("redis", r), ("chalk", c)):
            if isinstance(x, dict):
                lines.append(f"{keys},{size},{name}," + ",".join(
                    "" if x[k] is None else f"{x[k]:.1f}" for k in cols) + ",ok")
            else:
                lines.append(f'{keys},{size},{name},,,,,,"{x}"')
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
