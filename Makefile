# USSL developer targets. `make test` is the one command that runs every test on a fresh machine:
# it installs the real clients the tests drive (redis-cli, redis-server, redis-py) first.

CARGO ?= cargo

.PHONY: build release run install test test-deps check fmt clippy fuzz bench bench-tool bench-text bench-persistence clean wasm

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release --workspace

run:
	$(CARGO) run --release --bin usld

# Installs the server `usld` (with `usld bench`) and the client `ussl` into ~/.cargo/bin.
install:
	$(CARGO) install --locked --path .

test-deps:
	scripts/install-test-deps.sh

test: test-deps
	$(CARGO) test --workspace

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Lints are tests: formatting, clippy, then the whole suite.
check: test-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace

# Runs every fuzz target (protocol codec, crdt-text merge) for FUZZ_SECONDS each (default 30) on
# the stable toolchain.
FUZZ_SECONDS ?= 30
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The document and CRDT engine (shards/) has no runtime or OS dependency: it builds for the web.
wasm:
	rustup target add wasm32-unknown-unknown
	$(CARGO) build -p ussl-shards --target wasm32-unknown-unknown

bench: release
	bench/compare-redis.sh

# `usld bench` against usld and Redis: the seed's light and heavy loads, and the generator's own
# speed against redis-benchmark (the figures of bench/RESULTS.md).
bench-tool: release
	python3 bench/usld_bench_runs.py seed-loads
	python3 bench/usld_bench_runs.py generator

# The native crdt-text benchmark (no server): the automerge-paper trace through TextDoc.
bench-text:
	$(CARGO) run --release -p ussl-shards --example text_native

# usld --db against Redis's append-only file, bytes written per write, restart time (the
# figures of bench/RESULTS.md, "usld --db").
bench-persistence: release
	bench/compare-redis.sh --persistence --requests 100000
	python3 bench/persistence.py bytes
	python3 bench/persistence.py restart

clean:
	$(CARGO) clean
