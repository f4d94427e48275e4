#!/usr/bin/env bash
# Checks the deployment files without a cluster or a Docker engine: the Helm chart lints and
# renders, the rendered manifests carry what the services need, and docker-compose.yml is valid.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
helm=$("$root/deploy/local/install-helm.sh")
"$helm" lint --strict "$root/helm/tickstream"
out=$("$helm" template ci "$root/helm/tickstream" --set kafka.brokers=k:9092 --set kafka.mdPartitions=32)
grep -q 'command: \["tsctl", "topics", "ensure"\]' <<<"$out" || { echo "topics job missing"; exit 1; }
grep -A1 'TICKSTREAM_MD_PARTITIONS' <<<"$out" | grep -q '"32"' || { echo "values not applied"; exit 1; }
docker-compose -f "$root/docker-compose.yml" config -q
echo "helm chart and docker-compose.yml are valid"
