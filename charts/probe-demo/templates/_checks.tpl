{{/*
Settings that each render fine but cannot work together. Each `fail` names the values
involved and what would go wrong; deployment.yaml includes this first.
*/}}
{{- define "probe-demo.checks" -}}
{{- $v := .Values }}
{{- $s := $v.server }}
{{- $httpPort := int (include "probe-demo.port" .) }}
{{- $drain := float64 (include "probe-demo.drainSeconds" .) }}

{{- /* Renamed values: say the new name rather than let the old one be ignored. */}}
{{- if hasKey $s "gracefulTimeout" }}
{{- fail "server.gracefulTimeout was renamed server.gracefulTimeoutSeconds in chart 2.0.0" }}
{{- end }}

{{- /* Ports: the server refuses to start when HTTP and gRPC share one. */}}
{{- if and $s.grpcPort (eq (int $s.grpcPort) $httpPort) }}
{{- fail (printf "server.grpcPort (%v) is also the HTTP port (server.port, or the %s variant's own when unset): give gRPC health its own port, or set server.grpcPort to 0 to turn it off" $s.grpcPort $s.variant) }}
{{- end }}

{{- /* Threads: /work must not be able to take every thread from the probes. */}}
{{- if le (int $s.threads) (int $s.workConcurrency) }}
{{- fail (printf "server.threads (%v) must be above server.workConcurrency (%v): otherwise /work can take every thread and the probes wait behind it" $s.threads $s.workConcurrency) }}
{{- end }}

{{- /* Termination: the kubelet kills the container once the grace period is over. */}}
{{- $preStop := ternary (int $v.rollout.preStop.sleepSeconds) 0 $v.rollout.preStop.enabled }}
{{- /* The margin: the server takes up to a second past its graceful timeout to exit, and
       the kubelet's own steps take time too. */}}
{{- $margin := 2 }}
{{- $needed := add $preStop (ceil $drain) (ceil $s.gracefulTimeoutSeconds) $margin }}
{{- if lt (int $v.rollout.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "rollout.terminationGracePeriodSeconds (%v) must be at least rollout.preStop.sleepSeconds (%v) + server.drainSeconds (%v) + server.gracefulTimeoutSeconds (%v) + %v s to stop = %v: otherwise the kubelet kills the server mid-drain and requests in flight are lost" $v.rollout.terminationGracePeriodSeconds $preStop $drain $s.gracefulTimeoutSeconds $margin $needed) }}
{{- end }}

{{- /* Probes: each must reach a port the server listens on. */}}
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
{{- if and (eq $probe.type "http") $onGrpc }}
{{- fail (printf "%s points an HTTP probe at the gRPC port: use type grpc, or port http" $key) }}
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

{{- /* Start-up: a startup probe that gives up before the server is ready restarts it forever. */}}
{{- $startup := $v.probes.startup }}
{{- if and $startup.enabled $s.startupSeconds }}
{{- $allows := add $startup.initialDelaySeconds (mul $startup.periodSeconds $startup.failureThreshold) }}
{{- if le (int $allows) (int (ceil $s.startupSeconds)) }}
{{- fail (printf "probes.startup gives up after %v s (initialDelaySeconds + periodSeconds × failureThreshold) but server.startupSeconds is %v: the container would be restarted before it ever starts" $allows $s.startupSeconds) }}
{{- end }}
{{- end }}

{{- /* HPA: utilisation is a share of the request, so the request must be there. */}}
{{- if $v.autoscaling.enabled }}
{{- $requests := ($v.resources.requests | default dict) }}
{{- if and $v.autoscaling.targetCPUUtilizationPercentage (not $requests.cpu) }}
{{- fail "autoscaling.targetCPUUtilizationPercentage needs resources.requests.cpu: the HPA computes CPU utilisation as a share of the request" }}
{{- end }}
{{- if and $v.autoscaling.targetMemoryUtilizationPercentage (not $requests.memory) }}
{{- fail "autoscaling.targetMemoryUtilizationPercentage needs resources.requests.memory: the HPA computes memory utilisation as a share of the request" }}
{{- end }}
{{- end }}

{{- /* PDB: a budget that allows no disruption blocks every node drain for good. */}}
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

{{- /* Lifecycle features: each needs a Kubernetes recent enough to honour it; an older API
server would drop the field without a word, so the chart says so instead. */}}
{{- $kube := .Capabilities.KubeVersion.Version }}
{{- if and (eq (toString $v.sidecar.native) "true") (not (semverCompare ">=1.29-0" $kube)) }}
{{- fail (printf "sidecar.native=true needs Kubernetes 1.29 or later (native sidecars: init containers with restartPolicy Always), and this cluster is %s: set sidecar.native=false" $kube) }}
{{- end }}
{{- if and $v.resizePolicy (not (semverCompare ">=1.33-0" $kube)) }}
{{- fail (printf "resizePolicy needs Kubernetes 1.33 or later (in-place resize on by default), and this cluster is %s: leave resizePolicy empty" $kube) }}
{{- end }}
{{- if $v.restartRules.doNotRestartOnExitCodes }}
{{- if not (semverCompare ">=1.34-0" $kube) }}
{{- fail (printf "restartRules.doNotRestartOnExitCodes needs Kubernetes 1.34 or later (container restart rules), and this cluster is %s" $kube) }}
{{- else if and (not (semverCompare ">=1.35-0" $kube)) (not $v.restartRules.featureGateEnabled) }}
{{- fail (printf "restartRules.doNotRestartOnExitCodes needs the ContainerRestartRules feature gate on Kubernetes %s (it is on by default from 1.35): turn it on in the API server and kubelets, then set restartRules.featureGateEnabled=true" $kube) }}
{{- end }}
{{- end }}
{{- if not (kindIs "invalid" $v.probes.readiness.terminationGracePeriodSeconds) }}
{{- fail "probes.readiness.terminationGracePeriodSeconds: Kubernetes allows it only on liveness and startup probes (a failed readiness probe kills nothing)" }}
{{- end }}
{{- range $name := list "liveness" "startup" }}
{{- $probe := index $v.probes $name }}
{{- if and $probe.enabled (not (kindIs "invalid" $probe.terminationGracePeriodSeconds)) (not (semverCompare ">=1.28-0" $kube)) }}
{{- fail (printf "probes.%s.terminationGracePeriodSeconds needs Kubernetes 1.28 or later (per-probe grace period), and this cluster is %s" $name $kube) }}
{{- end }}
{{- end }}

{{- end }}
