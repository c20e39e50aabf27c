{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "probe-demo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already contains the chart's. */}}
{{- define "probe-demo.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "probe-demo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "probe-demo.labels" -}}
helm.sh/chart: {{ include "probe-demo.chart" . }}
{{ include "probe-demo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
probe-demo.dev/variant: {{ .Values.server.variant }}
{{- end }}

{{/* Selector labels: name and instance only, because selectors are immutable. */}}
{{- define "probe-demo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "probe-demo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "probe-demo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "probe-demo.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "probe-demo.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Pods that run at least: the HPA's minimum when it is on, replicaCount otherwise. */}}
{{- define "probe-demo.minPods" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}

{{/*
A Kubernetes probe from one entry of .Values.probes.
Call with (dict "name" "liveness" "probe" .Values.probes.liveness).
*/}}
{{- define "probe-demo.probe" -}}
{{- $probe := .probe }}
{{- if eq $probe.type "http" }}
httpGet:
  path: {{ $probe.http.path }}
  port: {{ $probe.http.port }}
  scheme: {{ $probe.http.scheme }}
  {{- with $probe.http.httpHeaders }}
  httpHeaders:
    {{- if kindIs "slice" . }}
    {{- /* The Kubernetes list form, as seed 003 and the Kubernetes docs write it. */}}
    {{- range . }}
    - name: {{ .name }}
      value: {{ .value | quote }}
    {{- end }}
    {{- else }}
    {{- range $name, $value := . }}
    - name: {{ $name }}
      value: {{ $value | quote }}
    {{- end }}
    {{- end }}
  {{- end }}
{{- else if eq $probe.type "exec" }}
{{- if not $probe.exec.command }}
{{- fail (printf "probes.%s.exec.command must not be empty when probes.%s.type is exec" .name .name) }}
{{- end }}
exec:
  command:
    {{- toYaml $probe.exec.command | nindent 4 }}
{{- else if eq $probe.type "tcp" }}
tcpSocket:
  port: {{ $probe.tcp.port }}
{{- else if eq $probe.type "grpc" }}
grpc:
  port: {{ $probe.grpc.port }}
  service: {{ $probe.grpc.service | quote }}
{{- else }}
{{- fail (printf "probes.%s.type must be http, exec, tcp or grpc (got %q)" .name $probe.type) }}
{{- end }}
initialDelaySeconds: {{ $probe.initialDelaySeconds }}
periodSeconds: {{ $probe.periodSeconds }}
timeoutSeconds: {{ $probe.timeoutSeconds }}
successThreshold: {{ $probe.successThreshold }}
failureThreshold: {{ $probe.failureThreshold }}
{{- end }}

{{/* The preStop hook: native sleep where the cluster has it (1.30+), else exec sleep. */}}
{{- define "probe-demo.preStop" -}}
{{- $action := .Values.rollout.preStop.action }}
{{- if eq $action "auto" }}
{{- $action = ternary "sleep" "exec" (semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- if eq $action "sleep" }}
sleep:
  seconds: {{ .Values.rollout.preStop.sleepSeconds }}
{{- else }}
exec:
  command: ["sleep", "{{ .Values.rollout.preStop.sleepSeconds }}"]
{{- end }}
{{- end }}

{{/*
The variant's own defaults (variants.json, generated from the server's variant modules),
for the settings left unset: server.port and server.drainSeconds.
*/}}
{{- define "probe-demo.port" -}}
{{- if kindIs "invalid" .Values.server.port }}
{{- (index (.Files.Get "variants.json" | fromJson) .Values.server.variant).port | int }}
{{- else }}
{{- .Values.server.port }}
{{- end }}
{{- end }}
{{- define "probe-demo.drainSeconds" -}}
{{- if kindIs "invalid" .Values.server.drainSeconds }}
{{- (index (.Files.Get "variants.json" | fromJson) .Values.server.variant).drainSeconds }}
{{- else }}
{{- .Values.server.drainSeconds }}
{{- end }}
{{- end }}
