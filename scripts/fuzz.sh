#!/usr/bin/env bash
# Runs the fuzz targets in fuzz/fuzz_targets/ for N seconds each:
#   request_codec  the protocol codec (client bytes -> requests)
#   text_merge     crdt-text replica sync (mutated Yjs updates and state vectors)
#   json_merge     replica sync of the JSON strategies (arbitrary bytes as MERGE updates)
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
#   scripts/fuzz.sh 30                  # every target, 30 s each
#   scripts/fuzz.sh 300 text_merge      # one target
set -euo pipefail
seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(request_codec text_merge json_merge)
fi
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
for target in "${targets[@]}"; do
  options=(-max_total_time="$seconds")
  if [ -f "fuzz/$target.dict" ]; then
    options+=(-dict="fuzz/$target.dict")
  fi
  echo "== fuzz $target for ${seconds}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- "${options[@]}"
done
