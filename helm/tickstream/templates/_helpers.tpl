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
