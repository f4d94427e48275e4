#!/usr/bin/env bash
# Order entry through the whole stack on throw-away servers: Kafka and PostgreSQL, exchange-sim
# (live feed at --feed-rate msgs/s, 100 symbols, with its venue), ingestion and the normalizer (so the
# order service learns symbols and last trades from md.snapshot), the order service, and
# order-loadgen sending limit IOC orders at each symbol's last trade. Two measurements, --runs
# times each, one JSON line per run and a summary line with the medians per kind:
#   max_throughput  closed loop (--in-flight calls busy per thread): durable orders/s
#   open_loop       paced at --rate orders/s: ack latency from the intended send time
# Each run line also has final_per_s (orders taken to a final status per second, over the run and
# the wait until the last one was final) and the cores each group of processes used; a last
# order_bench_idle line has the cores the market data takes without orders.
# Everything shares the machine's cores (nothing is pinned); see docs/order.md, "Tools".
#   tests/bench/run_order_bench.sh [--build DIR] [--no-build] [--runs 3] [--duration 20]
#       [--warmup 5] [--rate 10000] [--accounts 100] [--symbols 20] [--in-flight 128]
#       [--threads 2] [--settle 300] [--service-args "--router-threads 16 ..."]
#       [--order-service BIN --order-service BIN2 ...] [--feed-rate 2000] [--pg-stats]
# --feed-rate: exchange-sim's ITCH messages/s. The order path needs only prices from the market
# data, but at 2000 msgs/s the feed, the normalizer and the broker's share for them take ~0.8 of
# the two cores (the order_bench_idle line); a lower rate shows what the order path does with
# the machine to itself.
# --pg-stats: PostgreSQL runs with pg_stat_statements, and the end adds one order_bench_pg_statement
# line per statement (the 15 that took longest over all runs: calls, rows, execution and planning
# time); where PostgreSQL's time goes, for a diagnosis.
# --order-service given more than once: an A/B on the same servers. Each run of each kind is
# measured with every binary in turn (the order rotating every run), the service restarted for
# each, and the summary lines are per binary ("service"). A binary must be named order-service*
# (its CPU is found by process name), e.g. /tmp/before/order-service.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
LOG_TAG=order-bench
. "$root/deploy/local/common.sh"
build=$root/build/dev do_build=1 runs=3 duration=20 warmup=5 rate=10000 accounts=100 nsymbols=20
in_flight=128 threads=2 settle=300 service_args=""
services=() feed_rate=2000 pg_stats=0
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) do_build=0; shift; continue ;;
    --pg-stats) pg_stats=1; shift; continue ;;
    --build) build=$2 ;; --runs) runs=$2 ;; --duration) duration=$2 ;; --warmup) warmup=$2 ;;
    --rate) rate=$2 ;; --accounts) accounts=$2 ;; --symbols) nsymbols=$2 ;;
    --in-flight) in_flight=$2 ;; --threads) threads=$2 ;; --settle) settle=$2 ;; --service-args) service_args=$2 ;;
    --order-service) services+=("$2") ;;
    --feed-rate) feed_rate=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
state=$(mktemp -d -t tickstream-bench-order.XXXXXX)
cleanup() {
  # Services first (they flush on SIGTERM), then the infrastructure.
  for svc in order-service normalizer ingestion exchange-sim; do stop_pid "$state/$svc.pid" 20 || true; done
  "$root/deploy/local/kafka.sh" stop --dir "$state/kafka" >/dev/null 2>&1 || true
  "$root/deploy/local/postgres.sh" destroy --dir "$state/postgres" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ "$do_build" = 1 ]; then
  # One job: the machine is shared with other builds and benchmarks.
  [ -f "$build/CMakeCache.txt" ] || (cd "$root" && cmake --preset dev >/dev/null)
  log "building the services and tools"
  cmake --build "$build" -j 1 --target order-service order-loadgen tsctl exchange-sim ingestion \
    normalizer >"$state/build.log" 2>&1 || { tail -30 "$state/build.log" >&2; die "the build failed"; }
fi
bin=$build/services
tsctl=$build/tools/tsctl/tsctl
loadgen=$build/tools/order-loadgen/order-loadgen
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# start_service NAME COMMAND...: runs in the background, logging to $state/NAME.log.
start_service() {
  local name=$1; shift
  "$@" >"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
}
# metric PORT NAME: a metric's value on a service's /metrics, summed over its labels (0 if absent).
metric() {
  curl -fsS "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk -v n="$2" '$1 == n || index($1, n "{") == 1 {v += $2} END {printf "%d", v}'
}
# log_port NAME MESSAGE: the "port" field of the JSON log line MESSAGE in NAME's log.
log_port() { sed -n "s/.*\"$2\".*\"port\":\([0-9]*\).*/\1/p" "$state/$1.log" | head -1; }
logged() { pid_alive "$state/$1.pid" || return 2; grep -q "\"$2\"" "$state/$1.log"; }
fail() { tail -20 "$state/$1.log" >&2; die "$2 (log: $state/$1.log)"; }

brokers=$("$root/deploy/local/kafka.sh" start --dir "$state/kafka")
if [ "$pg_stats" = 1 ]; then
  export TICKSTREAM_PG_EXTRA_CONF="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track_planning = on"
fi
pg_url=$("$root/deploy/local/postgres.sh" start --dir "$state/postgres")
psql_q() { "$PGBIN/psql" "$pg_url" -v ON_ERROR_STOP=1 -qtAc "$1"; }
[ "$pg_stats" = 0 ] || psql_q "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
"$tsctl" topics ensure --kafka-brokers "$brokers" >/dev/null

# The market, as deploy/local/up.sh starts it, with the venue on a port of its choosing.
log "starting exchange-sim (feed and venue), ingestion and normalizer"
start_service exchange-sim "$bin/exchange-sim/exchange-sim" --symbols 100 --listen 127.0.0.1:0 \
  --messages 0 --rate "$feed_rate" --venue-listen 127.0.0.1:0 --metrics-listen ""
wait_until 30 "exchange-sim's venue to listen" logged exchange-sim "venue listening" ||
  fail exchange-sim "exchange-sim did not start"
soup_port=$(log_port exchange-sim "soup server listening")
venue_port=$(log_port exchange-sim "venue listening")
ing_metrics=$(free_port); norm_metrics=$(free_port)
start_service ingestion "$bin/ingestion/ingestion" --kafka-brokers "$brokers" \
  --soup-connect "127.0.0.1:$soup_port" --metrics-listen "127.0.0.1:$ing_metrics"
ingesting() { pid_alive "$state/ingestion.pid" || return 2; [ "$(metric "$ing_metrics" ingestion_published_total)" -gt 0 ]; }
wait_until 60 "ingestion to publish to md.raw" ingesting || fail ingestion "ingestion is not publishing"
start_service normalizer "$bin/normalizer/normalizer" --kafka-brokers "$brokers" \
  --metrics-listen "127.0.0.1:$norm_metrics"
snapshotting() { pid_alive "$state/normalizer.pid" || return 2; [ "$(metric "$norm_metrics" normalizer_snapshots_total)" -gt 0 ]; }
wait_until 60 "the normalizer to write md.snapshot" snapshotting || fail normalizer "no snapshots"

# The symbols to trade and their last trade prices, from md.ticks: a limit at the last trade is
# on the tick grid and inside the service's price band. Halted symbols and symbols without a
# trade yet are left out; wait until enough have traded.
pick_symbols() {
  "$tsctl" watch --kafka-brokers "$brokers" --from-beginning --top 100 --once-after-ms 3000 |
    awk -v want="$nsymbols" '
      $1 == "SYMBOL" { table = 1; next }
      table && NF == 7 && $4 != "-" && n < want {
        printf "%s%s=%d", (n ? "," : ""), $1, int(($4 * 10000 + 50) / 100) * 100; n++ }'
}
enough_symbols() { symbols=$(pick_symbols); [ "$(tr ',' '\n' <<<"$symbols" | grep -c =)" -ge "$nsymbols" ]; }
wait_until 120 "$nsymbols symbols to trade" enough_symbols || die "fewer than $nsymbols symbols traded: $symbols"

# The order service. The secret through the environment, not on the command line.
secret=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
export TICKSTREAM_JWT_HS256_SECRET=$secret
[ ${#services[@]} -gt 0 ] || services=("$bin/order/order-service")
running=""
# use_service BIN: the order service running is BIN (restarted when another one runs).
use_service() {
  [ "$running" = "$1" ] && return 0
  stop_pid "$state/order-service.pid" 30 || true
  log "starting the order service $1 (venue 127.0.0.1:$venue_port)"
  start_service order-service "$1" --grpc-listen 127.0.0.1:0 --pg-url "$pg_url" \
    --kafka-brokers "$brokers" --venue "127.0.0.1:$venue_port" --metrics-listen "127.0.0.1:$(free_port)" \
    $service_args
  wait_until 60 "the order service to listen" logged order-service "order service listening" ||
    fail order-service "the order service did not start"
  target=127.0.0.1:$(log_port order-service "order service listening")
  running=$1
}
use_service "${services[0]}"

# Generous limits for the load accounts (migrations ran at the service's start): the benchmark
# measures order entry, not risk refusals. Names as order-loadgen makes them: load-0001...
psql_q "INSERT INTO risk_limits (account, max_order_notional, max_open_orders, max_position,
          orders_per_second, order_burst, allow_short)
        SELECT 'load-' || CASE WHEN i < 10000 THEN lpad(i::text, 4, '0') ELSE i::text END,
               1000000000000000, 1000000000, 1000000000000, 1000000000, 1000000, true
        FROM generate_series(1, $accounts) AS i
        ON CONFLICT (account) DO NOTHING"

# Ready when a real order goes through: the service knows the symbol (md.snapshot loaded) and the
# account's limits. Then every picked symbol once; symbols the service refuses are dropped.
probe=0
probe_order() {
  probe=$((probe + 1))
  "$tsctl" order submit --target "$target" --account load-0001 --symbol "${1%%=*}" --side buy \
    --type limit --tif ioc --quantity 100 --price "$(awk -v p="${1#*=}" 'BEGIN { printf "%.4f", p / 10000 }')" \
    --client-order-id "bench-probe-$$-$probe" 2>>"$state/probe.log" | grep -q ORDER_STATUS_ACCEPTED
}
first=${symbols%%,*}
wait_until 60 "the order service to accept an order for $first" probe_order "$first" ||
  { tail -5 "$state/probe.log" >&2; fail order-service "the order service accepts no order"; }
kept=""
for s in ${symbols//,/ }; do
  if probe_order "$s"; then kept+="${kept:+,}$s"; else log "dropping $s: the service does not accept it"; fi
done
symbols=$kept
log "trading $symbols with $accounts accounts against $target"

# After each run, wait until every order is final (IOC orders end FILLED, CANCELED or REJECTED
# once the venue's reports are applied), so the next run does not pay for this run's backlog;
# how long that took is the run's settle_s (null: not within --settle seconds).
# (The working statuses by number, so that it also works before migration 0007, when A/B builds
# predate it; a pass over orders at each poll while settling.)
settled() { [ "$(psql_q "SELECT count(*) FROM orders WHERE status IN (1, 2, 3, 4, 6, 8)")" = 0 ]; }
by_status() { psql_q "SELECT string_agg(status || ':' || n, ' ') FROM (SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status) s"; }
# CPU ticks used so far (user + system) per group of processes, by process name, as JSON: where
# the machine's two cores go (postgres: every backend; kafka: the broker's JVM; market: the feed
# and normalizer the service learns prices from).
cpu_by_group() {
  python3 - <<'PY'
import json, os
groups = {"order-service": "order_service", "postgres": "postgres", "java": "kafka", "exchange-sim": "market",
          "ingestion": "market", "normalizer": "market"}
out = {g: 0 for g in set(groups.values())}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
    if name.startswith("order-service"):  # an A/B's copies too (named order-service*)
        name = "order-service"
    if name in groups:
        # utime + stime, and cutime + cstime: what its children that ended used (PostgreSQL's
        # postmaster reaps backends and autovacuum workers that exit within a run).
        out[groups[name]] += int(rest[11]) + int(rest[12]) + int(rest[13]) + int(rest[14])
print(json.dumps(out))
PY
}
hz=$(getconf CLK_TCK)
failed=0
results=()
run_one() {  # kind run loadgen-flags...
  local kind=$1 run=$2; shift 2
  local t0 s0 t1 s1 rc=0 settle_s=null
  t0=$(cpu_by_group); s0=$(date +%s.%N)
  "$loadgen" --target "$target" --symbols "$symbols" --accounts "$accounts" --threads "$threads" \
    --warmup-s "$warmup" --duration-s "$duration" "$@" >"$state/loadgen.json" 2>"$state/loadgen.err" || rc=$?
  t1=$(cpu_by_group); s1=$(date +%s.%N)
  if wait_until "$settle" "the order service to settle the run's orders" settled; then
    settle_s=$(awk -v a="$s1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  else
    log "orders not final after ${settle}s, by status: $(by_status)"
  fi
  if [ "$rc" != 0 ]; then
    failed=1
    log "order-loadgen exited $rc ($kind run $run):"; tail -3 "$state/loadgen.err" >&2
  fi
  local line
  line=$(python3 - "$kind" "$run" "$rc" "$t0" "$t1" "$s0" "$s1" "$hz" "$state/loadgen.json" "$settle_s" "$running" <<'PY'
import json, sys
kind, run, rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
settle_s = json.loads(sys.argv[10])
t0, t1 = json.loads(sys.argv[4]), json.loads(sys.argv[5])
s0, s1, hz = float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
lines = [l for l in open(sys.argv[9]).read().splitlines() if l.strip()]
s = json.loads(lines[-1]) if lines and '"bench"' in lines[-1] else {}
out = {"bench": "order_bench", "kind": kind, "run": run, "service": sys.argv[11], "loadgen_exit": rc}
for k in ["rate_target", "threads", "in_flight_per_thread", "accounts", "acked_per_s", "p50_ms",
          "p90_ms", "p99_ms", "p999_ms", "max_ms", "unsent_due", "rate_sustained", "sent", "acked", "unanswered",
          "errors", "statuses"]:
    if k in s:
        out[k] = s[k]
# The whole run (warm-up and drain included): cores each group used.
cores = {k: round((t1[k] - t0[k]) / hz / (s1 - s0), 3) for k in sorted(t0)}
out["order_service_cpu"] = cores["order_service"]
out["cores"] = cores
# Seconds after the load until all its orders were final: venue routing and report throughput.
out["settle_s"] = settle_s
# Orders taken all the way to a final status (acked, routed, filled or canceled, every event
# written) per second, over the run and its settle: what the whole path sustains, not only acks.
if settle_s is not None and "sent" in s:
    out["final_per_s"] = round(s["sent"] / (s1 - s0 + settle_s), 1)
print(json.dumps(out))
PY
)
  echo "$line"
  results+=("$line")
}
# What the market data alone costs, without orders: the baseline under every run's figures. At the
# end, after the runs, when the broker's JVM has finished compiling its hot paths (in the first
# minute it takes over a core for that alone).
idle_cores() {
  local a b
  a=$(cpu_by_group); sleep 10; b=$(cpu_by_group)
  python3 -c '
import json, sys
a, b, hz = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
# (A process that exits in the window takes its ticks along: a group can read below zero then.)
print(json.dumps({"bench": "order_bench_idle", "cores": {k: round(max(0, b[k] - a[k]) / hz / 10, 3) for k in sorted(a)}}))' \
    "$a" "$b" "$hz"
}
# One unmeasured closed-loop run first: the broker's JVM compiles its hot paths in its first
# minute under load (taking up to a core for that), which made every first run the slowest.
# warm_up SECONDS: closed loop, not reported, and its orders settled.
warm_up() {
  "$loadgen" --target "$target" --symbols "$symbols" --accounts "$accounts" --threads "$threads" \
    --warmup-s 0 --duration-s "$1" --rate 0 --in-flight "$in_flight" >/dev/null 2>&1 || true
  wait_until "$settle" "the warm-up's orders to settle" settled || true
}
log "warming up (15 s closed loop, not reported)"
warm_up 15
# measure KIND RUN LOADGEN-FLAGS...: the run with every binary, in an order that rotates by run (the
# first after a switch is not always the same one). A restarted service gets 5 s of closed loop
# first, unmeasured, as the first one got its warm-up.
measure() {
  local kind=$1 run=$2 n=${#services[@]} i svc; shift 2
  for ((i = 0; i < n; i++)); do
    svc=${services[$(((i + run - 1) % n))]}
    if [ "$running" != "$svc" ]; then
      use_service "$svc"
      warm_up 5
    fi
    run_one "$kind" "$run" "$@"
  done
}
for run in $(seq 1 "$runs"); do measure max_throughput "$run" --rate 0 --in-flight "$in_flight"; done
for run in $(seq 1 "$runs"); do measure open_loop "$run" --rate "$rate" --in-flight "$in_flight"; done
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
services = list(dict.fromkeys(r["service"] for r in rows))
for kind in ["max_throughput", "open_loop"]:
  for service in services:
    rs = [r for r in rows if r["kind"] == kind and r["service"] == service and "acked_per_s" in r]
    if not rs:
        continue
    out = {"bench": "order_bench_summary", "kind": kind, "service": service, "runs": len(rs),
           "rate_target": rs[0]["rate_target"]}
    if kind == "open_loop":
        # A run whose rate was not sustained has latencies of the calls it managed to send only.
        out["runs_rate_sustained"] = sum(1 for r in rs if r.get("rate_sustained"))
    for k in ["acked_per_s", "final_per_s", "p50_ms", "p99_ms", "p999_ms", "order_service_cpu"]:
        vals = [r[k] for r in rs if r.get(k) is not None]
        out["median_" + k] = round(statistics.median(vals), 3) if vals else None
    print(json.dumps(out))'
idle_cores
if [ "$pg_stats" = 1 ]; then
  psql_q "SELECT json_build_object('bench', 'order_bench_pg_statement', 'calls', calls, 'rows', rows,
            'exec_ms', round(total_exec_time::numeric, 1), 'plan_ms', round(total_plan_time::numeric, 1),
            'query', left(regexp_replace(query, '\s+', ' ', 'g'), 160))
          FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 15"
fi
pid_alive "$state/order-service.pid" || { tail -20 "$state/order-service.log" >&2; die "the order service died"; }
exit "$failed"
