{{/*
Settings that each render fine but cannot work together, and features the cluster is too old
for. Each `fail` names the values involved and what would go wrong. deployment.yaml includes
probe-demo.checks first, so every refusal of the chart is made here, one define per concern;
what JSON Schema can say (types, ranges, enums, patterns) is in values.schema.json instead.
*/}}
{{- define "probe-demo.checks" -}}
{{- include "probe-demo.checks.renamed" . }}
{{- include "probe-demo.checks.server" . }}
{{- include "probe-demo.checks.termination" . }}
{{- include "probe-demo.checks.probes" . }}
{{- include "probe-demo.checks.autoscaling" . }}
{{- include "probe-demo.checks.disruptionBudget" . }}
{{- include "probe-demo.checks.lifecycle" . }}
{{- include "probe-demo.checks.service" . }}
{{- include "probe-demo.checks.frontDoor" . }}
{{- include "probe-demo.checks.monitors" . }}
{{- include "probe-demo.checks.rolloutCheck" . }}
{{- end }}

{{/* Renamed values: say the new name rather than let the old one be ignored. */}}
{{- define "probe-demo.checks.renamed" -}}
{{- if hasKey .Values.server "gracefulTimeout" }}
{{- fail "server.gracefulTimeout was renamed server.gracefulTimeoutSeconds in chart 2.0.0" }}
{{- end }}
{{- if hasKey .Values.restartRules "featureGateEnabled" }}
{{- fail "restartRules.featureGateEnabled was replaced by featureGates.ContainerRestartRules in chart 3.0.0" }}
{{- end }}
{{- end }}

{{/* The server: its ports apart, its threads more than /work may take, its settings only
through values (it refuses PROBE_DEMO_* variables it does not know). */}}
{{- define "probe-demo.checks.server" -}}
{{- $s := .Values.server }}
{{- $httpPort := int (include "probe-demo.port" .) }}
{{- if and $s.grpcPort (eq (int $s.grpcPort) $httpPort) }}
{{- fail (printf "server.grpcPort (%v) is also the HTTP port (server.port, or the %s variant's own when unset): give gRPC health its own port, or set server.grpcPort to 0 to turn it off" $s.grpcPort $s.variant) }}
{{- end }}
{{- if le (int $s.threads) (int $s.workConcurrency) }}
{{- fail (printf "server.threads (%v) must be above server.workConcurrency (%v): otherwise /work can take every thread and the probes wait behind it" $s.threads $s.workConcurrency) }}
{{- end }}
{{- range $name, $value := .Values.env }}
{{- if hasPrefix "PROBE_DEMO_" $name }}
{{- fail (printf "env.%s: set the server's settings with the server.*, faults.*, stress.* and healthFile.* values, not env" $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Termination: the kubelet kills the container once the grace period is over. */}}
{{- define "probe-demo.checks.termination" -}}
{{- $v := .Values }}
{{- $s := $v.server }}
{{- $drain := float64 (include "probe-demo.drainSeconds" .) }}
{{- $preStop := ternary (int $v.rollout.preStop.sleepSeconds) 0 $v.rollout.preStop.enabled }}
{{- /* The margin: the server takes up to a second past its graceful timeout to exit, and
       the kubelet's own steps take time too. */}}
{{- $margin := 2 }}
{{- $needed := add $preStop (ceil $drain) (ceil $s.gracefulTimeoutSeconds) $margin }}
{{- if lt (int $v.rollout.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "rollout.terminationGracePeriodSeconds (%v) must be at least rollout.preStop.sleepSeconds (%v) + server.drainSeconds (%v) + server.gracefulTimeoutSeconds (%v) + %v s to stop = %v: otherwise the kubelet kills the server mid-drain and requests in flight are lost" $v.rollout.terminationGracePeriodSeconds $preStop $drain $s.gracefulTimeoutSeconds $margin $needed) }}
{{- end }}

{{- end }}

{{/* Probes: each must reach a port the server listens on, and the startup probe must wait
long enough for the server to start. */}}
{{- define "probe-demo.checks.probes" -}}
{{- $v := .Values }}
{{- $s := $v.server }}
{{- $httpPort := int (include "probe-demo.port" .) }}
{{- range $name := list "liveness" "readiness" "startup" }}
{{- $probe := index $v.probes $name }}
{{- if $probe.enabled }}
{{- if has $probe.type (list "http" "tcp") }}
{{- $port := (index $probe $probe.type).port }}
{{- $key := printf "probes.%s.%s.port" $name $probe.type }}
{{- $onGrpc := false }}
{{- if kindIs "string" $port }}
{{- $onGrpc = eq $port "grpc" }}
{{- if and $onGrpc (not $s.grpcPort) }}
{{- fail (printf "%s is grpc, but server.grpcPort is 0 (gRPC off): the container has no port named grpc" $key) }}
{{- else if not (has $port (list "http" "grpc")) }}
{{- fail (printf "%s (%s) names no container port: use http, grpc or a number" $key $port) }}
{{- end }}
{{- else }}
{{- $onGrpc = and $s.grpcPort (eq (int $port) (int $s.grpcPort)) }}
{{- if not (has (int $port) (list $httpPort (int $s.grpcPort))) }}
{{- fail (printf "%s (%v) is not a port the server listens on (server.port %v, server.grpcPort %v)" $key $port $httpPort $s.grpcPort) }}
{{- end }}
{{- end }}
{{- if eq $probe.type "http" }}
{{- $protocol := $probe.http.protocol | default "HTTP1" }}
{{- if and (eq $protocol "HTTP1") $onGrpc }}
{{- $h2c := ternary (printf "probes.%s.http.protocol=HTTP2, " $name) "" (eq (include "probe-demo.has" (dict "root" $ "feature" "h2cProbe")) "true") }}
{{- fail (printf "%s points an HTTP/1.1 probe at the gRPC port, which speaks only HTTP/2: use type grpc, %sor port http" $key $h2c) }}
{{- else if eq $protocol "HTTP2" }}
{{- if not $onGrpc }}
{{- fail (printf "probes.%s.http.protocol is HTTP2 (h2c), which the server speaks on its gRPC port only: set %s to grpc" $name $key) }}
{{- else if ne $probe.http.scheme "HTTP" }}
{{- fail (printf "probes.%s.http.protocol HTTP2 is h2c, cleartext: probes.%s.http.scheme must be HTTP" $name $name) }}
{{- end }}
{{- include "probe-demo.requires" (dict "root" $ "feature" "h2cProbe" "key" (printf "probes.%s.http.protocol=HTTP2" $name) "hint" "use protocol HTTP1 on port http, or type grpc") }}
{{- end }}
{{- end }}
{{- else if eq $probe.type "grpc" }}
{{- if not $s.grpcPort }}
{{- fail (printf "probes.%s.type is grpc, but server.grpcPort is 0 (gRPC off)" $name) }}
{{- else if ne (int $probe.grpc.port) (int $s.grpcPort) }}
{{- fail (printf "probes.%s.grpc.port (%v) must be server.grpcPort (%v), where the server answers gRPC health" $name $probe.grpc.port $s.grpcPort) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- $startup := $v.probes.startup }}
{{- if and $startup.enabled $s.startupSeconds }}
{{- $allows := add $startup.initialDelaySeconds (mul $startup.periodSeconds $startup.failureThreshold) }}
{{- if le (int $allows) (int (ceil $s.startupSeconds)) }}
{{- fail (printf "probes.startup gives up after %v s (initialDelaySeconds + periodSeconds × failureThreshold) but server.startupSeconds is %v: the container would be restarted before it ever starts" $allows $s.startupSeconds) }}
{{- end }}
{{- end }}

{{- if not (kindIs "invalid" $v.probes.readiness.terminationGracePeriodSeconds) }}
{{- fail "probes.readiness.terminationGracePeriodSeconds: Kubernetes allows it only on liveness and startup probes (a failed readiness probe kills nothing)" }}
{{- end }}
{{- end }}

{{/* HPA: a target to scale on, a range that is one, and utilisation is a share of the
request, so the request must be there. */}}
{{- define "probe-demo.checks.autoscaling" -}}
{{- $a := .Values.autoscaling }}
{{- if $a.enabled }}
{{- if and (not $a.targetCPUUtilizationPercentage) (not $a.targetMemoryUtilizationPercentage) }}
{{- fail "autoscaling.enabled needs autoscaling.targetCPUUtilizationPercentage or autoscaling.targetMemoryUtilizationPercentage" }}
{{- end }}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) }}
{{- fail (printf "autoscaling.minReplicas (%v) must not exceed autoscaling.maxReplicas (%v)" $a.minReplicas $a.maxReplicas) }}
{{- end }}
{{- $requests := (.Values.resources.requests | default dict) }}
{{- if and $a.targetCPUUtilizationPercentage (not $requests.cpu) }}
{{- fail "autoscaling.targetCPUUtilizationPercentage needs resources.requests.cpu: the HPA computes CPU utilisation as a share of the request" }}
{{- end }}
{{- if and $a.targetMemoryUtilizationPercentage (not $requests.memory) }}
{{- fail "autoscaling.targetMemoryUtilizationPercentage needs resources.requests.memory: the HPA computes memory utilisation as a share of the request" }}
{{- end }}
{{- end }}
{{- end }}

{{/* PDB: a budget that allows no disruption blocks every node drain for good. */}}
{{- define "probe-demo.checks.disruptionBudget" -}}
{{- $v := .Values }}
{{- $pods := int (include "probe-demo.minPods" .) }}
{{- $pdb := $v.podDisruptionBudget }}
{{- if and $pdb.enabled (gt $pods 1) }}
{{- if and (not (kindIs "invalid" $pdb.maxUnavailable)) (kindIs "float64" $pdb.maxUnavailable) (eq (int $pdb.maxUnavailable) 0) }}
{{- fail "podDisruptionBudget.maxUnavailable is 0: no pod could ever be evicted, so no node could be drained" }}
{{- end }}
{{- if and (not $pdb.maxUnavailable) (kindIs "float64" $pdb.minAvailable) (ge (int $pdb.minAvailable) $pods) }}
{{- fail (printf "podDisruptionBudget.minAvailable (%v) must be below the pods that run (%v, replicaCount or autoscaling.minReplicas): otherwise no pod could ever be evicted, so no node could be drained" $pdb.minAvailable $pods) }}
{{- end }}
{{- end }}

{{- end }}

{{/* Lifecycle features, each on a Kubernetes recent enough to honour it (_kubernetes.tpl). */}}
{{- define "probe-demo.checks.lifecycle" -}}
{{- $v := .Values }}
{{- if eq (toString $v.sidecar.native) "true" }}
{{- include "probe-demo.requires" (dict "root" . "feature" "nativeSidecar" "key" "sidecar.native=true" "hint" "set sidecar.native=false") }}
{{- end }}
{{- if $v.resizePolicy }}
{{- include "probe-demo.requires" (dict "root" . "feature" "inPlaceResize" "key" "resizePolicy" "hint" "leave resizePolicy empty") }}
{{- end }}
{{- if $v.restartRules.doNotRestartOnExitCodes }}
{{- include "probe-demo.requires" (dict "root" . "feature" "restartRules" "key" "restartRules.doNotRestartOnExitCodes") }}
{{- end }}
{{- with $v.rollout.stopSignal }}
{{- include "probe-demo.requires" (dict "root" $ "feature" "stopSignal" "key" (printf "rollout.stopSignal=%s" .) "hint" "leave rollout.stopSignal empty (SIGTERM)") }}
{{- end }}
{{- if $v.podResources }}
{{- include "probe-demo.requires" (dict "root" . "feature" "podLevelResources" "key" "podResources" "hint" "set resources (the server container's) instead") }}
{{- include "probe-demo.checks.podResources" . }}
{{- end }}
{{- range $name := list "liveness" "startup" }}
{{- $probe := index $v.probes $name }}
{{- if and $probe.enabled (not (kindIs "invalid" $probe.terminationGracePeriodSeconds)) }}
{{- include "probe-demo.requires" (dict "root" $ "feature" "perProbeGracePeriod" "key" (printf "probes.%s.terminationGracePeriodSeconds" $name)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Service: traffic policies where they apply and where the cluster has them. */}}
{{- define "probe-demo.checks.service" -}}
{{- $svc := .Values.service }}
{{- if and $svc.externalTrafficPolicy (eq $svc.type "ClusterIP") }}
{{- fail (printf "service.externalTrafficPolicy (%s) applies to NodePort and LoadBalancer Services only, and service.type is ClusterIP" $svc.externalTrafficPolicy) }}
{{- end }}
{{- with $svc.trafficDistribution }}
{{- $key := printf "service.trafficDistribution=%s" . }}
{{- if eq . "PreferClose" }}
{{- include "probe-demo.requires" (dict "root" $ "feature" "preferClose" "key" $key) }}
{{- else }}
{{- include "probe-demo.requires" (dict "root" $ "feature" "sameZoneOrNode" "key" $key "hint" "use PreferClose") }}
{{- end }}
{{- end }}
{{- end }}

{{/* Routes: each attaches to a Gateway, and a gRPC route needs the gRPC port. */}}
{{- define "probe-demo.checks.frontDoor" -}}
{{- range $key := list "httpRoute" "grpcRoute" }}
{{- $route := index $.Values $key }}
{{- if and $route.enabled (not $route.parentRefs) }}
{{- fail (printf "%s.parentRefs: name the Gateway (and its listener) the route attaches to, e.g. [{name: gateway, namespace: gateway-system}]" $key) }}
{{- end }}
{{- end }}
{{- if and .Values.grpcRoute.enabled (not .Values.server.grpcPort) }}
{{- fail "grpcRoute.enabled needs server.grpcPort: the route sends gRPC health calls to that port (0 turns it off)" }}
{{- end }}
{{- end }}

{{/* Monitors: one scrape configuration per pod. */}}
{{- define "probe-demo.checks.monitors" -}}
{{- if and .Values.serviceMonitor.enabled .Values.podMonitor.enabled }}
{{- fail "serviceMonitor.enabled and podMonitor.enabled would both scrape the same pods: choose one" }}
{{- end }}
{{- end }}

{{/* The rollout check's load: gRPC health calls need the gRPC port. */}}
{{- define "probe-demo.checks.rolloutCheck" -}}
{{- $check := .Values.rolloutCheck }}
{{- if and $check.enabled (eq $check.connections "grpc") (not .Values.server.grpcPort) }}
{{- fail "rolloutCheck.connections=grpc needs server.grpcPort: the load is gRPC health calls on that port (0 turns it off)" }}
{{- end }}
{{- if and $check.enabled (eq $check.connections "grpc") $check.url }}
{{- fail "rolloutCheck.url sends HTTP load through a front door; rolloutCheck.connections=grpc sends gRPC health calls to the Service: choose one" }}
{{- end }}
{{- if and $check.enabled $check.host (not $check.url) }}
{{- fail "rolloutCheck.host needs rolloutCheck.url: through the Service the load needs no virtual host" }}
{{- end }}
{{- if and $check.enabled (hasPrefix "*" (toString (include "probe-demo.rolloutCheckHost" .))) }}
{{- fail "rolloutCheck.host: the first of httpRoute.hostnames is a wildcard; name the host the load should ask for" }}
{{- end }}
{{- end }}

{{/* Pod-level resources bound the containers' (the API refuses the pod otherwise): each
container's limit at most the pod's, their requests together at most the pod's (which are
its limits where it names no requests). A container without a limit gets the pod's. */}}
{{- define "probe-demo.checks.podResources" -}}
{{- $v := .Values }}
{{- $pod := $v.podResources }}
{{- $containers := dict "resources" ($v.resources | default dict) }}
{{- if $v.sidecar.enabled }}
{{- $_ := set $containers "sidecar.resources" ($v.sidecar.resources | default dict) }}
{{- end }}
{{- range $resource := list "cpu" "memory" }}
{{- $podLimit := index ($pod.limits | default dict) $resource }}
{{- $podRequest := index ($pod.requests | default dict) $resource | default $podLimit }}
{{- $requested := 0.0 }}
{{- range $key, $own := $containers }}
{{- $limit := index ($own.limits | default dict) $resource }}
{{- if and $podLimit $limit (gt (float64 (include "probe-demo.quantity" $limit)) (float64 (include "probe-demo.quantity" $podLimit))) }}
{{- fail (printf "%s.limits.%s (%v) is above podResources.limits.%s (%v): a container may not have more than its pod; set %s.limits.%s to null (it then gets the pod's) or at most the pod's" $key $resource $limit $resource $podLimit $key $resource) }}
{{- end }}
{{- with index ($own.requests | default dict) $resource }}
{{- $requested = addf $requested (float64 (include "probe-demo.quantity" .)) }}
{{- end }}
{{- end }}
{{- if and $podRequest (gt $requested (float64 (include "probe-demo.quantity" $podRequest))) }}
{{- fail (printf "the containers' %s requests (resources and sidecar.resources) add up to more than podResources.requests.%s (%v; its limit when it names no request): lower them, or raise the pod's" $resource $resource $podRequest) }}
{{- end }}
{{- end }}
{{- end }}
