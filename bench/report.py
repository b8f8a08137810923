#!/usr/bin/python3
"""bench/report.py — turns the raw output of the suites (bench/results/raw/)
into bench/results/RESULTS.md and PNG plots (gnuplot, pngcairo).

The one idea: the suites print their own tables (with the ratios and the
targets, computed where the numbers are); this script only adds what a
reader needs around them (the machine, how the run was made, the scale
table) and draws the same numbers, so a plot never shows a figure the
tables do not.

Left out on purpose: any statistics of its own (medians and ranges come
from the suites), interactive plots. Interview topics: none of its own.
"""
import argparse
import csv
import datetime
import glob
import os
import platform
import shutil
import subprocess
import time

ENGINES = ["chalk", "leveldb", "rocksdb", "lmdb"]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return ""


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def fdatasync_rate(workdir, iterations=300):
    """Measured here when the engine suite (which measures it too) did not run."""
    path = os.path.join(workdir, "report-fsync-probe")
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
    try:
        block = b"x" * 4096
        t0 = time.monotonic()
        for i in range(iterations):
            os.pwrite(fd, block, i * 4096)
            os.fdatasync(fd)
        return iterations / (time.monotonic() - t0)
    finally:
        os.close(fd)
        os.unlink(path)


def loadavg(path):
    try:
        with open(path) as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def machine(workdir, engine_rows, raw):
    cpu = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    mem = sh("free -g | awk '/Mem:/ {print $2 \" GiB\"}'")
    src = sh(f"df --output=source,fstype {workdir} | tail -1")
    dev = src.split()[0] if src else "?"
    size = sh(f"lsblk -ndo SIZE {dev} 2>/dev/null") or "?"
    src = " ".join(src.split())
    rate = next((float(r["median"]) for r in engine_rows if r["row"] == "fdatasync"), None)
    how = "engine suite"
    if rate is None:
        rate, how = fdatasync_rate(workdir), "report.py, 300 iterations"
    load = (f"{loadavg(os.path.join(raw, 'loadavg-start'))} at the start, "
            f"{loadavg('/proc/loadavg')} at the end (1, 5, 15 min; above {os.cpu_count()} "
            "means other work competed for the CPUs)")
    return [("CPU", cpu), ("cores", str(os.cpu_count())), ("load average", load),
            ("kernel", platform.release()),
            ("memory", mem), ("disk (scratch dir)", f"{workdir} on {src}, {size.strip()}"),
            ("fdatasync rate (4 KiB append + fdatasync)", f"{rate:,.0f} /s ({how})"),
            ("redis-server", sh("redis-server --version")),
            ("compiler", sh("cc --version | head -1"))]


# ---- gnuplot ---------------------------------------------------------------

def gnuplot_histogram(path, title, ylabel, clusters, series, logy=False, hline=None):
    """clusters: [(label, {series: (med, min, max)})]. Writes path (.png)."""
    if not shutil.which("gnuplot") or not clusters:
        return None
    dat = path[:-4] + ".dat"
    with open(dat, "w") as f:
        for label, vals in clusters:
            cols = []
            for s in series:
                v = vals.get(s)
                cols += [f"{x:.6g}" for x in v] if v else ["?", "?", "?"]
            f.write(f'"{label}" ' + " ".join(cols) + "\n")
    meds = [v[s][0] for _l, v in clusters for s in series if v.get(s) and v[s][0] > 0]
    ylo = f"{min(meds) / 4:.6g}" if logy and meds else "0"
    plots = []
    for i, s in enumerate(series):
        c = 2 + 3 * i
        plots.append(f"'{dat}' using {c}:{c + 1}:{c + 2}{':xtic(1)' if i == 0 else ''} title '{s}'")
    if hline:
        plots.append(f"{hline[0]} with lines dt 2 lw 2 title '{hline[1]}'")
    script = f"""
set terminal pngcairo size 1200,560 font ',10'
set output '{path}'
set title '{title}'
set ylabel '{ylabel}'
set datafile missing '?'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -25 noenhanced
set key outside top center horizontal noenhanced
set grid ytics
set format y '%.1s%c'
set yrange [{ylo}:*]
{'set logscale y' if logy else ''}
plot {', '.join(plots)}
"""
    r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"report.py: gnuplot failed for {path}: {r.stderr.strip()[:300]}")
        return None
    return os.path.basename(path)


def gnuplot_lines(path, title, xlabel, ylabel, lines, logy=False):
    """lines: {name: [(x, y)]}, log x (and log y with logy). Writes path (.png)."""
    lines = {k: v for k, v in lines.items() if v}
    if not shutil.which("gnuplot") or not lines:
        return None
    dat = path[:-4] + ".dat"
    plots = []
    with open(dat, "w") as f:
        for i, (name, pts) in enumerate(lines.items()):
            for x, y in sorted(pts):
                f.write(f"{x} {y}\n")
            f.write("\n\n")
            plots.append(f"'{dat}' index {i} using 1:2 with linespoints lw 2 title '{name}'")
    script = f"""
set terminal pngcairo size 900,520 font ',10'
set output '{path}'
set title '{title}'
set xlabel '{xlabel}'
set ylabel '{ylabel}'
set logscale x
set format x '%.0s%c'
set format y '%.1s%c'
{'set logscale y' if logy else 'set yrange [0:*]'}
set grid
set key outside right noenhanced
plot {', '.join(plots)}
"""
    r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    return os.path.basename(path) if r.returncode == 0 else None


# ---- the suites' plots -----------------------------------------------------

def engine_plots(results, rows):
    by = {}
    for r in rows:
        by.setdefault(r["row"], {})[r["engine"]] = (float(r["median"]), float(r["min"]),
                                                    float(r["max"]))
    names = {"fillseq": "fill seq", "fillrandom": "fill random", "readrandom": "read random",
             "readrestart": "read after restart", "readcold": "read, cold cache",
             "fillseq_sync": "fill seq durable", "fillrandom_sync": "fill random durable",
             "group_commit": "durable, 16 at once"}
    engines = [e for e in ENGINES if any(e in v for v in by.values())]
    out = []
    clusters = [(names[k], by[k]) for k in names if k in by]
    out.append(gnuplot_histogram(os.path.join(results, "engine_throughput.png"),
                                 "Engine suite: operations per second (median, min-max)",
                                 "ops/s (log)", clusters, engines, logy=True))
    mem = [(lbl, by[k]) for k, lbl in [("mem_per_key", "heap RSS per key"),
                                       ("mapped_per_key", "mmap RSS per key"),
                                       ("disk_per_key", "disk per key"),
                                       ("index_per_key", "Chalk index per key")] if k in by]
    out.append(gnuplot_histogram(os.path.join(results, "engine_memory.png"),
                                 "Engine suite: bytes per key", "bytes", mem, engines))
    return [p for p in out if p]


def scale_rows(raw):
    rows = []
    for path in sorted(glob.glob(os.path.join(raw, "scale-*.csv"))):
        keys = int(os.path.basename(path)[6:-4])
        for r in read_csv(path):
            rows.append(dict(r, keys=keys))
    return sorted(rows, key=lambda r: r["keys"])


def scale_section(results, rows):
    if not rows:
        return [], []
    get = {(r["keys"], r["engine"], r["row"]): float(r["median"]) for r in rows}
    keys = sorted({r["keys"] for r in rows})
    engines = [e for e in ENGINES if any(r["engine"] == e for r in rows)]
    md = ["## Scale suite", "",
          "Each engine at growing key counts (16-byte keys, 100-byte values, 1 repetition): "
          "fill random, read random, close + reopen, resident memory (heap and mmap'd files) "
          "and disk per key.", "",
          "| keys | engine | fill random ops/s | read random ops/s | reopen ms | read after reopen ops/s "
          "| heap RSS B/key | mmap RSS B/key | disk B/key |",
          "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    cols = ["fillrandom", "readrandom", "reopen", "readrestart", "mem_per_key", "mapped_per_key",
            "disk_per_key"]
    for k in keys:
        for e in engines:
            vals = [get.get((k, e, c)) for c in cols]
            md.append(f"| {k:,} | {e} | " + " | ".join("-" if v is None else
                      (f"{v:,.0f}" if v >= 100 else f"{v:.1f}") for v in vals) + " |")
    md.append("")
    plots = []
    for row, label in [("fillrandom", "fill random ops/s"), ("readrandom", "read random ops/s"),
                       ("mem_per_key", "heap RSS bytes per key"), ("reopen", "reopen ms")]:
        lines = {e: [(k, get[(k, e, row)]) for k in keys if (k, e, row) in get] for e in engines}
        plots.append(gnuplot_lines(os.path.join(results, f"scale_{row}.png"),
                                   f"Scale: {label}", "keys", label, lines))
    return md, [p for p in plots if p]


def server_plots(results, rows):
    systems = []
    for r in rows:
        if r["system"] not in systems:
            systems.append(r["system"])
    val = lambda r: (float(r["rps"]), float(r["rps_min"]), float(r["rps_max"]))
    out = []
    for mode in ("no", "everysec", "always"):
        for p in ("1", "16"):
            clusters = {}
            for r in rows:
                if r["kind"] == "main" and r["mode"] == mode and r["pipeline"] == p and r["status"] == "ok":
                    clusters.setdefault(r["test"], {})[r["system"]] = val(r)
            out.append(gnuplot_histogram(
                os.path.join(results, f"server_{mode}_p{p}.png"),
                f"Server suite: requests/s, appendfsync {mode}, pipeline {p}, 50 clients",
                "requests/s", list(clusters.items()), systems))
    return [p for p in out if p]


def durability_plot(results, rows, rate):
    clusters = {}
    for r in rows:
        if r["status"] != "ok" or r["test"] != "SET" or r["pipeline"] != "1":
            continue
        if r["kind"] == "main":
            label = f"{r['mode']}, {r['clients']} clients"
        elif r["kind"] == "clients" and r["clients"] != "50":
            label = f"always, {r['clients']} client{'s' if r['clients'] != '1' else ''}"
        else:
            continue
        clusters.setdefault(label, {})[r["system"]] = (float(r["rps"]), float(r["rps_min"]),
                                                       float(r["rps_max"]))
    systems = sorted({s for v in clusters.values() for s in v}, key=lambda s: (s != "redis", s))
    rank = {"no": 0, "everysec": 1, "always": 2}
    order = sorted(clusters.items(), key=lambda kv: (
        rank.get(kv[0].split(",")[0], 3), -int(kv[0].split(", ")[1].split()[0])))
    hline = (f"{rate:.1f}", f"disk fdatasync/s ({rate:,.0f})") if rate else None
    p = gnuplot_histogram(os.path.join(results, "durability.png"),
                          "Durability cost: SET requests/s by appendfsync and clients (pipeline 1)",
                          "requests/s (log)", order, systems, logy=True, hline=hline)
    return [p] if p else []


SERVER_SCALE_PLOTS = [  # (csv column, file, title, y label, log y)
    ("rss_per_key", "server_scale_mem_per_key.png",
     "Server scale: resident bytes per key (VmRSS growth)", "bytes per key", True),
    ("restart_ms", "server_scale_restart.png",
     "Server scale: restart until DBSIZE = N", "ms", True),
    ("get_rps", "server_scale_get_rps.png",
     "Server scale: GET of random filled keys, 50 clients", "requests/s", False),
    ("set_rps", "server_scale_set_rps.png",
     "Server scale: SET (overwrite) of random filled keys, 50 clients", "requests/s", False),
]


def server_scale_plots(results, rows):
    """One line per system and value size against keys (log x)."""
    out = []
    for col, name, title, ylabel, logy in SERVER_SCALE_PLOTS:
        lines = {}
        for r in rows:
            if r["status"] == "ok" and r.get(col):
                lines.setdefault(f"{r['system']}, {r['value_size']} B", []).append(
                    (int(r["keys"]), float(r[col])))
        out.append(gnuplot_lines(os.path.join(results, name), title, "keys", ylabel, lines, logy))
    return [p for p in out if p]


def server_scale_gap(rows):
    """The "Not measured" line for servers at 10M keys, or None once measured."""
    big = [r for r in rows if int(r["keys"]) >= 10000000]
    if not big:
        return "- servers at 10M keys (the server scale suite did not go to 10M in this run);"
    missing = [f"{r['system']} {r['value_size']} B: {r['status']}" for r in big
               if r["status"] != "ok"]
    return f"- servers at 10M keys: {'; '.join(missing)};" if missing else None


# ---- RESULTS.md ------------------------------------------------------------

def read_text(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read().strip()


def make_plots(results, raw, engine_rows, server_rows, scale_png):
    rate = next((float(r["median"]) for r in engine_rows if r["row"] == "fdatasync"), None)
    plots = engine_plots(results, engine_rows) + scale_png
    plots += server_plots(results, server_rows) + durability_plot(results, server_rows, rate)
    plots += server_scale_plots(results, read_csv(os.path.join(raw, "server-scale.csv")))
    move_dat(results, raw)
    return plots


def move_dat(results, raw):
    """The .dat files gnuplot read are raw data: they belong with the CSVs."""
    for dat in glob.glob(os.path.join(results, "*.dat")):
        os.replace(dat, os.path.join(raw, os.path.basename(dat)))


def revision(a):
    """(now, 'Chalk at <sha>[ (with uncommitted changes)]'), or --revision."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if a.revision:
        return now, f"Chalk at {a.revision}"
    sha = sh(f"git -C {a.results} rev-parse --short=8 HEAD") or "?"
    # Source changes only: the results this very run is writing do not count.
    dirty = sh(f"git -C {a.results} status --porcelain -- ../../engine ../../server ../../bench "
               f"':(top,exclude)bench/results'")
    return now, f"Chalk at {sha}{' (with uncommitted changes)' if dirty else ''}"


def header(a, info, plots):
    now, chalk = revision(a)
    cmd = "make bench-quick" if a.mode == "quick" else "make bench"
    md = ["# Chalk benchmark results", "",
          f"Made by `{cmd}` (bench/run.sh{' --quick' if a.mode == 'quick' else ''}) on {now}, "
          f"{chalk}, in {a.seconds} s. "
          "Every ratio divides two medians of this run; docs/PERFORMANCE.md explains every "
          "row. Raw CSVs: bench/results/raw/ (not committed).", "",
          "## Machine", "", "| | |", "| --- | --- |"]
    md += [f"| {k} | {v} |" for k, v in info]
    return md + ["", "## Plots", ""] + [f"- [{p}]({p})" for p in plots] + [""]


SECTION_NOTE = "The server scale suite section was re-run alone"


def splice_server_scale(a, raw):
    """--section server-scale: replace that section, its plots, its "Not
    measured" line and a note under the header in an existing RESULTS.md;
    every other figure stays as the full run wrote it."""
    path = os.path.join(a.results, "RESULTS.md")
    with open(path) as f:
        lines = f.read().rstrip("\n").split("\n")
    for old in glob.glob(os.path.join(a.results, "server_scale_*.png")) + \
            glob.glob(os.path.join(a.results, "server_memory.png")):
        os.unlink(old)
    rows = read_csv(os.path.join(raw, "server-scale.csv"))
    plots = server_scale_plots(a.results, rows)
    move_dat(a.results, raw)
    section = (read_text(os.path.join(raw, "server-scale.md")) or "## Server scale suite\n\n"
               "(did not run: see run.sh's output)").split("\n")
    heads = [i for i, l in enumerate(lines) if l.startswith("## ")]
    start = next((i for i in heads if lines[i] == "## Server scale suite"), None)
    if start is None:
        start = next(i for i in heads if lines[i] in ("## Replication suite", "## Not measured (yet)"))
        end = start
    else:
        end = next((i for i in heads if i > start), len(lines))
    lines[start:end] = section + [""]
    links = [f"- [{p}]({p})" for p in plots]
    lines = [l for l in lines if not (l.startswith("- [server_scale_") or
                                      l.startswith("- [server_memory.png]"))]
    plots_at = lines.index("## Plots")
    last = next(i for i in range(plots_at + 2, len(lines)) if not lines[i].startswith("- ["))
    lines[last:last] = links
    gap = server_scale_gap(rows)
    gap_at = next((i for i, l in enumerate(lines) if l.startswith("- servers at 10M keys")), None)
    if gap_at is not None:
        lines[gap_at:gap_at + 1] = [gap] if gap else []
    now, chalk = revision(a)
    cmd = "make bench-quick" if a.mode == "quick" else "make bench"
    note = (f"{SECTION_NOTE} (the suite alone with `{cmd}`'s arguments, as "
            f"`bench/run.sh{' --quick' if a.mode == 'quick' else ''} --only server-scale` "
            f"runs it), ending {now}, {chalk}, in {a.seconds} s; every other section is "
            "from the run above.")
    old = next((i for i, l in enumerate(lines) if l.startswith(SECTION_NOTE)), None)
    if old is not None:
        del lines[old - 1:old + 1]   # the note and the blank line before it
    made = next(i for i, l in enumerate(lines) if l.startswith("Made by"))
    lines[made + 1:made + 1] = ["", note]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"report.py: server scale section of {path}, {len(plots)} plot(s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--workdir", default="/var/tmp")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--revision", help="what Chalk was built from, when not HEAD as it is now")
    ap.add_argument("--section", choices=["server-scale"],
                    help="replace only this suite's section of an existing RESULTS.md")
    a = ap.parse_args()
    raw = os.path.join(a.results, "raw")
    if a.section:
        splice_server_scale(a, raw)
        return
    for old in glob.glob(os.path.join(a.results, "*.png")):
        os.unlink(old)
    engine_rows = read_csv(os.path.join(raw, "engine.csv"))
    scale_md, scale_png = scale_section(a.results, scale_rows(raw))
    plots = make_plots(a.results, raw, engine_rows,
                       read_csv(os.path.join(raw, "server.csv")), scale_png)
    md = header(a, machine(a.workdir, engine_rows, raw), plots)
    for section in (read_text(os.path.join(raw, "engine.md")), "\n".join(scale_md) or None,
                    read_text(os.path.join(raw, "server.md")),
                    read_text(os.path.join(raw, "server-scale.md")),
                    read_text(os.path.join(raw, "repl.md"))):
        if section:
            md += [section, ""]
    gap = server_scale_gap(read_csv(os.path.join(raw, "server-scale.csv")))
    md += ["## Not measured (yet)", "",
           "- replication with a real network between leader and follower, partial resync, "
           "WAIT (the replication suite uses loopback and one follower);"] + \
        ([gap] if gap else []) + \
        ["- any suite whose section is missing above did not run (see run.sh's output).", ""]
    with open(os.path.join(a.results, "RESULTS.md"), "w") as f:
        f.write("\n".join(md))
    print(f"report.py: {os.path.join(a.results, 'RESULTS.md')}, {len(plots)} plot(s)")


if __name__ == "__main__":
    main()
