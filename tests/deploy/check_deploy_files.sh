#!/usr/bin/env bash
# Checks the deployment files without a cluster or a Docker engine: the Helm chart lints and
# renders, the rendered manifests carry what the services need, the alert rules load and fire
# as their unit tests say, and docker-compose.yml is valid.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
helm=$("$root/deploy/local/install-helm.sh")
chart="$root/helm/tickstream"
fail() { echo "FAIL: $*"; exit 1; }

"$helm" lint --strict "$chart"
"$helm" lint --strict "$chart" --set exchangeSim.enabled=false --set ingestion.soupConnect=feed:7001 \
  --set order.venue=venue:7002 --set monitoring.prometheusRule.enabled=true

out=$("$helm" template ci "$chart" --set kafka.brokers=k:9092 --set kafka.mdPartitions=32 --set gateway.shards=3)
grep -q 'command: \["tsctl", "topics", "ensure"\]' <<<"$out" || fail "topics job missing"
grep -A1 'TICKSTREAM_MD_PARTITIONS' <<<"$out" | grep -q '"32"' || fail "values not applied"
for c in gateway normalizer ingestion order-service exchange-sim; do
  grep -q "command: \[\"$c\"" <<<"$out" || fail "no container runs $c"
done
# Gateway shards: a StatefulSet whose pods take their shard id from their ordinal, told every
# shard's endpoint.
grep -q 'kind: StatefulSet' <<<"$out" || fail "gateway StatefulSet missing"
grep -q "fieldPath: metadata.labels\['apps.kubernetes.io/pod-index'\]" <<<"$out" || fail "shard id not from the ordinal"
grep -A1 'TICKSTREAM_SHARD_COUNT' <<<"$out" | grep -q '"3"' || fail "shard count not the replica count"
endpoints=$(grep -A1 'name: TICKSTREAM_SHARD_ENDPOINTS' <<<"$out" | tail -1)
[ "$(grep -o 'ws://' <<<"$endpoints" | wc -l)" = 3 ] || fail "not one endpoint per shard: $endpoints"
grep -q 'ws://ci-gateway-2.ci-gateway-headless' <<<"$endpoints" || fail "endpoints are not the pods' names"
# One feed handler, never two at once; the services use the chart's simulator by default.
awk '/^kind: Deployment/{d=1} /^---/{d=0} d' <<<"$out" | awk '/name: ci-ingestion$/,/template:/' | grep -q 'type: Recreate' \
  || fail "ingestion not Recreate"
grep -A1 'TICKSTREAM_SOUP_CONNECT' <<<"$out" | grep -q '"ci-exchange-sim:7001"' || fail "default feed"
grep -A1 'TICKSTREAM_VENUE$' <<<"$out" | grep -q '"ci-exchange-sim:7002"' || fail "default venue"
# Secrets come from a Secret, never from values.
grep -q 'key: pg-url' <<<"$out" || fail "PostgreSQL URL not from the Secret"
if grep -qi 'postgresql://' <<<"$out"; then fail "a database URL in the manifests"; fi
# Without the simulator, a venue must be named: the render refuses, naming the value.
if err=$("$helm" template ci "$chart" --set exchangeSim.enabled=false 2>&1); then fail "rendered without a venue"; fi
grep -Eq 'ingestion.soupConnect|order.venue' <<<"$err" || fail "unclear error without a venue: $err"
# The alert rules: as a PrometheusRule, valid for Prometheus, and behaving as their tests say.
monitored=$("$helm" template ci "$chart" --set monitoring.prometheusRule.enabled=true --set monitoring.podMonitor.enabled=true)
grep -q 'kind: PrometheusRule' <<<"$monitored" || fail "PrometheusRule missing"
grep -q 'kind: PodMonitor' <<<"$monitored" || fail "PodMonitor missing"
command -v promtool >/dev/null || fail "promtool not installed (deploy/local/install-deps.sh)"
promtool check rules "$chart/rules/tickstream.rules.yml"
promtool test rules "$root/tests/deploy/rules_test.yml"

docker-compose -f "$root/docker-compose.yml" config -q
echo "helm chart, alert rules and docker-compose.yml are valid"
