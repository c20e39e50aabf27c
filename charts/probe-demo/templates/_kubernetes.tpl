{{/*
What the chart uses that only newer Kubernetes has: the first minor that has each, and what
it is; for a feature behind a feature gate there, the `gate` and the minor it is on by
default from (`gateOnFrom`, none while it is alpha). The one place the chart's version
thresholds and gate names are written: the cluster turns on each gate from its minor
(cluster/lib.sh), the tests tell the chart so (tests/support) and tools/chart_variants.py
writes the gates into the schema's featureGates, each reading the lines below.
*/}}
{{- define "probe-demo.kubernetesFeatures" -}}
perProbeGracePeriod: {minor: 28, what: "per-probe grace period"}
nativeSidecar: {minor: 29, what: "native sidecars: init containers with restartPolicy Always"}
preStopSleep: {minor: 30, what: "the preStop sleep action"}
preferClose: {minor: 31, what: "Service traffic distribution"}
inPlaceResize: {minor: 33, what: "in-place resize on by default"}
stopSignal: {minor: 33, what: "container stop signals", gate: ContainerStopSignals}
podLevelResources: {minor: 34, what: "pod-level resources, on by default"}
restartRules: {minor: 34, what: "container restart rules", gate: ContainerRestartRules, gateOnFrom: 35}
sameZoneOrNode: {minor: 34, what: "PreferSameZone and PreferSameNode"}
h2cProbe: {minor: 37, what: "h2c probes: HTTP/2 in cleartext", gate: H2CContainerProbe}
{{- end }}

{{/* "true" when the cluster has the feature named by the argument's "feature". */}}
{{- define "probe-demo.has" -}}
{{- $feature := index (include "probe-demo.kubernetesFeatures" .root | fromYaml) .feature }}
{{- if not $feature }}{{ fail (printf "probe-demo.has: no feature %q" .feature) }}{{ end }}
{{- if semverCompare (printf ">=1.%v-0" $feature.minor) .root.Capabilities.KubeVersion.Version }}true{{ end }}
{{- end }}

{{/*
Refuses `key` on a cluster without `feature`, in one line: an older API server, or one
without the feature's gate, would drop the field without a word. `hint` (optional) says
what to do instead. A gate counts as on when the cluster's version turns it on by default
or featureGates.<gate> says the cluster turned it on.
*/}}
{{- define "probe-demo.requires" -}}
{{- $feature := index (include "probe-demo.kubernetesFeatures" .root | fromYaml) .feature }}
{{- $version := .root.Capabilities.KubeVersion.Version }}
{{- if not (include "probe-demo.has" .) }}
{{- fail (printf "%s needs Kubernetes 1.%v or later (%s), and this cluster is %s%s" .key $feature.minor $feature.what $version (ternary (printf ": %s" .hint) "" (hasKey . "hint"))) }}
{{- end }}
{{- with $feature.gate }}
{{- $onByDefault := and $feature.gateOnFrom (semverCompare (printf ">=1.%v-0" $feature.gateOnFrom) $version) }}
{{- if not (or $onByDefault (index ($.root.Values.featureGates | default dict) .)) }}
{{- $default := ternary (printf "on by default from 1.%v" $feature.gateOnFrom) "alpha, off by default" (not (not $feature.gateOnFrom)) }}
{{- fail (printf "%s needs the %s feature gate on Kubernetes %s (%s): turn it on in the API server and the kubelets, then set featureGates.%s=true" $.key . $version $default .) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A Kubernetes quantity as a number, to compare two (the schema's quantityText shapes it):
"160Mi" -> 167772160, "500m" -> 0.5, 2 -> 2.
*/}}
{{- define "probe-demo.quantity" -}}
{{- $text := toString . }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $text }}
{{- $unit := trimPrefix $number $text }}
{{- $scale := dict "" 1.0 "m" 0.001 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 }}
{{- mulf (float64 $number) (index $scale $unit) }}
{{- end }}
