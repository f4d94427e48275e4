#!/usr/bin/env bash
# The test command: on a fresh machine it installs what is missing, builds everything with the
# `dev` preset (Ninja, warnings as errors) and runs every test through ctest. The integration
# tests start a real Kafka broker and a real PostgreSQL as CTest fixtures and stop them after.
#
#   deploy/local/test.sh               everything
#   deploy/local/test.sh -R kafka.     extra arguments go to ctest (here: one module)
set -euo pipefail
LOG_TAG=test
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$TICKSTREAM_ROOT"

"$TICKSTREAM_ROOT/deploy/local/install-deps.sh"
"$TICKSTREAM_ROOT/deploy/local/kafka.sh" fetch

log "configuring and building (preset dev)"
cmake --preset dev >/dev/null
cmake --build --preset dev
log "running tests"
ctest --preset dev "$@"
