#!/usr/bin/env bash
# Exchange -> WebSocket client latency through the whole market-data path, on a fresh local
# broker: exchange-sim (live SoupBinTCP, 1000 symbols) -> ingestion -> md.raw -> normalizer ->
# md.ticks -> one gateway shard (pinned to CPU 0) -> loadgen (pinned to CPU 1, K clients each
# subscribed to S random symbols). Latency is the client's read time minus the update's
# receive_ts_ns: ingestion's receive time of the newest ITCH event merged into the update
# (exchange-sim's ITCH clock is not the wall clock, so its send time cannot be used; on
# loopback the two differ by microseconds). The split at the normalizer's publish stamp is
# in the same line (publish_*). One JSON line per run, then a summary line per variant.
#   tests/bench/run_exchange_to_client.sh [--build DIR] [--rate 1000] [--connections 1000]
#       [--subs 20] [--runs 3] [--duration 20] [--warmup 5] [--cap 20] [--partitions 16]
#       [--linger-ms 0[,5...]]
# --rate is ITCH messages/s (the normalizer's updates/s out is in each line: about as many at
# 1000-2000 msgs/s).
# --cap is the normalizer's per-symbol rate cap (its default, 20): a conflated update waits up
# to 1/cap for its slot by design, and that wait is in the latency; --cap 1000000000 measures
# the path without it. --linger-ms (a comma list) sets both producers' linger.ms (ingestion's
# to md.raw, the normalizer's to md.ticks); several values alternate within each run round,
# on the same broker, in a rotating order.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/deploy/local/common.sh"
. "$root/tests/bench/bench_pipeline.sh"
build=$root/build/dev rate=1000 connections=1000 subs=20 runs=3 duration=20 warmup=5 cap=20
partitions=16 lingers=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2 ;; --rate) rate=$2 ;; --connections) connections=$2 ;; --subs) subs=$2 ;;
    --runs) runs=$2 ;; --duration) duration=$2 ;; --warmup) warmup=$2 ;; --cap) cap=$2 ;;
    --partitions) partitions=$2 ;; --linger-ms) lingers=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
state=$(mktemp -d -t tickstream-bench-e2c.XXXXXX)
services=(gateway normalizer ingestion exchange-sim)
cleanup() {
  for svc in "${services[@]}"; do stop_pid "$state/$svc.pid" 20 || true; done
  "$root/deploy/local/kafka.sh" stop --dir "$state/kafka" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
brokers=$("$root/deploy/local/kafka.sh" start --dir "$state/kafka")
warm_broker 5000
connect_rate=2500
read -ra variants <<<"${lingers//,/ }"
results=()
for round in $(seq 1 "$runs"); do
for i in "${!variants[@]}"; do
  linger=${variants[$(( (i + round - 1) % ${#variants[@]} ))]}
  run=$round.$linger
  raw=bench.raw.$run ticks=bench.ticks.$run snap=bench.snapshot.$run
  port=$(free_port) nport=$(free_port)
  start_ingestion "$raw" "$partitions" "$port" "$linger"
  start_normalizer "$build/services/normalizer/normalizer" "$raw" "$ticks" "$snap" "$partitions" \
    "bench.$run" "$cap" "$linger" --metrics-listen "127.0.0.1:$nport"
  connect_s=$(( connections / connect_rate + 5 ))
  # The feed outlasts the run.
  start_exchange_sim "$port" $(( rate * (connect_s + warmup + duration + 30) )) "$rate"
  # The gateway serves the symbols md.snapshot holds when it starts (/v1/symbols, which the
  # loadgen subscribes from), so the feed runs first until every symbol has one.
  snapshots() {
    local n
    n=$(curl -s "http://127.0.0.1:$nport/metrics" | awk '$1 == "normalizer_snapshots_total" {print int($2)}')
    [ "${n:-0}" -ge 1000 ]
  }
  wait_until 60 "a snapshot of every symbol" snapshots
  start_gateway "$build/services/gateway/gateway" --kafka-brokers "$brokers" --ticks-topic "$ticks" \
    --snapshot-topic "$snap" --md-partitions "$partitions"
  taskset -c 1 "$build/tools/loadgen/loadgen" --url "ws://127.0.0.1:$gateway_port/v1/stream" \
    --connections "$connections" --symbols-per-connection "$subs" --source-ips 16 \
    --connect-rate "$connect_rate" --warmup-s "$warmup" --duration-s "$duration" \
    >"$state/loadgen.json" 2>"$state/loadgen.log" &
  lg=$!
  established() { grep -q "open=$connections" "$state/loadgen.log"; }
  wait_until $(( connect_s + 30 )) "loadgen to connect" established || true
  sleep "$warmup"
  pids=("$(cat "$state/kafka/pid")")
  for svc in "${services[@]}"; do pids+=("$(cat "$state/$svc.pid")"); done
  updates() { curl -s "http://127.0.0.1:$nport/metrics" | awk '$1 == "normalizer_updates_total" {print int($2)}'; }
  c0=(); for p in "${pids[@]}"; do c0+=("$(cpu_ticks "$p")"); done
  u0=$(updates); s0=$(date +%s.%N)
  # The window ends a second before the loadgen's: it exits when its own is over.
  sleep $(( duration - 1 ))
  c1=(); for p in "${pids[@]}"; do c1+=("$(cpu_ticks "$p")"); done
  u1=$(updates); s1=$(date +%s.%N)
  if ! wait $lg; then
    echo "loadgen failed (run $run); its log ends:" >&2
    tail -5 "$state/loadgen.log" >&2
  fi
  line=$(python3 - "$state/loadgen.json" "$rate" "$cap" "$linger" "$partitions" "$connections" \
    "$subs" "$run" "$u0" "$u1" "$s0" "$s1" "$hz" "${c0[@]}" "${c1[@]}" <<'PY'
import json, sys
a = sys.argv
lg = json.loads(open(a[1]).read().strip().splitlines()[-1])
s0, s1, hz = float(a[11]), float(a[12]), int(a[13])
c = list(map(int, a[14:]))
rec, pub = lg["latency_receive_ms"], lg["latency_publish_ms"]
row = {"bench": "exchange_to_client", "itch_rate": int(a[2]), "cap": int(a[3]),
       "linger_ms": int(a[4]), "partitions": int(a[5]), "connections": int(a[6]),
       "subscriptions_per_connection": int(a[7]), "run": a[8],
       "normalizer_updates_per_s": round((int(a[10]) - int(a[9])) / (s1 - s0)),
       "deliveries_per_s": round(lg["updates_per_s"]),
       "p50_ms": rec["p50"], "p99_ms": rec["p99"], "p999_ms": rec["p999"], "max_ms": rec["max"],
       "publish_p50_ms": pub["p50"], "publish_p99_ms": pub["p99"],
       "seq_losses": lg["seq_losses"], "conflation_skips": lg["conflation_skips"],
       "connections_open": lg["connections_open_at_end"]}
n = len(c) // 2
for k, name in enumerate(["broker", "gateway", "normalizer", "ingestion", "exchange_sim"]):
    # None: the process was gone before the window ended
    row["cpu_" + name] = round((c[n + k] - c[k]) / hz / (s1 - s0), 3) if c[n + k] >= c[k] > 0 else None
print(json.dumps(row))
PY
)
  echo "$line"
  results+=("$line")
  for svc in "${services[@]}"; do stop_pid "$state/$svc.pid" 20 || true; done
done
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
for linger in sorted({r["linger_ms"] for r in rows}):
    rs = [r for r in rows if r["linger_ms"] == linger]
    out = {"bench": "exchange_to_client_summary", "itch_rate": rs[0]["itch_rate"], "cap": rs[0]["cap"],
           "linger_ms": linger, "runs": len(rs)}
    for k in ["normalizer_updates_per_s", "deliveries_per_s", "p50_ms", "p99_ms", "publish_p50_ms",
              "publish_p99_ms", "seq_losses", "cpu_broker", "cpu_gateway", "cpu_normalizer"]:
        vals = [r[k] for r in rs if r.get(k) is not None]
        if vals:
            out["median_" + k] = statistics.median(vals)
    print(json.dumps(out))'
