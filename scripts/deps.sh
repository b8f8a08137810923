#!/usr/bin/env bash
# deps.sh — install the Debian packages Chalk needs, and nothing else.
#
# Idempotent and silent when everything is already there: it asks dpkg which
# packages are missing and runs `apt-get update` + `apt-get install` only for
# those. `make`, `make run` and `make test` call it, so on a fresh Debian 12
# machine the README's two commands are the whole set-up.
#
# Each later component adds its packages to the list below, with a comment
# saying who needs it.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  liburing-dev          # engine + server: io_uring for log I/O and networking
  libxxhash-dev         # engine: record checksums (XXH3) and the hash index
  libcmocka-dev         # tests/unit
  libedit-dev           # client: chalk-cli's line editor
  redis-tools           # tests/e2e + bench: redis-cli, redis-benchmark
  redis-server          # bench + client e2e: the peer Chalk is compared with
  python3 python3-redis python3-pytest # tests/e2e: redis-py as a real client, pytest as the runner
  clang libclang-rt-14-dev # make fuzz: libFuzzer
  libleveldb-dev librocksdb-dev liblmdb-dev # bench: embedded engine peers
  gnuplot-nox           # bench: plots
  valgrind              # make valgrind: memcheck over the unit tests and the server
  tmux                  # client e2e: chalk-cli's REPL typed into a real terminal
  nutcracker            # tests/e2e: twemproxy, the reference for libchalk's ketama ring
)

missing=()
for p in "${PACKAGES[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
