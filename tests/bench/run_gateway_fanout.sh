#!/usr/bin/env bash
# Gateway fan-out on the issue's fixed workload: one shard pinned to CPU 0, loadgen pinned to
# CPU 1 (taskset), N connections (10k) each subscribed to 20 random symbols of 1000 (~200
# subscribers per update), ~60-byte quote updates produced into md.ticks by ticks_producer (a
# synthetic normalizer, through the real broker), the update rate stepped. One JSON line per
# (rate, run) with deliveries/s, latency (ticks_producer's publish stamp -> loadgen's read),
# losses, conflation and the gateway's CPU use; then a summary line per rate with medians.
# The broker and ticks_producer are not pinned: they share the two cores with the measured pair.
#   tests/bench/run_gateway_fanout.sh [--build DIR] [--connections 10000] [--subs 20]
#       [--rates 500,1000,2000,5000,10000] [--runs 1] [--duration 20] [--encoding proto]
#       [--gateway BIN]   (another gateway binary, e.g. a build from before a change)
#       [--source kafka|synthetic]
#       [--linger-ms 0[,5...]]  (ticks_producer's linger.ms; several values alternate within
#                                 each run, so they compare on the same broker; 0 is the
#                                 normalizer's default)
#       [--loadgen-busy-poll-us 0]  (loadgen polls without sleeping this long after events:
#                                     no wake-ups charged to the shard's core; 0 = as a client)
#       [--loadgen-poll-sleep-us 0]  (loadgen never blocks in epoll_wait: it polls, and sleeps
#                                     this long when nothing came; no wake-ups charged to the
#                                     shard's core either, without spinning; 0 = as a client)
#       [--timeline-ms 0]  (the loadgen's per-slot update count and worst latency, kept as
#                           timeline-<rate>-<run>-linger<ms>.jsonl in --timeline-dir)
# --source synthetic generates the updates inside the gateway (--synthetic-updates-per-second)
# and starts no broker: the fan-out alone, with CPU 0 for the shard and CPU 1 for loadgen, as
# the issue's uWebSockets figures were measured. kafka (default) is the whole path.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/deploy/local/common.sh"
. "$root/tests/bench/bench_pipeline.sh"
build=$root/build/dev connections=10000 subs=20 rates=500,1000,2000,5000,10000 runs=1
duration=20 warmup=5 encoding=proto gateway="" source=kafka busy_poll=0 poll_sleep=0 lingers=0
timeline=0 timeline_dir=.
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2 ;; --connections) connections=$2 ;; --subs) subs=$2 ;; --rates) rates=$2 ;;
    --runs) runs=$2 ;; --duration) duration=$2 ;; --warmup) warmup=$2 ;; --encoding) encoding=$2 ;;
    --gateway) gateway=$2 ;; --source) source=$2 ;; --loadgen-busy-poll-us) busy_poll=$2 ;;
    --linger-ms) lingers=$2 ;; --loadgen-poll-sleep-us) poll_sleep=$2 ;;
    --timeline-ms) timeline=$2 ;; --timeline-dir) timeline_dir=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
gateway=${gateway:-$build/services/gateway/gateway}
[ "$source" = synthetic ] && lingers=0  # no producer: one pass per run
state=$(mktemp -d -t tickstream-bench-fanout.XXXXXX)
cleanup() {
  stop_pid "$state/gateway.pid" 20 || true
  stop_pid "$state/producer.pid" 20 || true
  "$root/deploy/local/kafka.sh" stop --dir "$state/kafka" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
brokers=""
if [ "$source" = kafka ]; then
  brokers=$("$root/deploy/local/kafka.sh" start --dir "$state/kafka")
  warm_broker 5000
fi
connect_rate=2500
results=()
for rate in ${rates//,/ }; do
  for run in $(seq 1 "$runs"); do
  read -ra all_lingers <<<"${lingers//,/ }"
  for i in "${!all_lingers[@]}"; do
  # Each run starts with the next linger: a fixed order would charge the first run after the
  # warm-up (or after the previous rate) to the first value.
  linger=${all_lingers[$(( (i + run - 1) % ${#all_lingers[@]} ))]}
    # Snapshots first (the gateway loads them at start), then updates at `rate` for the whole
    # connect + warm-up + measured window.
    connect_s=$(( connections / connect_rate + 5 ))
    total_s=$(( connect_s + warmup + duration + 10 ))
    if [ "$source" = kafka ]; then
      "$build/tools/loadgen/ticks_producer" --kafka-brokers "$brokers" --symbols 1000 \
        --rate "$rate" --duration-s "$total_s" --linger-ms "$linger" >"$state/producer.log" 2>&1 &
      echo $! >"$state/producer.pid"
      sleep 2
      source_flags=(--kafka-brokers "$brokers")
    else
      source_flags=(--synthetic-updates-per-second "$rate" --synthetic-symbols 1000)
    fi
    start_gateway "$gateway" "${source_flags[@]}"
    gw=$(cat "$state/gateway.pid")
    taskset -c 1 "$build/tools/loadgen/loadgen" --url "ws://127.0.0.1:$gateway_port/v1/stream" \
      --connections "$connections" --symbols-per-connection "$subs" --source-ips 16 \
      --connect-rate "$connect_rate" --warmup-s "$warmup" --duration-s "$duration" \
      --encoding "$encoding" --busy-poll-us "$busy_poll" --poll-sleep-us "$poll_sleep" \
      --timeline-ms "$timeline" >"$state/loadgen.json" 2>"$state/loadgen.log" &
    lg=$!
    # The gateway's CPU over the measured window (connect phase and warm-up excluded).
    established() { grep -q "open=$connections" "$state/loadgen.log"; }
    wait_until $(( connect_s + 30 )) "loadgen to connect" established || true
    sleep "$warmup"
    t0=$(cpu_ticks "$gw"); l0=$(cpu_ticks "$lg"); s0=$(date +%s.%N)
    # The loadgen's window ends a second early: it exits when its own window is over, and may
    # be gone by the end of ours.
    sleep $(( duration - 1 ))
    l1=$(cpu_ticks "$lg"); sl=$(date +%s.%N)
    sleep 1
    t1=$(cpu_ticks "$gw"); s1=$(date +%s.%N)
    if ! wait $lg; then
      echo "loadgen failed (rate $rate, run $run); its log ends:" >&2
      tail -5 "$state/loadgen.log" >&2
    fi
    if [ "$timeline" != 0 ]; then
      grep '"timeline_ms"' "$state/loadgen.log" \
        >"$timeline_dir/timeline-$rate-$run-linger$linger.jsonl" || true
    fi
    line=$(python3 - "$rate" "$run" "$connections" "$subs" "$encoding" "$t0" "$t1" "$s0" "$s1" "$hz" \
      "$state/loadgen.json" "$source" "$l0" "$l1" "$sl" "$busy_poll" "$linger" "$poll_sleep" <<'PY'
import json, sys
rate, run, conns, subs = map(int, sys.argv[1:5])
enc = sys.argv[5]
t0, t1 = int(sys.argv[6]), int(sys.argv[7])
s0, s1 = float(sys.argv[8]), float(sys.argv[9])
hz = int(sys.argv[10])
lg = json.loads(open(sys.argv[11]).read().strip().splitlines()[-1])
lat = lg["latency_publish_ms"]
print(json.dumps({
    "bench": "gateway_fanout", "source": sys.argv[12], "rate": rate, "run": run, "connections": conns,
    "subscriptions_per_connection": subs, "encoding": enc, "loadgen_busy_poll_us": int(sys.argv[16]),
    "loadgen_poll_sleep_us": int(sys.argv[18]),
    # the synthetic producer's linger.ms (kafka source only: the synthetic source has no producer)
    "producer_linger_ms": int(sys.argv[17]) if sys.argv[12] == "kafka" else None,
    "connections_open": lg["connections_open_at_end"],
    "deliveries_per_s": round(lg["updates_per_s"]), "bytes_per_s": round(lg["bytes_per_s"]),
    "p50_ms": lat["p50"], "p99_ms": lat["p99"], "p999_ms": lat["p999"], "max_ms": lat["max"],
    "seq_losses": lg["seq_losses"], "conflation_skips": lg["conflation_skips"],
    "connect_failures": lg["connect_failures"], "closes": lg["closes"],
    "gateway_cpu": round((t1 - t0) / hz / (s1 - s0), 3),
    # the loadgen's own CPU: near 1.0 its reads lag and the latency measured is partly its own
    "loadgen_cpu": (round((int(sys.argv[14]) - int(sys.argv[13])) / hz / (float(sys.argv[15]) - s0), 3)
                    if int(sys.argv[14]) >= int(sys.argv[13]) else None)}))  # None: it had exited
PY
)
    echo "$line"
    results+=("$line")
    stop_pid "$state/gateway.pid" 20 || true
    stop_pid "$state/producer.pid" 20 || true
  done
  done
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
for rate, linger in sorted({(r["rate"], r["producer_linger_ms"]) for r in rows}, key=lambda k: (k[0], k[1] or 0)):
    rs = [r for r in rows if r["rate"] == rate and r["producer_linger_ms"] == linger]
    out = {"bench": "gateway_fanout_summary", "rate": rate, "producer_linger_ms": linger, "runs": len(rs)}
    for k in ["deliveries_per_s", "p50_ms", "p99_ms", "gateway_cpu", "loadgen_cpu", "seq_losses", "conflation_skips"]:
        out["median_" + k] = statistics.median(r[k] for r in rs)
    print(json.dumps(out))'
