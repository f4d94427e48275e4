#!/usr/bin/env bash
# The binary protobuf encoding end to end: a gateway shard with synthetic data, and the C++
# loadgen as an app would connect (`Sec-WebSocket-Protocol: tickstream.v1.proto`, every update
# parsed with protobuf). Every connection must open, get a snapshot per subscription and then
# updates with no sequence loss, no parse error, and nothing unasked for.
#   proto_stream_test.sh GATEWAY_BIN LOADGEN_BIN
set -euo pipefail
gateway=$1 loadgen=$2
log=$(mktemp -t proto-stream-gw.XXXXXX)
out=$(mktemp -t proto-stream-lg.XXXXXX)
"$gateway" --synthetic-updates-per-second 300 --synthetic-symbols 100 --allow-anonymous true \
  --listen 127.0.0.1:0 --metrics-listen "" --upgrade-burst-per-ip 1000 >"$log" 2>&1 &
gw=$!
trap 'kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; rm -f "$log" "$out"' EXIT
port=""
for _ in $(seq 100); do
  if grep -q '"gateway ready"' "$log"; then
    port=$(sed -n 's/.*"gateway listening".*"port":\([0-9]*\).*/\1/p' "$log" | head -1)
    break
  fi
  sleep 0.1
done
[ -n "$port" ] || { echo "the gateway did not start:"; cat "$log"; exit 1; }
"$loadgen" --url "ws://127.0.0.1:$port/v1/stream" --connections 40 --symbols-per-connection 10 \
  --source-ips 0 --connect-rate 1000 --warmup-s 1 --duration-s 3 --encoding proto --full-parse \
  >"$out"
python3 - "$out" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
checks = {
    "encoding is proto": r["encoding"] == "proto",
    "every connection opened": r["connections_established"] == 40 and r["connections_failed"] == 0,
    "all still open": r["connections_open_at_end"] == 40,
    "a snapshot per subscription": r["snapshots"] == r["subscriptions"] == 400,
    "updates arrived": r["updates"] > 500,
    "no sequence loss": r["seq_losses"] == 0 and r["seq_loss_events"] == 0,
    "every update parsed": r["parse_errors"] == 0 and not r["errors"],
    "nothing before its snapshot or unasked for": r["updates_before_snapshot"] == 0 and r["updates_unknown_symbol"] == 0,
}
for name, ok in checks.items():
    print(("ok   " if ok else "FAIL ") + name)
print(json.dumps(r))
sys.exit(0 if all(checks.values()) else 1)
PY
