#!/usr/bin/env bash
# run.sh — `make fuzz`: build and run Chalk's libFuzzer targets, each for a
# fixed time, under ASan + UBSan.
#
#   bash tests/fuzz/run.sh [seconds]        (default 60 per target)
#
# 1. fuzz_resp_parser: the server's request parser (server/resp_parse.c);
#    whole vs split vs byte-by-byte parses must agree. Seed corpus kept in
#    tests/fuzz/corpus_resp/ (committed); new inputs the fuzzer finds go to
#    build-fuzz/corpus_resp/ and crash files to build-fuzz/ (not committed).
#    Copy an interesting new input into corpus_resp/ to keep it.
# 2. tests/fuzz/run_client.sh, libchalk's reply parser, if present.
#
# Needs clang and libFuzzer (Debian: clang libclang-rt-14-dev, scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build-fuzz
mkdir -p "$out/corpus_resp"
clang -g -O1 -std=c17 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -Iserver \
  tests/fuzz/fuzz_resp_parser.c server/resp_parse.c -o "$out/fuzz_resp_parser"
echo "fuzz_resp_parser: ${secs}s" >&2
"$out/fuzz_resp_parser" -max_total_time="$secs" -max_len=8192 -timeout=10 \
  -artifact_prefix="$out/" "$out/corpus_resp" tests/fuzz/corpus_resp
if [ -x tests/fuzz/run_client.sh ] || [ -f tests/fuzz/run_client.sh ]; then
  bash tests/fuzz/run_client.sh "$secs"
fi
