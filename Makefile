# USSL developer targets. `make test` is the one command that runs every test on a fresh machine:
# it installs the real clients the tests drive (redis-cli, redis-server, redis-py) first.

CARGO ?= cargo

.PHONY: build release run test test-deps check fmt clippy fuzz bench bench-text clean wasm

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release --workspace

run:
	$(CARGO) run --release --bin usld

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

# The native crdt-text benchmark (no server): the automerge-paper trace through TextDoc.
bench-text:
	$(CARGO) run --release -p ussl-shards --example text_native

clean:
	$(CARGO) clean
