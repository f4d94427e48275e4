#!/usr/bin/env bash
# The main job: builds Tickstream, starts the local infrastructure and every service that
# exists so far, says what is running where, and keeps it all up until Ctrl-C.
#
#   deploy/local/up.sh                   build, start, wait for Ctrl-C, stop everything
#   deploy/local/up.sh --no-build        use the existing build/dev
#   deploy/local/up.sh --exit-after-start  start, print, stop and delete the state (a smoke test)
#   deploy/local/up.sh --dir DIR         keep the state in DIR (default build/local-run)
set -euo pipefail
LOG_TAG=up
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$TICKSTREAM_ROOT"

build=1; hold=1; state="$TICKSTREAM_ROOT/build/local-run"; bin="$TICKSTREAM_ROOT/build/dev"
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0; shift ;;
    --exit-after-start) hold=0; shift ;;
    --dir) state=$2; shift 2 ;;
    --build-dir) bin=$2; shift 2 ;;
    *) die "unknown argument $1 (see the top of $0)" ;;
  esac
done
mkdir -p "$state"

if [ "$build" = 1 ]; then
  "$TICKSTREAM_ROOT/deploy/local/install-deps.sh"
  "$TICKSTREAM_ROOT/deploy/local/kafka.sh" fetch
  log "building (preset dev)"
  cmake --preset dev >/dev/null
  cmake --build --preset dev
fi

# start_service NAME COMMAND...: runs a service in the background, logging to $state/NAME.log.
start_service() {
  local name=$1; shift
  "$@" >"$state/$name.log" 2>&1 &
  echo $! > "$state/$name.pid"
}

# metric PORT NAME: a metric's value on a service's /metrics, summed over its labels (0 if absent).
metric() {
  curl -fsS "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk -v n="$2" '$1 == n || index($1, n "{") == 1 {v += $2} END {printf "%d", v}'
}

stop_all() {
  log "stopping"
  [ -z "${watch_pid:-}" ] || kill "$watch_pid" 2>/dev/null || true
  # Services first (they flush to Kafka on SIGTERM), then the infrastructure.
  for svc in trader-sim order-service gateway-0 gateway-1 normalizer ingestion exchange-sim; do
    stop_pid "$state/$svc.pid" 30
  done
  "$TICKSTREAM_ROOT/deploy/local/kafka.sh" stop --dir "$state/kafka" || true
  if [ "$hold" = 1 ]; then
    "$TICKSTREAM_ROOT/deploy/local/postgres.sh" stop --dir "$state/postgres" || true
  else
    "$TICKSTREAM_ROOT/deploy/local/postgres.sh" destroy --dir "$state/postgres" || true
    rm -rf "$state"
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# Every run is a new trading day: exchange-sim restarts its session at sequence 1, so yesterday's
# md.raw, offsets and snapshots must not be replayed into today's books.
"$TICKSTREAM_ROOT/deploy/local/kafka.sh" stop --dir "$state/kafka" 2>/dev/null || true
rm -rf "$state/kafka"
brokers=$("$TICKSTREAM_ROOT/deploy/local/kafka.sh" start --dir "$state/kafka")
pg_url=$("$TICKSTREAM_ROOT/deploy/local/postgres.sh" start --dir "$state/postgres")
log "creating the platform's topics"
"$bin/tools/tsctl/tsctl" topics ensure --kafka-brokers "$brokers" >/dev/null

sim_port=$(free_port); sim_metrics=$(free_port); ing_metrics=$(free_port); norm_metrics=$(free_port)
venue_port=$(free_port)
log "starting exchange-sim (live ITCH 5.0 over SoupBinTCP, and its venue for orders), ingestion and normalizer"
start_service exchange-sim "$bin/services/exchange-sim/exchange-sim" --listen "127.0.0.1:$sim_port" \
  --messages 0 --rate "${TICKSTREAM_DEMO_RATE:-20000}" --symbols "${TICKSTREAM_DEMO_SYMBOLS:-1000}" \
  --metrics-listen "127.0.0.1:$sim_metrics" --venue-listen "127.0.0.1:$venue_port"
wait_until 30 "exchange-sim to listen" port_open 127.0.0.1 "$sim_port" || die "exchange-sim did not start: $state/exchange-sim.log"
start_service ingestion "$bin/services/ingestion/ingestion" --kafka-brokers "$brokers" \
  --soup-connect "127.0.0.1:$sim_port" --metrics-listen "127.0.0.1:$ing_metrics"
ingesting() {
  pid_alive "$state/ingestion.pid" || return 2
  [ "$(metric "$ing_metrics" ingestion_published_total)" -gt 0 ]
}
wait_until 60 "ingestion to publish to md.raw" ingesting || { tail -20 "$state/ingestion.log" >&2; die "ingestion is not publishing: $state/ingestion.log"; }
start_service normalizer "$bin/services/normalizer/normalizer" --kafka-brokers "$brokers" \
  --metrics-listen "127.0.0.1:$norm_metrics"
normalizing() {
  pid_alive "$state/normalizer.pid" || return 2  # died: stop waiting
  [ "$(metric "$norm_metrics" normalizer_updates_total)" -gt 0 ]
}
wait_until 60 "normalizer to publish to md.ticks" normalizing || { tail -20 "$state/normalizer.log" >&2; die "normalizer is not publishing: $state/normalizer.log"; }

# Two gateway shards split md.ticks' partitions between them (the ring in libs/sharding). A
# fresh dev secret per run; the browser link carries a token minted with it.
gw0=$(free_port); gw1=$(free_port); gw0_metrics=$(free_port); gw1_metrics=$(free_port)
gw0_grpc=$(free_port); gw1_grpc=$(free_port)
secret=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
endpoints="ws://127.0.0.1:$gw0/v1/stream,ws://127.0.0.1:$gw1/v1/stream"
log "starting gateway shards 0 and 1 (WebSocket, gRPC MarketData)"
for shard in 0 1; do
  port=$gw0; metrics_port=$gw0_metrics; grpc_port=$gw0_grpc
  [ "$shard" = 1 ] && { port=$gw1; metrics_port=$gw1_metrics; grpc_port=$gw1_grpc; }
  # The secret through the environment (TICKSTREAM_JWT_HS256_SECRET), not on the command line.
  ( export TICKSTREAM_JWT_HS256_SECRET=$secret
    start_service "gateway-$shard" "$bin/services/gateway/gateway" \
      --kafka-brokers "$brokers" --shard-id "$shard" --shard-count 2 --listen "127.0.0.1:$port" \
      --shard-endpoints "$endpoints" --static-dir "$TICKSTREAM_ROOT/services/gateway/web" \
      --metrics-listen "127.0.0.1:$metrics_port" --grpc-listen "127.0.0.1:$grpc_port" \
      --grpc-shard-endpoints "127.0.0.1:$gw0_grpc,127.0.0.1:$gw1_grpc" )
done
gateway_ready() {
  pid_alive "$state/gateway-$1.pid" || return 2
  grep -q '"gateway ready"' "$state/gateway-$1.log"
}
for shard in 0 1; do
  wait_until 60 "gateway shard $shard to load md.snapshot" gateway_ready "$shard" ||
    { tail -20 "$state/gateway-$shard.log" >&2; die "gateway-$shard did not start: $state/gateway-$shard.log"; }
done
token=$(TICKSTREAM_SECRET=$secret "$bin/tools/tsctl/tsctl" token --subject demo --ttl 86400)

# The order service (same dev secret: a user's token works for market data and orders), risk
# limits for the demo account and the simulated traders, then the traders themselves.
order_port=$(free_port); order_metrics=$(free_port)
log "starting the order service and the simulated traders"
( export TICKSTREAM_JWT_HS256_SECRET=$secret
  start_service order-service "$bin/services/order/order-service" --pg-url "$pg_url" \
    --kafka-brokers "$brokers" --venue "127.0.0.1:$venue_port" --grpc-listen "127.0.0.1:$order_port" \
    --metrics-listen "127.0.0.1:$order_metrics" )
order_ready() {
  pid_alive "$state/order-service.pid" || return 2
  curl -fsS "http://127.0.0.1:$order_metrics/readyz" >/dev/null 2>&1
}
wait_until 60 "the order service to load its symbols" order_ready ||
  { tail -20 "$state/order-service.log" >&2; die "order-service did not start: $state/order-service.log"; }
# Generous limits: the demo is about fills, not risk (docs/order.md, "Risk", for the rules).
"${PGBIN:-/usr/lib/postgresql/15/bin}/psql" -q "$pg_url" -c "
  INSERT INTO risk_limits (account, max_order_notional, max_open_orders, max_position, orders_per_second,
                           order_burst, allow_short)
  SELECT a, 100000000000000, 1000, 1000000, 50, 100, true
  FROM unnest(ARRAY['demo', 'trader-1', 'trader-2', 'trader-3']) AS a
  ON CONFLICT (account) DO NOTHING" >/dev/null
( export TICKSTREAM_JWT_HS256_SECRET=$secret
  start_service trader-sim "$bin/tools/trader-sim/trader-sim" --target "127.0.0.1:$order_port" \
    --kafka-brokers "$brokers" --accounts 3 --interval-ms 400 )
demo_symbol=$("$bin/tools/trader-sim/trader-sim" --print-symbols 1)
# The order path works end to end once a simulated trader's order has filled at the venue and
# the fill came back through PostgreSQL, the outbox, Kafka and StreamOrderUpdates.
first_fill() {
  pid_alive "$state/trader-sim.pid" || return 2
  grep -q ' FILL ' "$state/trader-sim.log"
}
wait_until 60 "the simulated traders' first fill" first_fill ||
  { tail -n 20 "$state/trader-sim.log" "$state/order-service.log" >&2; die "no fill reached the traders: $state/trader-sim.log"; }

cat <<TXT

  Tickstream local stack is up (state in $state)

  what                 where
  -------------------  -------------------------------------------------
  Kafka (KRaft)        $brokers          log: $state/kafka/server.log
  PostgreSQL 15        $pg_url
  topics               $("$bin/tools/tsctl/tsctl" topics describe --kafka-brokers "$brokers" | awk '{printf "%s%s", sep, $1; sep=", "}')

  exchange-sim         127.0.0.1:$sim_port (SoupBinTCP)  metrics: http://127.0.0.1:$sim_metrics/metrics
  ingestion            -> md.raw                  metrics: http://127.0.0.1:$ing_metrics/metrics
  normalizer           -> md.ticks, md.snapshot   metrics: http://127.0.0.1:$norm_metrics/metrics
  gateway shard 0      ws://127.0.0.1:$gw0/v1/stream      metrics: http://127.0.0.1:$gw0_metrics/metrics
  gateway shard 1      ws://127.0.0.1:$gw1/v1/stream      metrics: http://127.0.0.1:$gw1_metrics/metrics
  gRPC MarketData      shard 0 127.0.0.1:$gw0_grpc, shard 1 127.0.0.1:$gw1_grpc (health, reflection; Bearer: the links' token)
  exchange-sim venue   127.0.0.1:$venue_port (gRPC: the matching engine orders are routed to)
  order service        127.0.0.1:$order_port (gRPC OrderService)  metrics: http://127.0.0.1:$order_metrics/metrics
  trader-sim           3 simulated traders placing orders; their orders and fills: tail -f $state/trader-sim.log
  logs                 $state/{exchange-sim,ingestion,normalizer,gateway-0,gateway-1,order-service,trader-sim}.log

  Watch prices move in a browser (each shard serves its own symbols):
        http://127.0.0.1:$gw0/#token=$token
        http://127.0.0.1:$gw1/#token=$token
  Which shard serves a symbol:  curl 'http://127.0.0.1:$gw0/v1/route?symbols=AAPL,MSFT'

  Place an order by hand (account demo; the token is the links' token) and follow it:
        $bin/tools/tsctl/tsctl order submit --target 127.0.0.1:$order_port --token $token \\
          --account demo --symbol $demo_symbol --side buy --type market --tif ioc --quantity 100
        $bin/tools/tsctl/tsctl order list --target 127.0.0.1:$order_port --token $token --account demo
        $bin/tools/tsctl/tsctl order stream --target 127.0.0.1:$order_port --token $token --account demo --after-seq 0

  Try:  $bin/tools/tsctl/tsctl topics describe --kafka-brokers $brokers
        $bin/tools/tsctl/tsctl watch --kafka-brokers $brokers --top 20
        $bin/tools/tsctl/tsctl route --symbols AAPL,MSFT,NVDA --shards 4 --replication 2
        psql $pg_url

TXT
"$bin/tools/tsctl/tsctl" route --symbols AAPL,MSFT,NVDA,TSLA --shards 4 --replication 2 | sed 's/^/  /'
echo

if [ "$hold" = 1 ]; then
  log "running; the live market from md.ticks follows (Ctrl-C stops everything)"
  printf '  feed: exchange-sim published %s, ingestion -> md.raw %s, normalizer -> md.ticks %s updates\n\n' \
    "$(metric "$sim_metrics" exchange_sim_messages_published_total)" \
    "$(metric "$ing_metrics" ingestion_published_total)" "$(metric "$norm_metrics" normalizer_updates_total)"
  # The console ends on Ctrl-C, SIGTERM (or if Kafka goes away); the EXIT trap then stops
  # everything. It runs in the background and is waited for because bash runs a trap only once
  # its foreground child has returned: a SIGTERM to this script (a supervisor, `kill`) used to
  # wait for the console, which never ends by itself.
  "$bin/tools/tsctl/tsctl" watch --kafka-brokers "$brokers" --top 15 --refresh-ms 1000 &
  watch_pid=$!
  wait "$watch_pid" || true
  for svc in exchange-sim ingestion normalizer gateway-0 gateway-1 order-service trader-sim; do
    pid_alive "$state/$svc.pid" || log "$svc had exited; see $state/$svc.log"
  done
  exit 0
fi
