#!/usr/bin/env bash
# The floor under the order path: unary gRPC calls that do nothing (Health.Check on a
# callback-API server, as SubmitOrder is served), driven closed loop by an async client with a
# completion queue per thread (as order-loadgen drives SubmitOrder). Server and client share
# the machine's two cores, unpinned, like the order benchmark. One JSON line per (in-flight,
# run): calls/s and the CPU per call of each side.
#   tests/bench/run_grpc_floor.sh [--build DIR] [--in-flight 64,256] [--runs 3] [--seconds 10]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build/dev in_flight=64,256 runs=3 seconds=10
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2 ;; --in-flight) in_flight=$2 ;; --runs) runs=$2 ;; --seconds) seconds=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
bin=$build/tools/order-loadgen/grpc_floor
out=$(mktemp -t grpc-floor.XXXXXX)
"$bin" --serve --listen 127.0.0.1:0 --log-level warn >"$out" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
port=$(head -1 "$out")
[ -n "$port" ] || { echo "grpc_floor --serve did not start" >&2; exit 1; }
for run in $(seq "$runs"); do
  for k in ${in_flight//,/ }; do
    "$bin" --target "127.0.0.1:$port" --in-flight "$k" --threads 2 --seconds "$seconds" \
      --server-pid "$server" | sed "s/}\$/,\"run\":$run}/"
  done
done
