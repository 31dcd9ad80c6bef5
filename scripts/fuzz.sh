#!/usr/bin/env bash
# Runs the protocol codec fuzz target (fuzz/fuzz_targets/request_codec.rs) for N seconds.
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
#   scripts/fuzz.sh 30
set -euo pipefail
seconds=${1:-30}
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
RUSTC_BOOTSTRAP=1 cargo fuzz run request_codec -- -max_total_time="$seconds" -dict=fuzz/request_codec.dict
