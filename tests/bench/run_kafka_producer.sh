#!/usr/bin/env bash
# Runs the producer benchmark against a fresh local broker and prints its JSON lines.
#   tests/bench/run_kafka_producer.sh [build dir] [-- extra benchmark flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/dev}; shift || true
[ "${1:-}" = "--" ] && shift
state=$(mktemp -d -t tickstream-bench-kafka.XXXXXX)
trap '"$root/deploy/local/kafka.sh" stop --dir "$state"; rm -rf "$state"' EXIT
brokers=$("$root/deploy/local/kafka.sh" start --dir "$state")
"$build/tests/bench/kafka_producer_bench" --brokers "$brokers" "$@"
