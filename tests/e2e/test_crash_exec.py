"""Crash atomicity and durability of EXEC, with a real process and SIGKILL.

chalk-server runs with appendfsync always. Worker clients transfer random
amounts between accounts with WATCH/MULTI/EXEC; each EXEC also writes a
marker key t:<unique id> = "<from>,<to>,<amount>" in the SAME transaction.
At a random moment the server is SIGKILLed (at least 20 times), restarted on
the same data directory, and checked:

  1. every EXEC acknowledged before the kill is there (its marker exists):
     under always, EXEC's reply waits for the fdatasync of its batch;
  2. atomicity: each account equals its start balance plus the effect of
     exactly the transfers whose markers exist — a marker without its
     balance changes, or one balance change without the other, fails this;
  3. the total is conserved and no account is negative.

Transfers in doubt (EXEC sent, no reply before the kill) may be there or
not; rule 2 holds for them too.

A SIGKILL alone never tears a write (the kernel keeps what write() was
given), so every fourth kill also simulates a power loss that tore the log:
the newest segment is cut at a random byte of its last 4 KiB before the
restart. Acknowledged EXECs may then be lost (rule 1 is skipped for that
round: a real power loss cannot take fdatasync'ed bytes, this cut can), but
rules 2 and 3 must hold: recovery drops a torn EXEC whole, because the
EXEC is one batch with one COMMIT record. The writes are absolute SETs computed from
WATCHed reads, so the replay of rule 2 is exact only if every EXEC was
serializable and all-or-nothing.
"""
import os
import random
import signal
import threading
import time

import redis

from chalk_harness import SLOW, start_server

ACCOUNTS = 6
START = 1000
KILLS = 22
WORKERS = 4


def one_transfer(p, rng, tid):
    """WATCH/MULTI/EXEC one transfer with its marker; True once committed,
    False when WATCH failed (retry)."""
    a, b = rng.sample(range(ACCOUNTS), 2)
    ka, kb = f"acct:{a}", f"acct:{b}"
    p.watch(ka, kb)
    va, vb = int(p.get(ka)), int(p.get(kb))
    amount = min(va, rng.randint(1, 100))
    p.multi()
    p.set(ka, va - amount)
    p.set(kb, vb + amount)
    p.set(f"t:{tid}", f"{a},{b},{amount}")
    try:
        p.execute()
        return True
    except redis.WatchError:
        return False


def worker(port, seed, acked, lock, stop):
    rng = random.Random(seed)
    r = redis.Redis(port=port, decode_responses=True, socket_timeout=30 * SLOW)
    n = 0
    try:
        with r.pipeline() as p:
            while not stop.is_set():
                tid = f"{seed}-{n}"
                if one_transfer(p, rng, tid):
                    with lock:
                        acked.append(tid)      # the reply arrived: acknowledged
                    n += 1
    except (redis.ConnectionError, redis.TimeoutError, redis.WatchError, OSError):
        pass                                   # the kill (redis-py turns a
        # connection lost while WATCHing into a WatchError)
    finally:
        r.close()


def tear_newest_segment(data_dir, rng):
    """Cut the newest segment at a random byte of its last 4 KiB."""
    segs = sorted(f for f in os.listdir(data_dir) if f.endswith(".log"))
    path = os.path.join(data_dir, segs[-1])
    size = os.path.getsize(path)
    os.truncate(path, max(32, size - rng.randint(1, 4096)))


def check_state(c, acked_all):
    vals = [int(c.get(f"acct:{i}")) for i in range(ACCOUNTS)]
    markers = {k: c.get(k) for k in c.scan_iter(match="t:*", count=1000)}
    missing = [t for t in acked_all if f"t:{t}" not in markers]
    assert not missing, f"{len(missing)} acknowledged EXECs lost, e.g. {missing[:3]}"
    expect = [START] * ACCOUNTS
    for v in markers.values():
        a, b, amount = map(int, v.split(","))
        expect[a] -= amount
        expect[b] += amount
    assert vals == expect, f"balances {vals} != replay of {len(markers)} markers {expect}"
    assert sum(vals) == ACCOUNTS * START and min(vals) >= 0, vals
    return len(markers)


def test_sigkill_during_transfers():
    rng = random.Random(20261129)
    acked_all, tears, total_acked = [], 0, 0
    with start_server(appendfsync="always") as srv:
        srv.client().mset({f"acct:{i}": START for i in range(ACCOUNTS)})
        for kill in range(KILLS):
            acked, lock, stop = [], threading.Lock(), threading.Event()
            threads = [threading.Thread(target=worker,
                                        args=(srv.port, kill * 100 + w, acked, lock, stop))
                       for w in range(WORKERS)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.02, 0.4) * SLOW)
            rc = srv.kill(signal.SIGKILL)
            assert rc == -signal.SIGKILL
            stop.set()
            for t in threads:
                t.join()
            with lock:
                acked_all.extend(acked)
                total_acked += len(acked)
            torn = kill % 4 == 3
            if torn:
                tear_newest_segment(srv.data_dir, rng)
                tears += 1
            srv.start()
            c = srv.client()
            present = check_state(c, [] if torn else acked_all)
            if torn:                           # what survived is the new baseline
                acked_all = [k[2:] for k in c.scan_iter(match="t:*", count=1000)]
            assert present >= len(acked_all)
        assert total_acked > 10 * KILLS, f"too little load: {total_acked} transfers"
        print(f"\n{KILLS} kills ({tears} with a torn log), {total_acked} acknowledged "
              f"transfers, {present} present at the end")
