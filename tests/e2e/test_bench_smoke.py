"""test_bench_smoke.py — the benchmark scripts still run (tiny sizes).

Benchmarks are not tests: nothing here looks at a time or a speed. This file
only checks that bench/ still works end to end, so that `make bench` does
not rot between the occasions someone runs it:
  - engine_bench prints every row of the engine suite, with a ratio
    Chalk/peer for every row both sides measure, and every issue-3 target
    with a verdict;
  - server_bench.py starts redis-server and chalk-server on free loopback
    ports, prints a row per test with either a ratio or an explicit
    "n/a (...)", and stops both servers;
  - repl_bench.py measures a Redis leader/follower pair and prints Chalk's
    row (figures or "n/a (...)");
  - server_scale.py fills each server in turn at two sizes and prints
    memory, restart and GET/SET rows (figures or "n/a (...)"), removing its
    data; a size that cannot fit is printed as "not measured: why";
  - report.py turns those outputs into RESULTS.md (and PNGs with gnuplot),
    and `--section server-scale` replaces only that section of it.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

BIN = os.environ.get("CHALK_BIN_DIR", "")
SRC = os.environ.get("CHALK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BENCH = os.path.join(SRC, "bench")
ENGINE_BENCH = os.path.join(BIN, "engine_bench")
CHALK_SERVER = os.path.join(BIN, "chalk-server")

# Rows the peers measure too: each must print three ratios (Chalk/leveldb,
# Chalk/rocksdb, Chalk/lmdb).
COMPARED_ROWS = ["fillseq", "fillrandom", "readrandom", "reopen", "readrestart",
                 "reopen_cold", "readcold", "group_commit",
                 "fsync_rate", "fillseq_sync", "fillrandom_sync", "sync_batches", "mem_per_key",
                 "disk_per_key"]
# Rows every engine measures but where a peer may be 0 (no ratio then).
NUMBERS_ONLY_ROWS = ["mapped_per_key"]
# Chalk-only rows: a number in Chalk's column (recovery_hint and write_amp
# may say "-" while the engine has no compaction: then stderr says why).
CHALK_ROWS = ["batches_per_fsync", "index_per_key", "recovery_log"]
CHALK_ROWS_MAYBE = ["recovery_hint", "write_amp"]
TARGETS = ["random writes, fsync no", "random writes, durable batches:",
           "random writes, durable batches, 16 at once", "random reads",
           "durable batches/s", "recovery with hint files"]
NUMBER = re.compile(r"^-?\d+(\.\d+)?")


def table_row(text, name):
    rows = [l for l in text.splitlines() if l.startswith(f"| {name}: ")]
    assert len(rows) == 1, f"row {name!r} printed {len(rows)} times"
    return [c.strip() for c in rows[0].strip("|").split("|")]


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory):
    if not os.path.exists(ENGINE_BENCH):
        pytest.skip("engine_bench not built (needs libleveldb-dev librocksdb-dev liblmdb-dev)")
    out = tmp_path_factory.mktemp("engine")
    csv_path, md_path = out / "engine.csv", out / "engine.md"
    r = subprocess.run([ENGINE_BENCH, "--keys", "4000", "--sync-keys", "3200", "--reps", "1",
                        "--fsync-iters", "20", "--dir", str(out), "--csv", str(csv_path),
                        "--markdown", str(md_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # Every engine ran every row without an error (a failed row prints "-",
    # and the engine's own complaint lands on stderr).
    assert not re.search(r"child died|Corruption|missing|bad length|chalk \w+: ", r.stderr), r.stderr
    return r.stdout, csv_path, md_path, r.stderr


def test_engine_rows_have_ratios(engine_run):
    stdout, _csv, md_path, _err = engine_run
    assert md_path.read_text().strip() == stdout.strip()
    for name in COMPARED_ROWS:
        cells = table_row(stdout, name)
        # row, unit, 4 engines, 3 ratios
        assert len(cells) == 9, (name, cells)
        assert all(NUMBER.match(c) for c in cells[2:6]), (name, cells)
        assert all(c.endswith("×") and NUMBER.match(c) for c in cells[6:]), (name, cells)
    for name in NUMBERS_ONLY_ROWS:
        cells = table_row(stdout, name)
        assert all(NUMBER.match(c) for c in cells[2:6]), (name, cells)


def test_engine_chalk_only_rows(engine_run):
    stdout, _csv, _md, stderr = engine_run
    for name in CHALK_ROWS:
        assert NUMBER.match(table_row(stdout, name)[2]), name
    for name in CHALK_ROWS_MAYBE:
        cell = table_row(stdout, name)[2]
        assert NUMBER.match(cell) or ("no compaction ran" in stderr), (name, cell)


def test_engine_targets_and_csv(engine_run):
    stdout, csv_path, _md, _err = engine_run
    for target in TARGETS:
        lines = [l for l in stdout.splitlines() if l.startswith(f"| {target}")]
        assert len(lines) == 1, target
        assert re.search(r"\| (\*\*met\*\*|\*\*not met\*\*|not measured) \|$", lines[0]), lines[0]
    csv_text = csv_path.read_text()
    assert csv_text.startswith("row,unit,engine,median,min,max,reps\n")
    assert re.search(r"^fdatasync,ops/s,disk,\d", csv_text, re.M)
    for engine in ("chalk", "leveldb", "rocksdb", "lmdb"):
        assert re.search(rf"^fillrandom,ops/s,{engine},\d", csv_text, re.M), engine


@pytest.fixture(scope="module")
def server_run(tmp_path_factory):
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        pytest.skip("redis-server / redis-benchmark not installed")
    out = tmp_path_factory.mktemp("server")
    r = subprocess.run([sys.executable, os.path.join(BENCH, "server_bench.py"),
                        "--chalk-server", CHALK_SERVER, "--requests", "300", "--reps", "1",
                        "--modes", "no", "--pipelines", "1", "--tests", "PING,SET,GET",
                        "--workdir", str(out), "--csv", str(out / "server.csv"),
                        "--markdown", str(out / "server.md")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout, out, r.stderr


def test_server_rows_have_ratio_or_reason(server_run):
    """Every main-table row: req/s and its ratio, and beside them each
    server's CPU per request (> 0) and the ratio Redis CPU / Chalk CPU, in
    the markdown and in the CSV."""
    stdout, out, stderr = server_run
    head = [l for l in stdout.splitlines() if l.startswith("| command |")]
    assert len(head) == 1 and "| Redis req/s | Redis CPU µs/req | chalk-uring req/s | " \
        "chalk-uring/Redis | chalk-uring CPU µs/req | Redis/chalk-uring CPU |" in head[0], head
    for test in ("PING", "SET", "GET"):
        rows = [l for l in stdout.splitlines() if l.startswith(f"| {test} |")]
        assert len(rows) == 1, test
        cells = [c.strip() for c in rows[0].strip("|").split("|")]
        # row, Redis req/s + CPU, 2 x (req/s, ratio, CPU, CPU ratio), 3 latencies
        assert len(cells) == 14, cells
        assert NUMBER.match(cells[1].replace(",", "")), cells       # Redis req/s
        assert float(cells[2]) > 0, cells                           # Redis CPU µs/req
        for rps, ratio, cpu, cpu_ratio in (cells[3:7], cells[7:11]):   # uring, epoll
            if rps.startswith("n/a ("):
                continue
            assert ratio.endswith("×") and NUMBER.match(rps.replace(",", "")), cells
            assert float(cpu) > 0 and cpu_ratio.endswith("×") and \
                float(cpu_ratio.rstrip("×")) > 0, cells
    if os.access(CHALK_SERVER, os.X_OK):
        ping_row = [l for l in stdout.splitlines() if l.startswith("| PING |")][0]
        assert "×" in ping_row, "chalk-server is built but no backend was measured:\n" + stderr
    import csv
    with open(out / "server.csv") as f:
        rows = list(csv.DictReader(f))
    main = [r for r in rows if r["kind"] == "main" and r["status"] == "ok"]
    assert {r["test"] for r in main if r["system"] == "redis"} == {"PING", "SET", "GET"}, rows
    for r in main:
        assert float(r["server_cpu_us"]) > 0, r
        if r["system"] != "redis":
            assert float(r["cpu_ratio"]) > 0, r
    # The servers were stopped and their scratch directories removed.
    assert not [p for p in out.iterdir() if p.name.startswith("chalk-server-bench-")]


def test_ratio_cells_never_round_up_to_a_goal():
    """A table cell just below a goal shows three decimals, so it cannot
    read as a pass (0.998 is not "1.00×"); other cells keep two."""
    sys.path.insert(0, BENCH)
    try:
        import server_bench as sb
    finally:
        sys.path.remove(BENCH)
    assert sb.fmt_ratio(0.998) == "0.998×"
    assert sb.fmt_ratio(0.7951) == "0.795×"
    assert sb.fmt_ratio(1.4996) == "1.499×"
    assert sb.fmt_ratio(1.0) == "1.00×"
    assert sb.fmt_ratio(0.97) == "0.97×"
    assert sb.fmt_ratio(1.004) == "1.00×"
    assert sb.fmt_ratio(None) == "-"


def test_server_targets_list_every_row_below():
    """The verdict lines name every row under its goal (none cut off), show
    three decimals where two would round up to the goal, and issue 6's line
    covers its eight data-type rows at appendfsync no only."""
    sys.path.insert(0, BENCH)
    try:
        import server_bench as sb
    finally:
        sys.path.remove(BENCH)

    def row(chalk_rps, chalk_cpu=1.0):
        return {"redis": {"rps": 1000.0, "cpu_us": 1.0},
                "chalk-epoll": {"rps": chalk_rps, "cpu_us": chalk_cpu}}

    results = [("main", "no", 1, f"T{i}", 50, 1, row(900.0)) for i in range(14)]
    results.append(("main", "no", 16, "PING", 50, 1, row(999.6)))       # 0.9996: below
    for t, rps in zip(sb.ISSUE4_TESTS, (990.0, 999.5, 1000.0, 1010.0)):  # issue 4's own rows
        results.append(("main", "everysec", 1, t, 50, 1, row(rps)))
    results.append(("main", "always", 1, "SET", 50, 1, row(1600.0)))
    results.append(("main", "always", 16, "SET", 50, 1, row(1400.0)))
    for t in sb.TYPE_TARGET_TESTS:
        results.append(("main", "no", 16, t, 50, 1, row(790.0 if t == "LPUSH" else 850.0,
                                                         1.25 if t == "HGET" else 0.9)))
    results.append(("main", "everysec", 16, "LPOP", 50, 1, row(100.0, None)))  # not issue 6's mode
    out = []
    sb.targets(out, results, ["chalk-epoll"])
    text = "\n".join(out)
    # Issue 4's line judges its four commands only (SET GET INCR MSET, the
    # SET rows at always included); every other row is on the "(also)" line.
    issue4 = [l for l in out if l.startswith("| issue 4: ≥ 1.0×")]
    assert len(issue4) == 1, text
    assert "4 of 6 rows ≥ 1.0×; below: SET P1 everysec (0.99×), GET P1 everysec (0.999×) |" \
        in issue4[0], issue4[0]
    assert "INCR" not in issue4[0].split("below:")[1] and "T0" not in issue4[0], issue4[0]
    also = [l for l in out if l.startswith("| (also) ≥ 1.0×")]
    assert len(also) == 1, text
    for i in range(14):
        assert f"T{i} P1 no (0.90×)" in also[0], also[0]
    assert "PING P16 no (0.999×)" in also[0], also[0]
    assert "…" not in also[0] and "**not met**" in also[0]
    assert " SET P1 everysec" not in also[0] and "MSET" not in also[0], also[0]
    sets = [l for l in out if "SET, appendfsync always" in l]
    assert len(sets) == 1 and "1.60×, 1.40×" in sets[0] and "**not met**" in sets[0], text
    issue6 = [l for l in out if l.startswith("| issue 6:")]
    assert len(issue6) == 1, text
    assert "7 of 8 rows ≥ 0.8×; below: LPUSH P16 (0.79×) | **not met** |" in issue6[0], issue6[0]
    # Beside each req/s verdict, the rows where Chalk spends more server CPU
    # per request than Redis (Redis CPU / Chalk CPU < 1), all of them listed.
    assert issue6[0].endswith("| Chalk spends more CPU per request than Redis on 1 of 8 rows: "
                              "HGET P16 (0.80×) |"), issue6[0]
    assert issue4[0].endswith("| Chalk spends more CPU per request than Redis on 0 of 6 rows |"), \
        issue4[0]
    assert also[0].endswith("| Chalk spends more CPU per request than Redis on 1 of 23 rows "
                            "(1 not measured): HGET P16 no (0.80×) |"), also[0]
    assert sets[0].endswith("| Chalk spends more CPU per request than Redis on 0 of 2 rows |"), sets[0]


def test_server_cpu_per_request_at_always(tmp_path):
    """At appendfsync always every SET row also reports each server's CPU per
    request (all its threads) and redis-benchmark's own, in the markdown and
    the CSV; the /proc reading it rests on counts a busy child's CPU."""
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        pytest.skip("redis-server / redis-benchmark not installed")
    sys.path.insert(0, BENCH)
    try:
        import server_bench as sb
    finally:
        sys.path.remove(BENCH)
    # A child burning 0.8 s of CPU between our two readings: 0.3 s in its
    # main thread, 0.2 s in a thread alive at the first reading that exits
    # before the second, 0.3 s in a thread born and gone in between; all
    # of it counts (the per-thread reading alone loses the exited threads).
    busy = subprocess.Popen([sys.executable, "-c", """if True:
        import os, threading, time
        def gone(t):
            # join() returns before the OS thread is reaped: wait until its
            # /proc task entry is gone, so that the second reading sees it exited
            end = time.monotonic() + 10
            while os.path.exists(f"/proc/self/task/{t.native_id}") and time.monotonic() < end:
                time.sleep(0.001)
        def burn(sec):
            t = time.thread_time()
            while time.thread_time() - t < sec:
                pass
        go = threading.Event()
        early = threading.Thread(target=lambda: (go.wait(), burn(0.2)))
        early.start()
        print("ready", flush=True)
        input()
        burn(0.3)
        go.set()
        early.join()
        gone(early)
        late = threading.Thread(target=burn, args=(0.3,))
        late.start()
        late.join()
        gone(late)
        print("done", flush=True)
        input()
        """], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert busy.stdout.readline() == "ready\n"
        before = sb.proc_cpu_snapshot(busy.pid)
        busy.stdin.write("go\n")
        busy.stdin.flush()
        assert busy.stdout.readline() == "done\n"
        after = sb.proc_cpu_snapshot(busy.pid)
    finally:
        busy.communicate("\n", timeout=30)
    assert before is not None and after is not None
    assert len(before[0]) == 2 and len(after[0]) == 1, (before, after)
    burnt = sb.proc_cpu_delta(before, after)
    assert 0.7 <= burnt < 1.5, burnt
    r = subprocess.run([sys.executable, os.path.join(BENCH, "server_bench.py"),
                        "--chalk-server", CHALK_SERVER, "--requests", "300", "--reps", "1",
                        "--modes", "always", "--pipelines", "1", "--tests", "SET",
                        "--workdir", str(tmp_path), "--csv", str(tmp_path / "server.csv")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = lines.index("### CPU per request at appendfsync always (server and redis-benchmark)")
    built = os.access(CHALK_SERVER, os.X_OK)
    for name in ("SET P1", "SET P1, 1 client(s)", "SET P1, 10 client(s)", "SET P1, 50 client(s)"):
        rows = [l for l in lines[head:] if l.startswith(f"| {name} |")]
        assert len(rows) == 1, (name, r.stdout)
        cells = [c.strip() for c in rows[0].strip("|").split("|")]
        assert len(cells) == 7, cells     # row, Redis, 2 x (Chalk, Redis/Chalk), redis-benchmark
        assert float(cells[1]) > 0, cells
        if built:
            for cpu, ratio in ((cells[2], cells[3]), (cells[4], cells[5])):
                assert float(cpu) > 0 and ratio.endswith("×"), cells
        client = cells[6].split(" / ")
        assert len(client) == 3 and float(client[0]) > 0, cells
    import csv
    with open(tmp_path / "server.csv") as f:
        ok = [row for row in csv.DictReader(f) if row["status"] == "ok"]
    assert ok and all(float(row["server_cpu_us"]) > 0 and float(row["client_cpu_us"]) > 0
                      for row in ok), ok
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("chalk-server-bench-")]


def test_repl_bench_rows(tmp_path):
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        pytest.skip("redis-server / redis-benchmark not installed")
    r = subprocess.run([sys.executable, os.path.join(BENCH, "repl_bench.py"),
                        "--chalk-server", CHALK_SERVER, "--keys", "2000", "--requests", "2000",
                        "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for system in ("redis", "chalk"):
        rows = [l for l in r.stdout.splitlines() if l.startswith(f"| {system} |")]
        assert len(rows) == 1, system
        cells = [c.strip() for c in rows[0].strip("|").split("|")]
        assert NUMBER.match(cells[1].replace(",", "")) or cells[1].startswith("n/a ("), cells
    redis_row = [l for l in r.stdout.splitlines() if l.startswith("| redis |")][0]
    assert NUMBER.match(redis_row.split("|")[2].strip().replace(",", "")), redis_row
    assert not list(tmp_path.iterdir()), "scratch directories left behind"


@pytest.fixture(scope="module")
def scale_run(tmp_path_factory):
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        pytest.skip("redis-server / redis-benchmark not installed")
    out = tmp_path_factory.mktemp("scale")
    work = out / "work"
    work.mkdir()
    r = subprocess.run([sys.executable, os.path.join(BENCH, "server_scale.py"),
                        "--chalk-server", CHALK_SERVER, "--keys", "1000,3000",
                        "--value-sizes", "100,1024", "--requests", "500", "--reps", "1",
                        "--workdir", str(work), "--csv", str(out / "server-scale.csv"),
                        "--markdown", str(out / "server-scale.md")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert not list(work.iterdir()), "scratch directories left behind"
    return r.stdout, out, r.stderr


def test_server_scale_rows(scale_run):
    stdout, out, stderr = scale_run
    for keys in ("1,000", "3,000"):
        for size in ("100", "1024"):
            rows = [l for l in stdout.splitlines() if l.startswith(f"| {keys} | {size} |")]
            assert len(rows) == 2, (keys, size, rows)    # memory/restart, throughput
            for row in rows:
                cells = [c.strip() for c in row.strip("|").split("|")]
                assert NUMBER.match(cells[2].replace(",", "")), cells     # Redis
                assert NUMBER.match(cells[3].replace(",", "")) or cells[3].startswith("n/a ("), cells
    csv_text = (out / "server-scale.csv").read_text()
    assert csv_text.startswith("keys,value_size,system,rss_per_key,restart_ms,get_rps,set_rps,")
    assert len(re.findall(r"^\d+,(100|1024),redis,[\d.]+,[\d.]+,[\d.]+,[\d.]+,[\d.]+,ok$",
                          csv_text, re.M)) == 4, csv_text
    if os.access(CHALK_SERVER, os.X_OK):
        assert len(re.findall(r"^\d+,\d+,chalk,[\d.]+,[\d.]+,[\d.]+,[\d.]+,[\d.]+,ok$",
                              csv_text, re.M)) == 4, csv_text + stderr


def test_server_scale_skips_what_does_not_fit(tmp_path):
    """A size the machine cannot hold is a reason in the table, not a crash."""
    sys.path.insert(0, BENCH)
    try:
        import server_scale
    finally:
        sys.path.remove(BENCH)
    why = server_scale.room_for("redis", 10 ** 12, 1024, str(tmp_path), 1400)
    assert why and why.startswith("not measured: needs ~"), why
    assert server_scale.room_for("redis", 10, 100, str(tmp_path), 300) is None


def test_report_writes_results(engine_run, server_run, tmp_path):
    _out, csv_path, md_path, _err = engine_run
    _sout, sdir, _serr = server_run
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(csv_path, raw / "engine.csv")
    shutil.copy(md_path, raw / "engine.md")
    shutil.copy(sdir / "server.csv", raw / "server.csv")
    shutil.copy(sdir / "server.md", raw / "server.md")
    r = subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), "--results",
                        str(tmp_path), "--workdir", str(tmp_path), "--mode", "quick"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "RESULTS.md").read_text()
    for heading in ("## Machine", "## Engine suite", "## Server suite", "fdatasync rate"):
        assert heading in text, heading
    if shutil.which("gnuplot"):
        assert (tmp_path / "engine_throughput.png").stat().st_size > 0
        assert (tmp_path / "server_no_p1.png").stat().st_size > 0


def test_run_sh_parses():
    r = subprocess.run(["bash", "-n", os.path.join(BENCH, "run.sh")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_report_splices_server_scale(engine_run, server_run, scale_run, tmp_path):
    """--section server-scale replaces that section and its plots only."""
    _out, csv_path, md_path, _err = engine_run
    _sout, sdir, _serr = server_run
    _scout, scdir, _scerr = scale_run
    raw = tmp_path / "raw"
    raw.mkdir()
    for src, name in ((csv_path, "engine.csv"), (md_path, "engine.md"),
                      (sdir / "server.csv", "server.csv"), (sdir / "server.md", "server.md")):
        shutil.copy(src, raw / name)
    report = [sys.executable, os.path.join(BENCH, "report.py"), "--results", str(tmp_path),
              "--workdir", str(tmp_path), "--mode", "quick"]
    assert subprocess.run(report, capture_output=True, timeout=120).returncode == 0
    before = (tmp_path / "RESULTS.md").read_text()
    assert "## Server scale suite" not in before
    assert "- servers at 10M keys" in before
    shutil.copy(scdir / "server-scale.csv", raw / "server-scale.csv")
    shutil.copy(scdir / "server-scale.md", raw / "server-scale.md")
    for _ in range(2):   # the second time replaces the first one's section
        r = subprocess.run(report + ["--section", "server-scale"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    after = (tmp_path / "RESULTS.md").read_text()
    assert after.count("## Server scale suite") == 1
    assert after.count("The server scale suite section was re-run alone") == 1
    assert "The server scale suite section was re-run alone" in after
    section = after.split("## Server scale suite")[1].split("\n## ")[0]
    assert "| 3,000 | 1024 |" in section
    # Everything else is unchanged: the engine and server sections are the same text.
    for heading in ("## Engine suite", "## Server suite"):
        assert before.split(heading)[1].split("\n## ")[0] == after.split(heading)[1].split("\n## ")[0]
    assert after.index("## Server scale suite") < after.index("## Not measured")
    if shutil.which("gnuplot"):
        assert (tmp_path / "server_scale_mem_per_key.png").stat().st_size > 0
        assert "- [server_scale_restart.png](server_scale_restart.png)" in after
