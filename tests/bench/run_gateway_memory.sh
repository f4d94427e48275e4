#!/usr/bin/env bash
# Gateway process memory per idle WebSocket connection: a fresh broker, 1000 synthetic symbols
# (ticks_producer's snapshots, then silence), one gateway shard, and loadgen holding N idle
# connections with S subscriptions each. The gateway's RSS is read from /proc before the
# connections and while they are all open; the JSON line gives the difference per connection.
# Kernel socket buffers are not in RSS (the uWebSockets figure the issue quotes is process
# memory too).
#   tests/bench/run_gateway_memory.sh [--build DIR] [--connections 5000] [--subs 20] [--runs 3]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/deploy/local/common.sh"
build=$root/build/dev connections=5000 subs=20 runs=3
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2 ;; --connections) connections=$2 ;; --subs) subs=$2 ;; --runs) runs=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
state=$(mktemp -d -t tickstream-bench-gwmem.XXXXXX)
cleanup() {
  stop_pid "$state/gateway.pid" 20 || true
  "$root/deploy/local/kafka.sh" stop --dir "$state/kafka" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
brokers=$("$root/deploy/local/kafka.sh" start --dir "$state/kafka")
"$build/tools/tsctl/tsctl" topics ensure --kafka-brokers "$brokers" >/dev/null
# Snapshots for 1000 symbols, a few updates, then nothing: the connections stay idle.
"$build/tools/loadgen/ticks_producer" --kafka-brokers "$brokers" --symbols 1000 --rate 1000 \
  --duration-s 2 >"$state/producer.log" 2>&1
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

for run in $(seq 1 "$runs"); do
  "$build/services/gateway/gateway" --kafka-brokers "$brokers" --allow-anonymous true \
    --listen 127.0.0.1:0 --metrics-listen "" --upgrades-per-ip-per-second 100000 \
    --upgrade-burst-per-ip 100000 --idle-timeout-ms 600000 >"$state/gateway.log" 2>&1 &
  gw=$!
  echo $gw >"$state/gateway.pid"
  ready() { grep -q '"gateway ready"' "$state/gateway.log"; }
  wait_until 60 "the gateway to load md.snapshot" ready
  port=$(sed -n 's/.*"gateway listening".*"port":\([0-9]*\).*/\1/p' "$state/gateway.log" | head -1)
  before=$(rss_kib "$gw")
  # Connected and subscribed for the whole measured window; RSS is read in its middle.
  "$build/tools/loadgen/loadgen" --url "ws://127.0.0.1:$port/v1/stream" \
    --connections "$connections" --symbols-per-connection "$subs" --source-ips 16 \
    --connect-rate 2000 --warmup-s 2 --duration-s 8 >"$state/loadgen.json" 2>"$state/loadgen.log" &
  lg=$!
  connect_s=$(( connections / 2000 + 6 ))
  sleep "$connect_s"
  during=$(rss_kib "$gw")
  wait $lg
  python3 - "$before" "$during" "$connections" "$subs" "$run" "$state/loadgen.json" <<'PY'
import json, sys
before, during, conns, subs, run = map(int, sys.argv[1:6])
lg = json.loads(open(sys.argv[6]).read().strip().splitlines()[-1])
open_conns = lg.get("connections_open_at_end", lg.get("connections_established", 0))
print(json.dumps({"bench": "gateway_idle_memory", "run": run, "connections": open_conns,
                  "subscriptions_per_connection": subs, "rss_before_kib": before,
                  "rss_with_connections_kib": during,
                  "bytes_per_connection": round((during - before) * 1024 / max(open_conns, 1))}))
PY
  stop_pid "$state/gateway.pid" 20 || true
done
