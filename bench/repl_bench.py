#!/usr/bin/python3
"""bench/repl_bench.py — the replication suite: full-sync time and replication
lag of chalk-server vs redis-server, leader and follower on loopback ports.

The one idea: replication is measured the way an operator sees it, through
the Redis commands both servers speak (REPLICAOF, INFO replication, DBSIZE):
  - full sync: a leader holding N keys, an empty follower told REPLICAOF;
    the time until the follower reports master_link_status:up and DBSIZE N;
  - lag: redis-benchmark writes SETs to the leader (50 clients) while this
    script samples, every 10 ms, the leader's master_repl_offset minus the
    follower's slave_repl_offset (bytes of the stream not yet applied); then
    the time the follower needs to catch up once the writes stop.
Both sides at appendfsync everysec. A server that does not know REPLICAOF
prints "n/a (not implemented)".

Left out on purpose: partial resync after a disconnect, WAIT, several
followers, a real network (loopback has no latency: lag here is the
servers' own, not the wire's). Interview topics: the figures answer
repl.replication (asynchronous replication: what the lag is, what a
failover would lose) in docs/PERFORMANCE.md.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_bench import Server, chalk_argv, log, redis_argv, send_command  # noqa: E402
from server_scale import dbsize, fill  # noqa: E402


def info_fields(port, section="replication"):
    reply = send_command(port, ["INFO", section]).decode(errors="replace")
    fields = {}
    for line in reply.splitlines():
        if ":" in line and not line.startswith(("#", "$")):
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    return fields


def wait_synced(follower, keys, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            f = info_fields(follower.port)
            if f.get("master_link_status") == "up" and dbsize(follower.port) == keys:
                return (time.monotonic() - t0) * 1e3
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    return None


def lag_bytes(leader, follower):
    """Follower first, then leader: the leader's offset is the newer sample,
    so the lag is never under-reported (nor negative)."""
    fol = int(info_fields(follower.port).get("slave_repl_offset", -1))
    lead = int(info_fields(leader.port).get("master_repl_offset", -1))
    return lead - fol if lead >= 0 and fol >= 0 else None


def measure_lag(leader, follower, requests):
    """Sample the lag during a SET load; returns (p50, p99, max, catch-up ms)."""
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(leader.port), "-c", "50",
            "-n", str(requests), "-r", "100000", "-t", "set", "-q"]
    samples, done = [], threading.Event()
    bench = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    threading.Thread(target=lambda: (bench.wait(), done.set()), daemon=True).start()
    while not done.is_set():
        lag = lag_bytes(leader, follower)
        if lag is not None:
            samples.append(lag)
        time.sleep(0.01)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        if lag_bytes(leader, follower) == 0:
            break
        time.sleep(0.002)
    catch_up = (time.monotonic() - t0) * 1e3
    if not samples:
        return None
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(samples), p99, max(samples), catch_up


def one(label, argv_fn, keys, requests, workdir):
    leader = Server(f"{label}-leader", argv_fn, workdir)
    follower = Server(f"{label}-follower", argv_fn, workdir)
    try:
        if not leader.start() or not follower.start():
            log(f"{label}: {leader.error or follower.error}")
            return "n/a (did not start)"
        reply = send_command(follower.port, ["REPLICAOF", "NO", "ONE"])
        if reply.startswith(b"-ERR unknown"):
            return "n/a (not implemented)"
        fill(leader.port, keys, 100)
        send_command(follower.port, ["REPLICAOF", "127.0.0.1", str(leader.port)])
        sync_ms = wait_synced(follower, keys, timeout=60 + keys / 10000)
        if sync_ms is None:
            return "n/a (full sync did not finish)"
        lag = measure_lag(leader, follower, requests)
        if lag is None:
            return "n/a (no replication offsets in INFO)"
        return (sync_ms,) + lag
    except (OSError, RuntimeError, ValueError) as e:
        log(f"{label}: {e}")
        return "n/a (error)"
    finally:
        for s in (follower, leader):
            s.stop()
            shutil.rmtree(s.dir, ignore_errors=True)


def write(a, rows):
    out = ["## Replication suite", "",
           f"Leader with {a.keys:,} keys of 100 B, empty follower, both at appendfsync everysec "
           f"on 127.0.0.1; lag sampled every 10 ms during {a.requests:,} SETs (50 clients). "
           "One repetition.", "",
           "| system | full sync ms | lag p50 bytes | lag p99 bytes | lag max bytes | catch-up ms |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    csv = ["system,keys,full_sync_ms,lag_p50_bytes,lag_p99_bytes,lag_max_bytes,catch_up_ms,status"]
    for label, r in rows:
        if isinstance(r, tuple):
            out.append(f"| {label} | {r[0]:,.0f} | {r[1]:,.0f} | {r[2]:,.0f} | {r[3]:,.0f} | {r[4]:,.1f} |")
            csv.append(f"{label},{a.keys},{r[0]:.1f},{r[1]:.0f},{r[2]:.0f},{r[3]:.0f},{r[4]:.1f},ok")
        else:
            out.append(f"| {label} | {r} | - | - | - | - |")
            csv.append(f'{label},{a.keys},,,,,,"{r}"')
    rs = dict(rows)
    if isinstance(rs.get("redis"), tuple) and isinstance(rs.get("chalk"), tuple):
        out.append(f"\nFull sync, Chalk/Redis: {rs['chalk'][0] / rs['redis'][0]:.2f}× "
                   "(lower is faster).")
    text = "\n".join(out) + "\n"
    print(text)
    for path, body in ((a.markdown, text), (a.csv, "\n".join(csv) + "\n")):
        if path:
            with open(path, "w") as f:
                f.write(body)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chalk-server", default=os.path.join(root, "build", "bin", "chalk-server"))
    ap.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--workdir", default=os.environ.get("TMPDIR", "/var/tmp"))
    ap.add_argument("--markdown")
    ap.add_argument("--csv")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="chalk-repl-bench-", dir=a.workdir)
    rows = []
    try:
        log(f"replication: redis, {a.keys} keys")
        # Redis waits 5 s by default for more replicas before a diskless
        # full sync starts; with one follower that wait is not the transfer.
        base = redis_argv(a.redis_server, "everysec")
        redis = lambda port, d: base(port, d) + ["--repl-diskless-sync-delay", "0"]
        rows.append(("redis", one("redis", redis, a.keys, a.requests, work)))
        log(f"replication: chalk, {a.keys} keys")
        if os.access(a.chalk_server, os.X_OK):
            rows.append(("chalk", one("chalk", chalk_argv(a.chalk_server, "everysec"), a.keys,
                                      a.requests, work)))
        else:
            rows.append(("chalk", "n/a (chalk-server not built)"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write(a, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
