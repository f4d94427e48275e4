#!/usr/bin/env bash
# Installs every Debian package that building, testing and running Tickstream locally needs.
# Idempotent, and quick when everything is already there (one dpkg query, no apt-get call).
set -euo pipefail
LOG_TAG=deps
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # contracts and RPC
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  # Kafka client, PostgreSQL client, metrics
  librdkafka-dev libpqxx-dev prometheus-cpp-dev
  # HTTP/WebSocket, JSON, logging, flags, TLS, tests
  libboost-dev libboost-system-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libssl-dev zlib1g-dev catch2
  # a WebSocket client that is not ours, for libs/ws's interop test
  python3-websockets
  # a browser for the watchlist page's test (headless, over the DevTools protocol)
  chromium
  # the real services the integration tests and the main job start
  postgresql-15 postgresql-client-15 prometheus default-jre-headless maven
  # used by the scripts
  curl iproute2 procps util-linux
  # the time zone database (--exchange-timezone; runtime_test)
  tzdata
  # checks the deployment files (docker-compose.yml; the Helm chart uses helm, see install-helm.sh)
  docker-compose
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then log "all ${#PACKAGES[@]} packages present"; exit 0; fi

log "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: install as root: ${missing[*]}"
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
