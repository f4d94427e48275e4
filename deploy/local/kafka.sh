#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft: broker and controller in one JVM) on loopback.
#
#   kafka.sh fetch                 download the broker's jars from Maven Central (cached)
#   kafka.sh start --dir DIR       start a broker whose state lives in DIR; prints the bootstrap
#                                  address and writes it to DIR/bootstrap
#   kafka.sh stop  --dir DIR       stop it cleanly (SIGTERM, then SIGKILL after 60 s)
#   kafka.sh kill  --dir DIR       kill -9 it (fault tests)
#   kafka.sh pause|resume --dir DIR  freeze it (SIGSTOP) and thaw it (SIGCONT): a broker that
#                                  holds its connections but answers nothing (fault tests)
#   kafka.sh restart --dir DIR     stop and start again on the same port and data
#   kafka.sh status --dir DIR      exit 0 when it is running
#
# Environment: KAFKA_HEAP (default 512m), TICKSTREAM_CACHE (jar cache), KAFKA_EXTRA_PROPERTIES
# (lines appended to server.properties, after the defaults, so they override them).
set -euo pipefail
LOG_TAG=kafka
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$TICKSTREAM_ROOT/deploy/local/kafka/pom.xml")
LIBS="$TICKSTREAM_CACHE/kafka-$KAFKA_VERSION/libs"

fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: run deploy/local/install-deps.sh"
  log "fetching Kafka $KAFKA_VERSION from Maven Central into $LIBS"
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  mvn -q -B -Dstyle.color=never -f "$TICKSTREAM_ROOT/deploy/local/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIBS" >&2 \
    || die "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  touch "$LIBS/.complete"
}

java_run() { java -Xms"${KAFKA_HEAP:-512m}" -Xmx"${KAFKA_HEAP:-512m}" \
  -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$LIBS/*" "$@"; }

write_config() {
  local port=$1 cport=$2
  mkdir -p "$DIR/data"
  cat > "$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# A test broker: short segments so compaction can be observed, no waiting on shutdown.
log.segment.bytes=67108864
controlled.shutdown.enable=true
${KAFKA_EXTRA_PROPERTIES:-}
PROPS
  cat > "$DIR/log4j2.properties" <<PROPS
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=$DIR/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.state.name=state.change.logger
logger.state.level=WARN
PROPS
}

# True once the broker started by this run has logged that it is up and accepts connections.
# server.log is appended across restarts (kept for diagnosis), so only lines after $LOG_MARK count.
started() {
  tail -n +"$LOG_MARK" "$DIR/server.log" 2>/dev/null | grep -q 'Kafka Server started' &&
    port_open 127.0.0.1 "$(cat "$DIR/port")"
}

start() {
  if pid_alive "$DIR/pid" kafka.Kafka; then cat "$DIR/bootstrap"; return 0; fi
  fetch
  command -v java >/dev/null || die "java not found: run deploy/local/install-deps.sh"
  mkdir -p "$DIR"
  if [ ! -f "$DIR/port" ]; then
    free_port > "$DIR/port"
    local cport; cport=$(free_port)
    [ "$cport" != "$(cat "$DIR/port")" ] || cport=$(free_port)
    echo "$cport" > "$DIR/controller_port"
  fi
  local port cport; port=$(cat "$DIR/port"); cport=$(cat "$DIR/controller_port")
  write_config "$port" "$cport"
  if [ ! -f "$DIR/data/meta.properties" ]; then
    java_run kafka.tools.StorageTool format -t "$(java_run kafka.tools.StorageTool random-uuid)" \
      -c "$DIR/server.properties" >"$DIR/format.log" 2>&1 || { cat "$DIR/format.log" >&2; die "format failed"; }
  fi
  touch "$DIR/server.log"
  LOG_MARK=$(( $(wc -l < "$DIR/server.log") + 1 ))
  echo "=== start $(date -u +%FT%TZ)" >> "$DIR/stdout.log"
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$port (state in $DIR)"
  nohup java -Xms"${KAFKA_HEAP:-512m}" -Xmx"${KAFKA_HEAP:-512m}" -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$LIBS/*" \
    kafka.Kafka "$DIR/server.properties" >>"$DIR/stdout.log" 2>&1 &
  echo $! > "$DIR/pid"
  if ! wait_until 90 "Kafka to start" started; then
    tail -n 20 "$DIR/server.log" "$DIR/stdout.log" >&2; stop_pid "$DIR/pid" 5 kafka.Kafka; die "Kafka did not start"
  fi
  echo "127.0.0.1:$port" > "$DIR/bootstrap"
  cat "$DIR/bootstrap"
}

cmd=${1:-}; shift || true
DIR=""
while [ $# -gt 0 ]; do
  case $1 in
    --dir) DIR=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
case $cmd in
  fetch) fetch ;;
  start|stop|kill|restart|status|pause|resume)
    [ -n "$DIR" ] || die "--dir is required"
    DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)
    case $cmd in
      start) start ;;
      stop) stop_pid "$DIR/pid" 60 kafka.Kafka ;;
      kill)
        if pid_alive "$DIR/pid" kafka.Kafka; then
          pid=$(cat "$DIR/pid"); kill -KILL "$pid"
          # Gone for real before returning: the old JVM holds the port and the data-dir lock.
          wait_until 30 "the killed broker to exit" bash -c "[ ! -e /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status"
        fi
        rm -f "$DIR/pid" ;;
      restart) stop_pid "$DIR/pid" 60 kafka.Kafka; start ;;
      status) pid_alive "$DIR/pid" kafka.Kafka ;;
      pause) pid_alive "$DIR/pid" kafka.Kafka && kill -STOP "$(cat "$DIR/pid")" ;;
      resume) pid_alive "$DIR/pid" kafka.Kafka && kill -CONT "$(cat "$DIR/pid")" ;;
    esac ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
