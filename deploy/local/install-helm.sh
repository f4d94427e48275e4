#!/usr/bin/env bash
# Prints the path of a helm binary, building it from the Go module proxy into the cache the
# first time (helm has no Debian package; `go install` is the supported way to get it here).
set -euo pipefail
LOG_TAG=helm
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
HELM_VERSION=v3.18.4
bin="$TICKSTREAM_CACHE/helm-$HELM_VERSION/helm"
# The Go toolchain may be installed outside a non-login PATH.
PATH="$PATH:/usr/local/go/bin:/usr/lib/go/bin"
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || die "go not found: helm is built with the Go toolchain"
  log "building helm $HELM_VERSION (go install, about 2 minutes the first time)"
  GOBIN="$(dirname "$bin")" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$bin"
