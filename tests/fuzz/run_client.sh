#!/usr/bin/env bash
# run_client.sh — build and run the libFuzzer target for libchalk's reply
# parser (tests/fuzz/fuzz_reply_parser.c) for a fixed time.
#
#   tests/fuzz/run_client.sh [seconds]     (default 60; `make fuzz` calls it)
#
# Needs clang and libFuzzer (Debian: clang libclang-rt-14-dev, in
# scripts/deps.sh). The seed corpus is the hostile replies of
# tests/unit/test_client_reply.c plus one of each RESP3 type; the working
# corpus and any crash files go to build-fuzz-client/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build-fuzz-client
mkdir -p "$out/corpus"
clang -g -O1 -std=c17 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -Iinclude \
  tests/fuzz/fuzz_reply_parser.c client/reply.c -o "$out/fuzz_reply_parser"
i=0
for s in '+OK\r\n' '-ERR x\r\n' ':42\r\n' '$3\r\nabc\r\n' '$-1\r\n' '*-1\r\n' \
         '*2\r\n:1\r\n*1\r\n$1\r\nx\r\n' '%1\r\n+k\r\n:1\r\n' '~1\r\n#t\r\n' \
         '|1\r\n+a\r\n+b\r\n:1\r\n' '>2\r\n+m\r\n$1\r\nx\r\n' ',3.5\r\n' '_\r\n' \
         '(123456789012345678901234567890\r\n' '=7\r\ntxt:abc\r\n' '!3\r\nERR\r\n' \
         '*9223372036854775807\r\n' '*4294967296\r\n' '$-2\r\n' '$9999999999\r\n' \
         '*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n'; do
  printf "%b" "$s" > "$out/corpus/seed$i"
  i=$((i + 1))
done
"$out/fuzz_reply_parser" -max_total_time="$secs" -max_len=4096 \
  -artifact_prefix="$out/" "$out/corpus"
