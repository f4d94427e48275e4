#!/usr/bin/env bash
# 100k concurrent WebSocket connections on this one machine. A process may hold about 20k open
# files here (ulimit -Hn, not raisable), so the connections are spread over several gateway
# shards (one process each, the ring splitting the symbols) and as many loadgen processes (one
# per shard). Each connection subscribes to S of its shard's symbols; ticks_producer keeps a
# light stream flowing so every connection is checked for sequence continuity, not just held.
# One JSON line per shard, then a total line.
#   tests/bench/run_gateway_100k.sh [--build DIR] [--shards 6] [--per-shard 16700] [--subs 5]
#       [--rate 500] [--duration 20]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/deploy/local/common.sh"
build=$root/build/dev shards=6 per_shard=16700 subs=5 rate=500 duration=20
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2 ;; --shards) shards=$2 ;; --per-shard) per_shard=$2 ;; --subs) subs=$2 ;;
    --rate) rate=$2 ;; --duration) duration=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
state=$(mktemp -d -t tickstream-bench-100k.XXXXXX)
cleanup() {
  for f in "$state"/*.pid; do [ -e "$f" ] && { stop_pid "$f" 20 || true; }; done
  "$root/deploy/local/kafka.sh" stop --dir "$state/kafka" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
brokers=$("$root/deploy/local/kafka.sh" start --dir "$state/kafka")
"$build/tools/tsctl/tsctl" topics ensure --kafka-brokers "$brokers" >/dev/null
connect_rate=1000  # per loadgen: 6 x 1000/s is what two shared cores accept without backlog drops
connect_s=$(( per_shard / connect_rate + 10 ))
"$build/tools/loadgen/ticks_producer" --kafka-brokers "$brokers" --symbols 1000 --rate "$rate" \
  --duration-s $(( connect_s + duration + 600 )) >"$state/producer.log" 2>&1 &  # stopped at the end
echo $! >"$state/producer.pid"
sleep 2

ports=()
endpoints=""
for shard in $(seq 0 $((shards - 1))); do
  port=$(free_port)
  ports+=("$port")
  endpoints+="${endpoints:+,}ws://127.0.0.1:$port/v1/stream"
done
for shard in $(seq 0 $((shards - 1))); do
  "$build/services/gateway/gateway" --kafka-brokers "$brokers" --allow-anonymous true \
    --shard-id "$shard" --shard-count "$shards" --shard-endpoints "$endpoints" \
    --listen "127.0.0.1:${ports[$shard]}" --metrics-listen "" \
    --upgrades-per-ip-per-second 100000 --upgrade-burst-per-ip 100000 --idle-timeout-ms 600000 \
    >"$state/gateway.$shard.log" 2>&1 &
  echo $! >"$state/gateway.$shard.pid"
done
for shard in $(seq 0 $((shards - 1))); do
  ready() { grep -q '"gateway ready"' "$state/gateway.$shard.log"; }
  wait_until 90 "shard $shard to load md.snapshot" ready
done
for shard in $(seq 0 $((shards - 1))); do
  # The loadgens share source addresses: the kernel picks ports per destination (IP_BIND_ADDRESS_NO_PORT).
  "$build/tools/loadgen/loadgen" --url "ws://127.0.0.1:${ports[$shard]}/v1/stream" \
    --connections "$per_shard" --symbols-per-connection "$subs" --source-ips 8 \
    --connect-rate "$connect_rate" --warmup-s 10 --duration-s "$duration" \
    --connect-timeout-s $(( connect_s + 90 )) \
    >"$state/loadgen.$shard.json" 2>"$state/loadgen.$shard.log" &
  echo $! >"$state/loadgen.$shard.pid"
done
# Once every loadgen has finished connecting (it then warms up for 10 s): each shard's RSS and
# open files while every loadgen holds its connections.
all_connected() {
  for shard in $(seq 0 $((shards - 1))); do
    grep -q "loadgen: connected" "$state/loadgen.$shard.log" || return 1
  done
}
wait_until $(( connect_s + 120 )) "every loadgen to finish connecting" all_connected
for shard in $(seq 0 $((shards - 1))); do
  pid=$(cat "$state/gateway.$shard.pid")
  echo "$shard $(awk '/^VmRSS:/ {print $2}' /proc/$pid/status) $(ls /proc/$pid/fd | wc -l)"
done >"$state/rss.txt"
for shard in $(seq 0 $((shards - 1))); do
  wait "$(cat "$state/loadgen.$shard.pid")" || true
  rm -f "$state/loadgen.$shard.pid"
done
python3 - "$state" "$shards" "$per_shard" "$subs" <<'PY'
import json, sys
state, shards, per_shard, subs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rss = {int(l.split()[0]): (int(l.split()[1]), int(l.split()[2])) for l in open(f"{state}/rss.txt")}
total = {"open": 0, "failed": 0, "losses": 0, "updates_per_s": 0.0, "rss_kib": 0}
for s in range(shards):
    lg = json.loads(open(f"{state}/loadgen.{s}.json").read().strip().splitlines()[-1])
    row = {"bench": "gateway_100k_shard", "shard": s, "connections_requested": per_shard,
           "connections_open": lg["connections_open_at_end"],
           "connections_failed": lg["connections_failed"],
           "gateway_rss_kib": rss[s][0], "gateway_open_files": rss[s][1],
           "updates_per_s": round(lg["updates_per_s"]), "seq_losses": lg["seq_losses"],
           "p99_ms": lg["latency_publish_ms"]["p99"], "connect_failures": lg["connect_failures"]}
    print(json.dumps(row))
    total["open"] += row["connections_open"]; total["failed"] += row["connections_failed"]
    total["losses"] += row["seq_losses"]; total["updates_per_s"] += row["updates_per_s"]
    total["rss_kib"] += row["gateway_rss_kib"]
print(json.dumps({"bench": "gateway_100k", "shards": shards, "subscriptions_per_connection": subs,
                  "connections_open": total["open"], "connections_failed": total["failed"],
                  "seq_losses": total["losses"], "deliveries_per_s": round(total["updates_per_s"]),
                  "gateway_rss_total_mib": round(total["rss_kib"] / 1024, 1)}))
PY
