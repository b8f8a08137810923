# Chalk — the thin top-level Makefile. Everything real is in CMake; these
# targets are the short names a person types. Each one first runs
# scripts/deps.sh, which is silent when the Debian packages are there.
#
#   make            build (Release) into build/
#   make run        build, then chalk-server on 127.0.0.1:6379, data in ./data
#   make test       build, then every test through ctest (prints its summary)
#   make sanitize   ASan+UBSan build in build-sanitize/, then every test there
#   make valgrind   Debug build in build-valgrind/, the unit tests and a server
#                   smoke run under valgrind (scripts/valgrind.sh)
#   make bench      the side-by-side benchmarks (bench/), careful numbers
#   make bench-quick the same suites, small enough for a few minutes
#   make fuzz       libFuzzer targets for a fixed time (clang)
#   make docs       regenerate docs/INTERVIEW.md

BUILD     ?= build
SANBUILD  ?= build-sanitize
VGBUILD   ?= build-valgrind
JOBS      ?= $(shell nproc)
CTEST_ARGS ?=
CMAKE_ARGS ?=

MAKEFLAGS += --no-print-directory

.PHONY: all deps configure run test sanitize valgrind bench bench-quick fuzz docs clean

all: deps configure
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@bash scripts/deps.sh

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null

run: all
	@mkdir -p data
	exec $(BUILD)/bin/chalk-server --port 6379 --bind 127.0.0.1 --dir ./data

test: all
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) $(CTEST_ARGS)

sanitize: deps
	@test -f $(SANBUILD)/CMakeCache.txt || cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Debug -DCHALK_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(SANBUILD) -j $(JOBS)
	cd $(SANBUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure --no-tests=error -j $(JOBS) $(CTEST_ARGS)

valgrind: deps
	VGBUILD=$(VGBUILD) JOBS=$(JOBS) CTEST_ARGS="$(CTEST_ARGS)" bash scripts/valgrind.sh

bench: all
	bash bench/run.sh

bench-quick: all
	bash bench/run.sh --quick

fuzz: deps
	bash tests/fuzz/run.sh

docs:
	python3 scripts/interview.py

clean:
	rm -rf $(BUILD) $(SANBUILD) $(VGBUILD)
