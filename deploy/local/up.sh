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

stop_all() {
  log "stopping"
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

brokers=$("$TICKSTREAM_ROOT/deploy/local/kafka.sh" start --dir "$state/kafka")
pg_url=$("$TICKSTREAM_ROOT/deploy/local/postgres.sh" start --dir "$state/postgres")
log "creating the platform's topics"
"$bin/tools/tsctl/tsctl" topics ensure --kafka-brokers "$brokers" >/dev/null

cat <<TXT

  Tickstream local stack is up (state in $state)

  what                 where
  -------------------  -------------------------------------------------
  Kafka (KRaft)        $brokers          log: $state/kafka/server.log
  PostgreSQL 15        $pg_url
  topics               $("$bin/tools/tsctl/tsctl" topics describe --kafka-brokers "$brokers" | awk '{printf "%s%s", sep, $1; sep=", "}')

  Services: none yet. The market-data pipeline (exchange-sim, ingestion, normalizer), the
  gateway shards and the order service join this command as their issues land.

  Try:  $bin/tools/tsctl/tsctl topics describe --kafka-brokers $brokers
        $bin/tools/tsctl/tsctl route --symbols AAPL,MSFT,NVDA --shards 4 --replication 2
        psql $pg_url

TXT
"$bin/tools/tsctl/tsctl" route --symbols AAPL,MSFT,NVDA,TSLA --shards 4 --replication 2 | sed 's/^/  /'
echo

if [ "$hold" = 1 ]; then
  log "running; press Ctrl-C to stop everything"
  while "$TICKSTREAM_ROOT/deploy/local/kafka.sh" status --dir "$state/kafka"; do sleep 2; done
  log "Kafka exited unexpectedly; see $state/kafka/server.log"
  exit 1
fi
