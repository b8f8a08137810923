#!/usr/bin/env bash
# valgrind.sh — `make valgrind`: the unit tests and a chalk-server smoke run
# under valgrind's memcheck, failing on any error or lost block.
#
# ASan+UBSan (`make sanitize`) instruments the compiled code; valgrind
# checks the unmodified binary, so it also sees what the sanitizers cannot:
# reads of uninitialised memory (MSan's job, which gcc lacks), and errors
# inside uninstrumented libraries (libc, liburing, cmocka). Both must be clean.
#
#   1. A plain Debug build (no sanitizers) in $VGBUILD (build-valgrind/),
#      configured with CHALK_VALGRIND=ON: the crash-point sweeps take the
#      smaller workload they take under ASan (tests/CMakeLists.txt).
#   2. Every unit test (ctest label `unit`) but the two crash-point sweeps
#      (unit_crash, unit_crash_compact: they outlast ctest's 900 s cap under
#      valgrind even at their ASan size; VG_EXCLUDE= runs them too) through
#      ctest's memcheck (`ctest -T memcheck`). ctest only counts valgrind's findings and
#      still passes the test, so the options below make valgrind itself
#      fail the process (exit 99) on any error or definitely/indirectly lost
#      block: the test fails, and this script prints its valgrind log.
#      Forked children (the crash tests' writers) run under valgrind too;
#      exec'd programs (chalk-check, chalk-server in the client tests) do not.
#   3. scripts/valgrind_smoke.py: the real chalk-server under valgrind with
#      the epoll loop (valgrind does not model io_uring; see that file).
#
# False positives are suppressed in scripts/valgrind.supp, each with its why.
# Leaves out: the e2e tests (they start many servers; run one under
# valgrind by hand), the io_uring event loop, chalk-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

VGBUILD=${VGBUILD:-build-valgrind}
JOBS=${JOBS:-$(nproc)}
VG_EXCLUDE=${VG_EXCLUDE-'^unit_crash(_compact)?$'}
SUPP="$PWD/scripts/valgrind.supp"
VALGRIND_OPTS=(--error-exitcode=99 --leak-check=full
               --errors-for-leak-kinds=definite,indirect
               --show-leak-kinds=definite,indirect
               --num-callers=30 "--suppressions=$SUPP")

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not installed (scripts/deps.sh)" >&2; exit 1; }

cmake -S . -B "$VGBUILD" -DCMAKE_BUILD_TYPE=Debug -DCHALK_SANITIZE=OFF -DCHALK_VALGRIND=ON >/dev/null
cmake --build "$VGBUILD" -j "$JOBS"

# --- 2. the unit tests ----------------------------------------------------
# CTEST_ARGS as `make test` takes them, shell quoting included (-R 'a|b').
eval "ctest_args=(${CTEST_ARGS:-})"
[ -n "$VG_EXCLUDE" ] && ctest_args+=(-E "$VG_EXCLUDE")
rm -f "$VGBUILD"/Testing/Temporary/MemoryChecker.*.log     # an older run's
start=$(date +%s)
status=0
( cd "$VGBUILD" && ctest -T memcheck -L unit --no-tests=error -j "$JOBS" "${ctest_args[@]}" \
    --overwrite "MemoryCheckCommandOptions=${VALGRIND_OPTS[*]}" ) || status=1
if [ "$status" -ne 0 ]; then
  # The failed tests' valgrind logs (ctest keeps one per test number).
  shopt -s nullglob
  for log in "$VGBUILD"/Testing/Temporary/MemoryChecker.*.log; do
    if grep -qE "ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]" "$log"; then
      echo "=== $log" >&2
      cat "$log" >&2
    fi
  done
  echo "valgrind: unit tests failed (a test failed, or valgrind found errors: logs above)" >&2
fi
echo "valgrind: unit tests took $(( $(date +%s) - start ))s"

# --- 3. the server --------------------------------------------------------
start=$(date +%s)
if ! /usr/bin/python3 scripts/valgrind_smoke.py "$VGBUILD/bin" -- valgrind "${VALGRIND_OPTS[@]}"; then
  status=1
fi
echo "valgrind: server smoke took $(( $(date +%s) - start ))s"
exit "$status"
