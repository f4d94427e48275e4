#!/usr/bin/env bash
# Runs the order store benchmark against a throw-away local PostgreSQL 15 and prints its JSON
# lines (group commit, then one transaction per submit).
#   tests/bench/run_order_store.sh [build dir] [-- extra benchmark flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/dev}; shift || true
[ "${1:-}" = "--" ] && shift
state=$(mktemp -d -t tickstream-bench-pg.XXXXXX)
trap '"$root/deploy/local/postgres.sh" destroy --dir "$state" >/dev/null; rm -rf "$state"' EXIT
"$root/deploy/local/postgres.sh" start --dir "$state" >/dev/null
"$build/tests/bench/order_store_bench" --pg-url "$(cat "$state/url")" "$@"
