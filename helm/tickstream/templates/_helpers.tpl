{{- define "tickstream.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "tickstream.labels" -}}
app.kubernetes.io/name: tickstream
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{/* Every service reads TICKSTREAM_* variables (docs/operations.md). */}}
{{- define "tickstream.commonEnv" -}}
- name: TICKSTREAM_KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: TICKSTREAM_LOG_LEVEL
  value: {{ .Values.logging.level | quote }}
- name: TICKSTREAM_LOG_FORMAT
  value: {{ .Values.logging.format | quote }}
{{- end -}}

{{/* Every service pod: /metrics, /healthz and /readyz on port 9090 (docs/operations.md). */}}
{{- define "tickstream.podAnnotations" -}}
{{- if .Values.monitoring.scrapeAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: "9090"
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{- define "tickstream.metricsEnv" -}}
- name: TICKSTREAM_METRICS_LISTEN
  value: "0.0.0.0:9090"
{{- end -}}

{{/* Liveness from /healthz; readiness from /readyz, which a service holds off until it can
serve (a gateway until its shard's md.snapshot is loaded, the order service until its symbol
directory is). */}}
{{- define "tickstream.probes" -}}
livenessProbe:
  httpGet: {path: /healthz, port: metrics}
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: metrics}
  periodSeconds: 5
  failureThreshold: 2
{{- end -}}

{{- define "tickstream.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "tickstream.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.secrets.existingSecret }}
      key: {{ .key }}
{{- end -}}

{{/* Where ingestion reads the feed and the order service routes orders: the values, or else
the chart's own exchange-sim. */}}
{{- define "tickstream.soupConnect" -}}
{{- if .Values.ingestion.soupConnect }}{{ .Values.ingestion.soupConnect }}
{{- else if .Values.exchangeSim.enabled }}{{ printf "%s-exchange-sim:7001" .Release.Name }}
{{- else }}{{ fail "ingestion.soupConnect (HOST:PORT of the venue's SoupBinTCP feed) is required without exchangeSim" }}
{{- end }}
{{- end -}}

{{- define "tickstream.venue" -}}
{{- if .Values.order.venue }}{{ .Values.order.venue }}
{{- else if .Values.exchangeSim.enabled }}{{ printf "%s-exchange-sim:7002" .Release.Name }}
{{- else }}{{ fail "order.venue (HOST:PORT of the venue's gRPC API) is required without exchangeSim" }}
{{- end }}
{{- end -}}

{{- define "tickstream.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
{{- end -}}
