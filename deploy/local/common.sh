# Shared helpers for the local-infrastructure scripts. Sourced, never run.
# shellcheck shell=bash

# Where downloaded artefacts (the Kafka jars) are cached between runs. Never inside the repo.
TICKSTREAM_CACHE="${TICKSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tickstream}"
# The repository root, whatever directory the caller ran from.
TICKSTREAM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

log() { printf '%s [%s] %s\n' "$(date -u +%H:%M:%S)" "${LOG_TAG:-local}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# free_port: print a TCP port on 127.0.0.1 that nothing listens on. Random in a high range
# (not the ephemeral range) so parallel starts rarely race for the same one.
free_port() {
  local port used
  used=$(ss -ltnH 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 12000 ))
    if ! grep -qx "$port" <<<"$used"; then echo "$port"; return 0; fi
  done
  die "no free port found"
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_until SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.2 s until it succeeds.
# COMMAND exiting 2 means "this will never happen" (e.g. the process died): stop at once.
wait_until() {
  local deadline=$(( $(date +%s) + $1 )) what=$2 rc; shift 2
  while :; do
    rc=0; "$@" || rc=$?
    [ "$rc" = 0 ] && return 0
    [ "$rc" = 2 ] && { log "gave up waiting for $what"; return 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { log "timed out waiting for $what"; return 1; }
    sleep 0.2
  done
}

# pid_alive FILE [PATTERN]: true when FILE holds the pid of a running process (whose command
# line contains PATTERN, when given: a stale pid file may name a recycled pid).
pid_alive() {
  [ -f "$1" ] || return 1
  local pid; pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null || return 1
  [ -z "${2:-}" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# stop_pid FILE SECONDS [PATTERN]: SIGTERM the process in FILE, SIGKILL it after SECONDS.
stop_pid() {
  local pidfile=$1 grace=$2 pid
  pid_alive "$pidfile" "${3:-}" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$(( $(date +%s) + grace ))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "pid $pid did not stop in ${grace}s; killing"; kill -KILL "$pid" 2>/dev/null || true; break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
}
