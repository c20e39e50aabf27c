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

{{/* Labels of the `helm test` pods: the release's, but a name no selector of the
     release matches, so the Deployment, Service, HPA and PodDisruptionBudget never count
     them (an HPA reads CPU from every pod its target selects, and a finished test pod stays
     until the next `helm test`). */}}
{{- define "probe-demo.testLabels" -}}
helm.sh/chart: {{ include "probe-demo.chart" . }}
app.kubernetes.io/name: {{ include "probe-demo.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: test
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
  {{- if eq ($probe.http.protocol | default "HTTP1") "HTTP2" }}
  protocol: HTTP2
  {{- end }}
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
{{- end }}
initialDelaySeconds: {{ $probe.initialDelaySeconds }}
periodSeconds: {{ $probe.periodSeconds }}
timeoutSeconds: {{ $probe.timeoutSeconds }}
successThreshold: {{ $probe.successThreshold }}
failureThreshold: {{ $probe.failureThreshold }}
{{- if not (kindIs "invalid" $probe.terminationGracePeriodSeconds) }}
terminationGracePeriodSeconds: {{ $probe.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* The preStop hook: native sleep where the cluster has it (preStopSleep), else exec sleep. */}}
{{- define "probe-demo.preStop" -}}
{{- $action := .Values.rollout.preStop.action }}
{{- if eq $action "auto" }}
{{- $action = ternary "sleep" "exec" (eq (include "probe-demo.has" (dict "root" . "feature" "preStopSleep")) "true") }}
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

{{/*
"true" when the client runs as a native sidecar: sidecar.native, or where it is empty, the
cluster's version (nativeSidecar in _kubernetes.tpl).
*/}}
{{- define "probe-demo.sidecarNative" -}}
{{- if kindIs "invalid" .Values.sidecar.native }}
{{- eq (include "probe-demo.has" (dict "root" . "feature" "nativeSidecar")) "true" }}
{{- else }}
{{- .Values.sidecar.native }}
{{- end }}
{{- end }}

{{/* The curl client of seed 004, as a regular container or a native sidecar. */}}
{{- define "probe-demo.sidecar" -}}
- name: client
  image: "{{ .Values.sidecar.image.repository }}:{{ .Values.sidecar.image.tag }}"
  imagePullPolicy: {{ .Values.sidecar.image.pullPolicy }}
  {{- if eq (include "probe-demo.sidecarNative" .) "true" }}
  # A native sidecar: started before the server, stopped after it.
  restartPolicy: Always
  {{- end }}
  # Seed 004: a curl client in the same pod asks the server over localhost forever. It
  # waits for the server to be ready first, and leaves at once on SIGTERM.
  command:
    - sh
    - -c
    - >-
      trap 'exit 0' TERM;
      until curl -fs -o /dev/null --max-time 1 "http://localhost:{{ include "probe-demo.port" . }}/readyz"; do sleep 0.2; done;
      while true; do
      curl -sS --max-time 5 "http://localhost:{{ include "probe-demo.port" . }}{{ .Values.sidecar.path }}";
      sleep {{ .Values.sidecar.intervalSeconds }} & wait $!;
      done
  resources:
    {{- toYaml .Values.sidecar.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
{{- end }}

{{/*
The virtual host the rollout check's load asks a front door for: rolloutCheck.host, or with
rolloutCheck.url set, the first of httpRoute.hostnames (else of ingress.hosts); empty
through the Service.
*/}}
{{- define "probe-demo.rolloutCheckHost" -}}
{{- $check := .Values.rolloutCheck }}
{{- if $check.host }}
{{- $check.host }}
{{- else if and $check.url .Values.httpRoute.enabled .Values.httpRoute.hostnames }}
{{- first .Values.httpRoute.hostnames }}
{{- else if and $check.url .Values.ingress.enabled .Values.ingress.hosts }}
{{- (first .Values.ingress.hosts).host }}
{{- end }}
{{- end }}

{{/*
The rollout check's RBAC rules of one scope (clusterScoped: the ClusterRole's), from the
check's disruption registry (disruptions.json, generated): each verb the check always
needs, and those the chosen disruptions need. Empty when the scope needs none.
*/}}
{{- define "probe-demo.rolloutCheckRules" -}}
{{- $root := .root }}
{{- $check := $root.Values.rolloutCheck }}
{{- $rules := list }}
{{- range $rule := ($root.Files.Get "disruptions.json" | fromJson).rules }}
{{- if eq (default false $rule.clusterScoped) $.clusterScoped }}
{{- $verbs := list }}
{{- range $rule.verbs }}
{{- $needed := not .for }}
{{- range .for }}{{ if has . $check.disruptions }}{{ $needed = true }}{{ end }}{{ end }}
{{- if $needed }}{{ $verbs = append $verbs .verb }}{{ end }}
{{- end }}
{{- if $verbs }}
{{- $out := dict "apiGroups" $rule.apiGroups "resources" $rule.resources "verbs" $verbs }}
{{- if $rule.named }}
{{- $_ := set $out "resourceNames" (list (include "probe-demo.fullname" $root)) }}
{{- end }}
{{- $rules = append $rules $out }}
{{- end }}
{{- end }}
{{- end }}
{{- if $rules }}
{{- toYaml $rules }}
{{- end }}
{{- end }}
