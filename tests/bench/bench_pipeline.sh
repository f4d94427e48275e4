# Start-up lines the market-data benchmarks share (run_md_latency.sh, run_exchange_to_client.sh,
# run_gateway_fanout.sh): the broker's warm-up, each service with the flags every benchmark
# gives it, and CPU sampling. Sourced after deploy/local/common.sh, with $build, $state and (for
# the Kafka services) $brokers set. Each start_* runs the service in the background, writes
# $state/<name>.pid and $state/<name>.log, and returns once the service is ready.
# shellcheck shell=bash

# cpu_ticks PID: the process's user + system clock ticks (0 once it is gone); hz converts them.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

# warm_broker RATE: the platform's topics, then 40 s of ticks_producer traffic at RATE. A fresh
# broker's JVM compiles its hot paths during its first ~30 s of traffic and takes more than a
# core meanwhile (measured: 1.5 cores in the first 5 s at 2000 records/s, 0.35 after 35 s), so
# it is warmed up (on topics of its own) before anything is measured.
warm_broker() {
  "$build/tools/tsctl/tsctl" topics ensure --kafka-brokers "$brokers" >/dev/null
  "$build/tools/loadgen/ticks_producer" --kafka-brokers "$brokers" --symbols 1000 --rate "$1" \
    --duration-s 40 --linger-ms 5 >"$state/warmup.log" 2>&1
}

# start_ingestion RAW_TOPIC PARTITIONS SOUP_PORT LINGER_MS [FLAGS...]: ready once it created
# RAW_TOPIC; it then retries the venue's port with backoff until exchange-sim listens, so it
# can start first and the measured feed finds it ready.
start_ingestion() {
  local raw=$1 parts=$2 port=$3 linger=$4
  shift 4
  "$build/services/ingestion/ingestion" --kafka-brokers "$brokers" --raw-topic "$raw" \
    --md-partitions "$parts" --soup-connect "127.0.0.1:$port" --kafka-linger-ms "$linger" \
    --metrics-listen "" "$@" >"$state/ingestion.log" 2>&1 &
  echo $! >"$state/ingestion.pid"
  raw_ready() { grep -q '"topic ready"' "$state/ingestion.log"; }
  wait_until 60 "ingestion to create $raw" raw_ready
}

# start_normalizer BINARY RAW TICKS SNAPSHOT PARTITIONS GROUP CAP LINGER_MS [FLAGS...]: ready
# once it owns its md.raw partitions (one that starts behind would replay a backlog, and that
# would be measured instead). FLAGS include --metrics-listen.
start_normalizer() {
  local binary=$1 raw=$2 ticks=$3 snap=$4 parts=$5 group=$6 cap=$7 linger=$8
  shift 8
  "$binary" --kafka-brokers "$brokers" --raw-topic "$raw" --ticks-topic "$ticks" \
    --snapshot-topic "$snap" --md-partitions "$parts" --group-id "$group" \
    --max-updates-per-second "$cap" --kafka-linger-ms "$linger" "$@" >"$state/normalizer.log" 2>&1 &
  echo $! >"$state/normalizer.pid"
  ticks_ready() { grep -q '"partitions assigned"' "$state/normalizer.log"; }
  wait_until 60 "normalizer to own its partitions" ticks_ready
}

# start_exchange_sim PORT MESSAGES RATE: the venue's feed (1000 symbols), which stops by itself
# after MESSAGES.
start_exchange_sim() {
  "$build/services/exchange-sim/exchange-sim" --listen "127.0.0.1:$1" --symbols 1000 \
    --messages "$2" --rate "$3" --metrics-listen "" >"$state/exchange-sim.log" 2>&1 &
  echo $! >"$state/exchange-sim.pid"
}

# start_gateway BINARY [SOURCE FLAGS...]: one shard pinned to CPU 0 (the workload), with
# the limits a load test needs out of the way (anonymous clients, upgrade and inbound rates, the
# idle timeout), on a free port. Ready once it loaded md.snapshot; sets gateway_port.
start_gateway() {
  local binary=$1
  shift
  taskset -c 0 "$binary" "$@" --allow-anonymous true --listen 127.0.0.1:0 --metrics-listen "" \
    --upgrades-per-ip-per-second 100000 --upgrade-burst-per-ip 100000 \
    --max-inbound-per-second 1000 --idle-timeout-ms 600000 >"$state/gateway.log" 2>&1 &
  echo $! >"$state/gateway.pid"
  gateway_ready() { grep -q '"gateway ready"' "$state/gateway.log"; }
  wait_until 60 "the gateway to load md.snapshot" gateway_ready
  gateway_port=$(sed -n 's/.*"gateway listening".*"port":\([0-9]*\).*/\1/p' "$state/gateway.log" | head -1)
}
