#!/usr/bin/env bash
# Feed -> md.ticks latency at a fixed ITCH message rate, on a fresh local broker: exchange-sim
# (live SoupBinTCP, 1000 symbols) -> ingestion -> normalizer -> md_latency_bench, once per run
# on topics of its own. Prints each run's JSON line and a summary line with the medians.
#   tests/bench/run_md_latency.sh [--build DIR] [--rate 100000] [--runs 3] [--duration 10]
#                                 [--cap 1000000000] [--linger 0[,5...]] [--partitions 16[,2...]]
#                                 [--compression lz4[,none...]] [--fetch-min-bytes 1[,32768...]]
#                                 [--normalizer BIN]...
# --cap is the normalizer's per-symbol rate cap: the default (no cap in practice) measures the
# pipeline; a real cap (20) adds the conflation delay by design (each line also gives the
# latency without the time the cap held the update: pipeline_*).
# --normalizer (repeatable), --compression (a comma list: the producers' codec, ingestion's and
# the normalizer's), --linger (a comma list: both producers' linger.ms), --partitions (a comma
# list: md.raw's and md.ticks' partition count) and --fetch-min-bytes (a comma list: the
# normalizer's md.raw fetches, with a 5 ms most wait) A/B-test variants: each run round starts
# every (binary, codec, linger, partitions, fetch) combination once, alternately (in a rotating
# order), on the same broker, and the summary has one line per combination. On a shared, noisy
# machine that is the only fair comparison (runs minutes apart differ by up to +-100 %). Each
# line has the CPU (cores) of the broker, ingestion, the normalizer and exchange-sim over the
# measured window.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/deploy/local/common.sh"
. "$root/tests/bench/bench_pipeline.sh"
build=$root/build/dev rate=100000 runs=3 duration=10 cap=1000000000 lingers=0 warmup=10 partitions=16
compressions=lz4 fetch_mins=1
normalizers=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2 ;; --rate) rate=$2 ;; --runs) runs=$2 ;; --duration) duration=$2 ;;
    --cap) cap=$2 ;; --linger) lingers=$2 ;; --partitions) partitions=$2 ;; --warmup) warmup=$2 ;;
    --normalizer) normalizers+=("$2") ;; --compression) compressions=$2 ;; --fetch-min-bytes) fetch_mins=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
state=$(mktemp -d -t tickstream-bench-latency.XXXXXX)
cleanup() {
  for svc in normalizer ingestion exchange-sim; do stop_pid "$state/$svc.pid" 20 || true; done
  "$root/deploy/local/kafka.sh" stop --dir "$state/kafka" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
brokers=$("$root/deploy/local/kafka.sh" start --dir "$state/kafka")
bin=$build/services
[ ${#normalizers[@]} -gt 0 ] || normalizers=("$bin/normalizer/normalizer")
variants=()  # "codec linger partitions fetch_min binary"
for normalizer in "${normalizers[@]}"; do
  for codec in ${compressions//,/ }; do
    for linger in ${lingers//,/ }; do
      for parts in ${partitions//,/ }; do
        for fmin in ${fetch_mins//,/ }; do variants+=("$codec $linger $parts $fmin $normalizer"); done
      done
    done
  done
done
warm_broker 20000

results=()
for round in $(seq 1 "$runs"); do
for i in "${!variants[@]}"; do
  # Each round starts with the next variant: the first run after the warm-up was the slowest in
  # every A/B on the busy machine, and a fixed order would charge that to the first variant.
  n=$(( (i + round - 1) % ${#variants[@]} ))
  read -r codec linger parts fmin normalizer <<<"${variants[$n]}"
  # Only what differs from the defaults, so a binary from before these flags can still run (it
  # has no rate_cap_hold_ns either: its pipeline_* equals the total).
  codec_flags=(); [ "$codec" = lz4 ] || codec_flags=(--kafka-compression "$codec")
  fetch_flags=(); [ "$fmin" = 1 ] || fetch_flags=(--kafka-fetch-min-bytes "$fmin")
  run=$round.$n
  raw=bench.raw.$run ticks=bench.ticks.$run snap=bench.snapshot.$run
  port=$(free_port)
  # Ingestion and the normalizer first, so the measured feed finds them ready.
  start_ingestion "$raw" "$parts" "$port" "$linger" "${codec_flags[@]}"
  start_normalizer "$normalizer" "$raw" "$ticks" "$snap" "$parts" "bench.$run" "$cap" "$linger" \
    "${codec_flags[@]}" "${fetch_flags[@]}" --metrics-listen ""
  # Enough messages for warm-up + measurement + slack; the feed stops by itself.
  start_exchange_sim "$port" $((rate * (warmup + duration + 10))) "$rate"
  "$build/tests/bench/md_latency_bench" --brokers "$brokers" --topic "$ticks" \
    --partitions "$parts" --warmup-s "$warmup" --duration-s "$duration" \
    --label "normalizer=$normalizer compression=$codec fetch_min_bytes=$fmin rate=$rate cap=$cap linger=$linger partitions=$parts run=$run" \
    >"$state/bench.json" &
  bench=$!
  # CPU per process over the measured window (it ends a second early: the bench may be done).
  pids=("$(cat "$state/kafka/pid")" "$(cat "$state/ingestion.pid")" "$(cat "$state/normalizer.pid")" \
        "$(cat "$state/exchange-sim.pid")")
  sleep "$warmup"
  c0=(); for p in "${pids[@]}"; do c0+=("$(cpu_ticks "$p")"); done; s0=$(date +%s.%N)
  sleep $(( duration - 1 ))
  c1=(); for p in "${pids[@]}"; do c1+=("$(cpu_ticks "$p")"); done; s1=$(date +%s.%N)
  wait "$bench"
  line=$(python3 - "$state/bench.json" "$s0" "$s1" "$hz" "${c0[@]}" "${c1[@]}" <<'PY'
import json, sys
row = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
s0, s1, hz = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
c = list(map(int, sys.argv[5:]))
for k, name in enumerate(["broker", "ingestion", "normalizer", "exchange_sim"]):
    # None: the process was gone before the window ended
    row["cpu_" + name] = round((c[4 + k] - c[k]) / hz / (s1 - s0), 3) if c[4 + k] >= c[k] > 0 else None
print(json.dumps(row))
PY
)
  echo "$line"
  results+=("$line")
  for svc in normalizer ingestion exchange-sim; do stop_pid "$state/$svc.pid" 20 || true; done
done
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
all_rows = [json.loads(l) for l in sys.stdin if l.strip()]
keys = ["updates_per_s", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms",
        "to_publish_p50_ms", "to_publish_p99_ms", "to_consumer_p50_ms", "to_consumer_p99_ms",
        "pipeline_p50_ms", "pipeline_p99_ms", "held_share",
        "cpu_broker", "cpu_ingestion", "cpu_normalizer", "cpu_exchange_sim"]
by_label = {}
for r in all_rows:
    by_label.setdefault(r["label"].rsplit(" run=", 1)[0], []).append(r)
for label, rows in by_label.items():
    out = {"bench": "md_latency_summary", "label": label, "runs": len(rows)}
    for k in keys:
        vals = [r[k] for r in rows if r.get(k) is not None]
        if not vals:
            continue
        out["median_" + k] = round(statistics.median(vals), 3)
        out["spread_" + k] = round(max(vals) - min(vals), 3)
    print(json.dumps(out))'
