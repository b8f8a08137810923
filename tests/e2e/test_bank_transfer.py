"""The bank-transfer invariant: optimistic transactions under contention.

A few accounts, several concurrent redis-py clients (threads, one connection
each) moving random amounts with the classic read-modify-write:

    WATCH a b ; GET a ; GET b ; MULTI ; SET a <a-x> ; SET b <b+x> ; EXEC

retrying when EXEC returns null (a WatchError in redis-py). The writes are
absolute SETs computed from the reads, so a broken WATCH would lose updates
and the total would drift: the test fails if WATCH stops detecting a
concurrent write. An observer client meanwhile reads every account with
MGET (and through SCAN + MGET, and KEYS) and must never see a half-applied EXEC
(the sum is always the total) — also when it reads a follower. At the end: the total is conserved, no
account is negative, the number of successful transfers is exact, and some
EXECs really did fail and retry (so WATCH was exercised).
"""
import random
import threading
import time

import redis

from chalk_harness import SLOW, start_server

ACCOUNTS = 5
START = 1000
WORKERS = 6
TRANSFERS_PER_WORKER = 600          # 3600 transfers in all


def transfer(r, rng, stats):
    """One transfer with WATCH/MULTI/EXEC; retries until it commits."""
    a, b = rng.sample(range(ACCOUNTS), 2)
    ka, kb = f"acct:{a}", f"acct:{b}"
    with r.pipeline() as p:
        while True:
            try:
                p.watch(ka, kb)
                va, vb = int(p.get(ka)), int(p.get(kb))
                amount = rng.randint(1, 200)
                if amount > va:
                    amount = va                 # never overdraw
                p.multi()
                p.set(ka, va - amount)
                p.set(kb, vb + amount)
                p.incr("transfers")
                p.execute()
                stats["ok"] += 1
                return
            except redis.WatchError:
                stats["conflicts"] += 1


def worker(port, seed, stats, errors):
    try:
        r = redis.Redis(port=port, decode_responses=True, socket_timeout=60)
        rng = random.Random(seed)
        for _ in range(TRANSFERS_PER_WORKER):
            transfer(r, rng, stats)
        r.close()
    except Exception as e:                      # reported by the main thread
        errors.append(repr(e))


def observer(port, stop, seen, errors):
    try:
        r = redis.Redis(port=port, decode_responses=True, socket_timeout=60)
        keys = [f"acct:{i}" for i in range(ACCOUNTS)]
        while not stop.is_set():
            vals = [int(v) for v in r.mget(keys)]
            if sum(vals) != ACCOUNTS * START or min(vals) < 0:
                errors.append(f"observer saw a half-applied EXEC: {vals}")
                return
            scanned = sorted(set(r.scan_iter(match="acct:*", count=2)))
            vals = [int(v) for v in r.mget(scanned)]
            if len(scanned) != ACCOUNTS or sum(vals) != ACCOUNTS * START:
                errors.append(f"observer (SCAN) saw {scanned} {vals}")
                return
            if sorted(r.keys("acct:*")) != sorted(keys):
                errors.append("observer (KEYS) saw a different key set")
                return
            seen[0] += 1
        r.close()
    except Exception as e:
        errors.append(repr(e))


def run_bank(port, observer_port):
    """The workers against port, the observer against observer_port; returns
    (transfers, conflicts, observer snapshots) after checking everything."""
    c = redis.Redis(port=port, decode_responses=True, socket_timeout=60)
    errors, stats, seen = [], [], [0]
    stop = threading.Event()
    obs = threading.Thread(target=observer, args=(observer_port, stop, seen, errors))
    obs.start()
    threads = []
    for w in range(WORKERS):
        stats.append({"ok": 0, "conflicts": 0})
        threads.append(threading.Thread(target=worker, args=(port, 1000 + w, stats[w], errors)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    obs.join()
    assert not errors, errors[:5]
    vals = [int(v) for v in c.mget([f"acct:{i}" for i in range(ACCOUNTS)])]
    assert sum(vals) == ACCOUNTS * START, vals
    assert min(vals) >= 0, vals
    ok = sum(s["ok"] for s in stats)
    conflicts = sum(s["conflicts"] for s in stats)
    assert ok == WORKERS * TRANSFERS_PER_WORKER
    assert int(c.get("transfers")) == ok
    assert conflicts > 0, "no EXEC ever failed: WATCH was not exercised"
    assert seen[0] > 0
    c.close()
    return ok, conflicts, seen[0]


def test_bank_transfer_invariant():
    with start_server() as srv:
        srv.client().mset({f"acct:{i}": START for i in range(ACCOUNTS)})
        ok, conflicts, seen = run_bank(srv.port, srv.port)
        print(f"\n{ok} transfers, {conflicts} WATCH conflicts retried, "
              f"{seen} consistent observer snapshots")


def test_bank_transfer_seen_from_a_replica():
    """The observer reads a follower: an EXEC reaches it as one unit
    (repl_stream.c's CHALK.APPLY) and is applied there as one batch, so the
    follower never shows half a transfer either; in the end it has exactly
    the leader's balances."""
    with start_server() as leader:
        leader.client().mset({f"acct:{i}": START for i in range(ACCOUNTS)})
        with start_server(replicaof=f"127.0.0.1 {leader.port}") as follower:
            f = follower.client()
            deadline = time.time() + 30 * SLOW
            while f.get("acct:0") is None and time.time() < deadline:
                time.sleep(0.02)
            run_bank(leader.port, follower.port)
            want = leader.client().mget([f"acct:{i}" for i in range(ACCOUNTS)] + ["transfers"])
            while f.mget([f"acct:{i}" for i in range(ACCOUNTS)] + ["transfers"]) != want:
                assert time.time() < deadline + 60 * SLOW, "follower never caught up"
                time.sleep(0.02)
