#!/usr/bin/env bash
# Installs what the test suite drives for real: redis-cli and redis-server (Debian's redis-tools
# and redis-server), redis-py (PyPI `redis`), Node.js with the `yjs` package (npm, into
# tests/js/node_modules) for the Yjs interoperability test, and util-linux's `taskset` and
# `setpriv` (present on Debian, checked all the same) for the start-up tests. Does nothing for what is already
# there, so it is cheap to run before every `make test`.
set -euo pipefail

need_apt=()
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v taskset >/dev/null 2>&1 || need_apt+=(util-linux)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need_apt[*]} (apt-get)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import redis' >/dev/null 2>&1; then
  echo "installing redis-py (pip)" >&2
  python3 -m pip install --quiet redis
fi

js="$(cd "$(dirname "$0")/../tests/js" && pwd)"
if [ ! -d "$js/node_modules/yjs" ]; then
  echo "installing yjs (npm)" >&2
  (cd "$js" && npm ci --no-audit --no-fund --silent)
fi
