#!/usr/bin/env bash
# bench/run.sh [--quick] [--only engine|scale|server|server-scale] — every benchmark
# suite of Chalk, side by side with its peers, in one go (`make bench`,
# `make bench-quick`).
#
# The one idea: one command produces everything a reader needs to check a
# performance claim: bench/results/RESULTS.md (every figure, the ratios, the
# machine), the raw CSVs (bench/results/raw/, not committed) and PNG plots
# (bench/results/*.png), all from one run on this machine.
#
# Suites (docs/PERFORMANCE.md explains every row):
#   engine  engine_bench: Chalk vs LevelDB vs RocksDB vs LMDB, C APIs
#   scale   engine_bench at growing key counts (fills, reads, memory, reopen)
#   server  server_bench.py: chalk-server vs redis-server, redis-benchmark,
#           appendfsync no/everysec/always, pipeline 1/16, both io-backends
#           server_scale.py: memory per key, restart time and GET/SET
#           throughput vs Redis, 100-byte and 1-KiB values, one server
#           at a time (also alone: --only server-scale, which rewrites only
#           its section of RESULTS.md and its plots)
#           repl_bench.py: full-sync time and replication lag vs Redis
#
# Full: 1M keys, 3 repetitions, scale to 10M keys (engine and server scale
# suites: 100k, 1M, 10M), 100k requests per server test (< 1 hour).
# --quick: 1M keys, 1 repetition, engine scale to 300k keys, server scale
# 100k keys, 10k requests per server test (< 10 minutes; 3 to 6 here).
#
# Servers run on free 127.0.0.1 ports and are stopped by the Python suites
# whatever happens (try/finally + a SIGTERM handler); this script's trap
# stops the suite it is running (SIGTERM), and Ctrl-C reaches the whole
# foreground process group anyway.
#
# Left out on purpose: CPU pinning, turning off other load, cold-booting
# the page cache. Cost: figures from a shared machine are noisy, so every
# suite runs its sides interleaved and reports ratios and ranges; the
# load average at the start and the end goes into RESULTS.md.
#
# Environment: CHALK_BUILD (default build/: a Release build; made if
# missing), BENCH_WORKDIR (scratch space on the disk to measure; default
# /var/tmp, never a tmpfs: fdatasync there is free and the numbers would lie).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${CHALK_BUILD:-$ROOT/build}"
RESULTS="$ROOT/bench/results"
RAW="$RESULTS/raw"
WORKDIR="${BENCH_WORKDIR:-/var/tmp}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

QUICK=0
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY="$2"; shift ;;
    -h|--help) sed -n '2,/^set -e/{/^set -e/!p}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$QUICK" = 1 ]; then
  ENGINE_ARGS=(--keys 1000000 --sync-keys 20000 --reps 1 --fsync-iters 500)
  SCALE_KEYS=(100000 300000)
  SERVER_ARGS=(--quick)
  SERVER_SCALE_ARGS=(--keys 100000 --requests 10000 --reps 1)
  REPL_ARGS=(--keys 100000 --requests 50000)
else
  ENGINE_ARGS=(--keys 1000000 --sync-keys 100000 --reps 3 --fsync-iters 2000)
  SCALE_KEYS=(100000 1000000 10000000)
  SERVER_ARGS=()
  SERVER_SCALE_ARGS=(--keys 100000,1000000,10000000 --requests 100000 --reps 3)
  REPL_ARGS=(--keys 1000000 --requests 200000)
fi

CHILD=""
cleanup() {
  # server_bench.py stops its servers on SIGTERM; engine_bench's children die with it.
  if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s  [%s]\n' "$*" "$(date +%H:%M:%S)" >&2; }
# want SUITE [GROUP]: run it when nothing is chosen, or it or its group is.
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ] || [ "$ONLY" = "${2:-}" ]; }

# Run a command in the background so the trap can stop it, and wait for it.
run_bg() { "$@" & CHILD=$!; local rc=0; wait "$CHILD" || rc=$?; CHILD=""; return $rc; }

mkdir -p "$RAW"
START=$(date +%s)
cat /proc/loadavg >"$RAW/loadavg-start" 2>/dev/null || true

step "build ($BUILD)"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" ||
  echo "run.sh: warning: $BUILD is not a Release build; figures will be low" >&2
cmake --build "$BUILD" -j 2 --target engine_bench >/dev/null 2>"$RAW/build-engine.log" ||
  echo "run.sh: engine_bench did not build (see $RAW/build-engine.log)" >&2
cmake --build "$BUILD" -j 2 --target chalk-server >/dev/null 2>"$RAW/build-server.log" ||
  echo "run.sh: chalk-server did not build (see $RAW/build-server.log); its rows will say n/a" >&2

ENGINE_BENCH="$BUILD/bin/engine_bench"
# Each suite replaces only its own raw files: `--only server` keeps the
# engine figures of an earlier run for the report.
want engine && rm -f "$RAW"/engine.*
want scale && rm -f "$RAW"/scale-*.csv
want server && rm -f "$RAW"/server.* "$RAW"/repl.*
want server-scale server && rm -f "$RAW"/server-scale.*

if want engine; then
  step "engine suite: ${ENGINE_ARGS[*]}"
  if [ -x "$ENGINE_BENCH" ]; then
    run_bg "$ENGINE_BENCH" "${ENGINE_ARGS[@]}" --dir "$WORKDIR" \
      --csv "$RAW/engine.csv" --markdown "$RAW/engine.md" >/dev/null ||
      echo "run.sh: engine suite failed" >&2
  else
    echo "run.sh: no engine_bench, engine suite skipped" >&2
  fi
fi

if want scale; then
  for keys in "${SCALE_KEYS[@]}"; do
    step "scale suite: $keys keys"
    if [ -x "$ENGINE_BENCH" ]; then
      run_bg "$ENGINE_BENCH" --light --keys "$keys" --reps 1 --fsync-iters 100 --dir "$WORKDIR" \
        --csv "$RAW/scale-$keys.csv" >/dev/null || echo "run.sh: scale $keys failed" >&2
    fi
  done
fi

if want server; then
  step "server suite ${SERVER_ARGS[*]}"
  run_bg "$PY" "$ROOT/bench/server_bench.py" "${SERVER_ARGS[@]}" \
    --chalk-server "$BUILD/bin/chalk-server" --workdir "$WORKDIR" \
    --csv "$RAW/server.csv" --markdown "$RAW/server.md" >/dev/null ||
    echo "run.sh: server suite failed" >&2
fi

if want server-scale server; then
  step "server scale suite: ${SERVER_SCALE_ARGS[*]}"
  run_bg "$PY" "$ROOT/bench/server_scale.py" "${SERVER_SCALE_ARGS[@]}" \
    --chalk-server "$BUILD/bin/chalk-server" --workdir "$WORKDIR" \
    --csv "$RAW/server-scale.csv" --markdown "$RAW/server-scale.md" >/dev/null ||
    echo "run.sh: server scale suite failed" >&2
fi

if want server; then
  step "replication suite: ${REPL_ARGS[*]}"
  run_bg "$PY" "$ROOT/bench/repl_bench.py" "${REPL_ARGS[@]}" \
    --chalk-server "$BUILD/bin/chalk-server" --workdir "$WORKDIR" \
    --csv "$RAW/repl.csv" --markdown "$RAW/repl.md" >/dev/null ||
    echo "run.sh: replication suite failed" >&2
fi

step "report: $RESULTS/RESULTS.md and plots"
# --only server-scale replaces that one section of an existing RESULTS.md
# (the other suites' raw files may be from another run, or missing).
SECTION=()
[ "$ONLY" = server-scale ] && [ -f "$RESULTS/RESULTS.md" ] && SECTION=(--section server-scale)
"$PY" "$ROOT/bench/report.py" --results "$RESULTS" --workdir "$WORKDIR" "${SECTION[@]}" \
  --mode "$([ "$QUICK" = 1 ] && echo quick || echo full)" --seconds "$(( $(date +%s) - START ))"
step "done in $(( $(date +%s) - START )) s: $RESULTS/RESULTS.md"
