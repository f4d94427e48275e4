#!/usr/bin/env bash
# Runs the order store benchmark against a throw-away local PostgreSQL 15 and prints its JSON
# lines (group commit, then one transaction per submit).
#   tests/bench/run_order_store.sh [--kafka] [build dir] [-- extra benchmark flags]
# --kafka also starts a throw-away broker and passes it on (--kafka BROKERS: the real outbox relay
# runs during the measurement). E.g. what PostgreSQL spends per order over an order's whole life:
#   tests/bench/run_order_store.sh --kafka -- --mode group --lifecycle --seconds 20
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
with_kafka=0
[ "${1:-}" = "--kafka" ] && { with_kafka=1; shift; }
# The build directory is optional: "--" right away (as in the example above) means the default.
build=$root/build/dev
if [ $# -gt 0 ] && [ "$1" != "--" ]; then build=$1; shift; fi
[ "${1:-}" = "--" ] && shift
state=$(mktemp -d -t tickstream-bench-pg.XXXXXX)
cleanup() {
  [ "$with_kafka" = 0 ] || "$root/deploy/local/kafka.sh" stop --dir "$state/kafka" >/dev/null 2>&1 || true
  "$root/deploy/local/postgres.sh" destroy --dir "$state" >/dev/null
  rm -rf "$state"
}
trap cleanup EXIT
"$root/deploy/local/postgres.sh" start --dir "$state" >/dev/null
extra=()
if [ "$with_kafka" = 1 ]; then
  mkdir -p "$state/kafka"
  extra=(--kafka "$("$root/deploy/local/kafka.sh" start --dir "$state/kafka" | tail -1)")
fi
"$build/tests/bench/order_store_bench" --pg-url "$(cat "$state/url")" "${extra[@]}" "$@"
