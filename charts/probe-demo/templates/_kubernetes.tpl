{{/*
What the chart uses that only newer Kubernetes has: the first minor where each is on by
default, and what it is. The one place the chart's version thresholds are written.
*/}}
{{- define "probe-demo.kubernetesFeatures" -}}
perProbeGracePeriod: {minor: 28, what: "per-probe grace period"}
nativeSidecar: {minor: 29, what: "native sidecars: init containers with restartPolicy Always"}
preStopSleep: {minor: 30, what: "the preStop sleep action"}
preferClose: {minor: 31, what: "Service traffic distribution"}
inPlaceResize: {minor: 33, what: "in-place resize on by default"}
restartRules: {minor: 34, what: "container restart rules"}
sameZoneOrNode: {minor: 34, what: "PreferSameZone and PreferSameNode"}
restartRulesByDefault: {minor: 35, what: "the ContainerRestartRules feature gate on by default"}
{{- end }}

{{/* "true" when the cluster has the feature named by the argument's "feature". */}}
{{- define "probe-demo.has" -}}
{{- $feature := index (include "probe-demo.kubernetesFeatures" .root | fromYaml) .feature }}
{{- if not $feature }}{{ fail (printf "probe-demo.has: no feature %q" .feature) }}{{ end }}
{{- if semverCompare (printf ">=1.%v-0" $feature.minor) .root.Capabilities.KubeVersion.Version }}true{{ end }}
{{- end }}

{{/*
Refuses `key` on a cluster without `feature`, in one line: an older API server would drop
the field without a word. `hint` (optional) says what to do instead.
*/}}
{{- define "probe-demo.requires" -}}
{{- if not (include "probe-demo.has" .) }}
{{- $feature := index (include "probe-demo.kubernetesFeatures" .root | fromYaml) .feature }}
{{- fail (printf "%s needs Kubernetes 1.%v or later (%s), and this cluster is %s%s" .key $feature.minor $feature.what .root.Capabilities.KubeVersion.Version (ternary (printf ": %s" .hint) "" (hasKey . "hint"))) }}
{{- end }}
{{- end }}
