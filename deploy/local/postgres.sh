#!/usr/bin/env bash
# A throw-away PostgreSQL 15 on loopback.
#
#   postgres.sh start   --dir DIR   initialise (first time) and start; prints the connection URL
#                                   and writes it to DIR/url
#   postgres.sh stop    --dir DIR   fast shutdown (rolls back open transactions)
#   postgres.sh kill    --dir DIR   kill -9 the postmaster (fault tests; crash recovery on start)
#   postgres.sh restart --dir DIR   stop and start on the same port and data
#   postgres.sh status  --dir DIR   exit 0 when it is running
#
# TICKSTREAM_PG_EXTRA_CONF: lines appended to postgresql.conf at initialisation (diagnosis, e.g.
# "shared_preload_libraries = 'pg_stat_statements'" while profiling a benchmark).
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user and its
# data lives under /tmp (a build tree inside a private clone may not be reachable by that user);
# DIR/pgdata records where.
set -euo pipefail
LOG_TAG=postgres
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

init() {
  [ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 not found in $PGBIN: run deploy/local/install-deps.sh"
  local data
  if [ "$(id -u)" = 0 ]; then
    data=$(mktemp -d /tmp/tickstream-pg.XXXXXX); chown postgres: "$data"
  else
    data="$DIR/pgdata.d"; mkdir -p "$data"
  fi
  chmod 700 "$data"
  echo "$data" > "$DIR/pgdata"
  free_port > "$DIR/port"
  as_owner "$PGBIN/initdb" -D "$data" -U tickstream --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $(cat "$DIR/port")
unix_socket_directories = '$data'
max_connections = 200
shared_buffers = 256MB
# Concurrent commits still share WAL flushes; no artificial commit_delay on top.
commit_delay = 0
logging_collector = off
CONF
  # Extra settings for diagnosis, e.g. "shared_preload_libraries = 'pg_stat_statements'".
  [ -z "${TICKSTREAM_PG_EXTRA_CONF:-}" ] || printf '%s\n' "$TICKSTREAM_PG_EXTRA_CONF" >> "$data/postgresql.conf"
}

running() { as_owner "$PGBIN/pg_ctl" -D "$(cat "$DIR/pgdata")" status >/dev/null 2>&1; }
# pg_isready exits 2 for "no response yet": fold it to 1 so wait_until keeps waiting.
accepting() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$(cat "$DIR/port")" || return 1; }

start() {
  [ -f "$DIR/pgdata" ] && [ -d "$(cat "$DIR/pgdata")" ] || init
  local data port; data=$(cat "$DIR/pgdata"); port=$(cat "$DIR/port")
  if ! running; then
    log "starting PostgreSQL on 127.0.0.1:$port (data in $data)"
    as_owner "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null \
      || { tail -20 "$data/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  wait_until 60 "PostgreSQL to accept connections" accepting
  if ! "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U tickstream -d postgres -tAc \
       "select 1 from pg_database where datname='tickstream'" | grep -q 1; then
    "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U tickstream tickstream
  fi
  echo "postgresql://tickstream@127.0.0.1:$port/tickstream" > "$DIR/url"
  cat "$DIR/url"
}

stop() {
  [ -f "$DIR/pgdata" ] || return 0
  running || return 0
  as_owner "$PGBIN/pg_ctl" -D "$(cat "$DIR/pgdata")" -m fast -w -t 60 stop >/dev/null
}

kill9() {
  local pidfile pid; pidfile="$(cat "$DIR/pgdata")/postmaster.pid"
  [ -f "$pidfile" ] || return 0
  pid=$(head -1 "$pidfile")
  kill -KILL "$pid" 2>/dev/null || true
  # Return only once the postmaster is reaped: until then it is a zombie that pg_ctl (and
  # PostgreSQL's own lock-file check) take for a running server, and a start would wait on it.
  wait_until 30 "the killed postmaster to be reaped" bash -c "[ ! -e /proc/$pid ]"
}

destroy() { stop; [ -f "$DIR/pgdata" ] && rm -rf "$(cat "$DIR/pgdata")"; rm -f "$DIR/pgdata" "$DIR/url" "$DIR/port"; }

cmd=${1:-}; shift || true
DIR=""
while [ $# -gt 0 ]; do
  case $1 in
    --dir) DIR=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
case $cmd in
  start|stop|kill|restart|status|destroy)
    [ -n "$DIR" ] || die "--dir is required"
    DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)
    case $cmd in
      start) start ;;
      stop) stop ;;
      kill) kill9 ;;
      restart) stop; start ;;
      status) [ -f "$DIR/pgdata" ] && running ;;
      destroy) destroy ;;
    esac ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
