#!/usr/bin/env bash
# Side-by-side throughput and latency of usld and redis-server under the same redis-benchmark load,
# in one run. See bench/compare_redis.py for the workloads; options pass through (--help).
#
#   bench/compare-redis.sh                 # full run, prints a Markdown table
#   bench/compare-redis.sh --requests 50000 --rounds 1   # quicker
#   bench/compare-redis.sh --persistence   # usld --db (and --fsync) against Redis's append-only file
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-benchmark >/dev/null && command -v redis-server >/dev/null || scripts/install-test-deps.sh
cargo build --release --bin usld >&2
exec python3 bench/compare_redis.py --usld target/release/usld "$@"
