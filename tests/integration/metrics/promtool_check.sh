#!/usr/bin/env bash
# Starts a process that serves /metrics through libs/observability, scrapes it, and has
# Prometheus' own promtool check the exposition (format, naming, help text, histogram shape).
# Usage: promtool_check.sh <metrics-exposing binary>
set -euo pipefail
bin=$1
command -v promtool >/dev/null || { echo "promtool not installed (deploy/local/install-deps.sh)"; exit 1; }
out=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$out"' EXIT

"$bin" --listen 127.0.0.1:0 >"$out/port" 2>"$out/log" &
pid=$!
for _ in $(seq 1 100); do [ -s "$out/port" ] && break; sleep 0.05; done
port=$(head -1 "$out/port")
[ -n "$port" ] || { echo "no port from $bin"; cat "$out/log"; exit 1; }

curl -fsS "http://127.0.0.1:$port/metrics" >"$out/metrics"
grep -q '^tickstream_example_latency_seconds_bucket{path="feed",le="0.01"} 3$' "$out/metrics" \
  || { echo "expected histogram bucket missing"; cat "$out/metrics"; exit 1; }
if ! promtool check metrics <"$out/metrics"; then
  echo "promtool rejected the exposition:"; cat "$out/metrics"; exit 1
fi
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null
kill -TERM "$pid"; wait "$pid"  # graceful: exits 0 on SIGTERM
echo "promtool: /metrics from $(basename "$bin") is valid ($(grep -vc '^#' "$out/metrics") samples)"
