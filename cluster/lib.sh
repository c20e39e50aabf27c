# Shared settings for the offline cluster scripts; sourced, never run.
# shellcheck shell=bash disable=SC2034  # settings for the scripts that source this file
# Built or downloaded things live under $CACHE, keyed by version, outside the clone;
# the running cluster's files (certificates, etcd data, logs) live under $RUN.
# The one place the Kubernetes version is written (the Makefile and the tests read it too).
KUBE_VERSION="${KUBE_VERSION:-$(cat "$(dirname "${BASH_SOURCE[0]}")/kubernetes-version")}"
KUBE_MINOR="${KUBE_VERSION#v1.}"; KUBE_MINOR="${KUBE_MINOR%%.*}"  # 35 for v1.35.4
# containerd, built from the Go module proxy (cluster/build-containerd.sh): 2.3+ honours a
# container's lifecycle.stopSignal. Still runs on cgroup v1 (deprecated, kept until 2029).
CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.12.4}"
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-v0.9.0}"
PAUSE_IMAGE="registry.k8s.io/pause:3.10"
# The front door: Traefik (k3s's default controller; Gateway API v1.4.0 Standard) and the
# Gateway API CRDs it implements, which the chart's routes are also checked against. Only
# some Traefik versions resolve on the module proxy here; v3.7 does not build.
TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.25}"
GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-v1.4.0}"
# Feature gates of the API server and the kubelets: every gate the chart uses, from the
# first minor that has its feature (the chart's table, templates/_kubernetes.tpl, is the one
# place they are written; a gate a version does not know would stop its components):
# ContainerRestartRules (1.34), ContainerStopSignals (1.33), H2CContainerProbe (1.37).
FEATURE_GATES="" FEATURE_GATES_YAML=""
while read -r gate minor; do
  if (( KUBE_MINOR >= minor )); then
    FEATURE_GATES+="${FEATURE_GATES:+,}$gate=true"
    FEATURE_GATES_YAML+="${FEATURE_GATES_YAML:+, }$gate: true"
  fi
done < <(sed -n 's/^[a-zA-Z0-9]*: {minor: \([0-9]*\), .*gate: \([A-Za-z0-9]*\).*/\2 \1/p' \
  "$(dirname "${BASH_SOURCE[0]}")/../charts/probe-demo/templates/_kubernetes.tpl")
unset gate minor
# The kubelet's longest CrashLoopBackOff delay (300 s by default), where it may be set
# (KubeletCrashLoopBackOffMax: beta and on from 1.35): short, so the crashloop scenario
# shows the back-off reach its cap within a minute.
CRASHLOOP_MAX_RESTART_PERIOD="20s"
COREDNS_IMAGE="probe-demo.local/coredns:$COREDNS_VERSION"
METRICS_SERVER_IMAGE="probe-demo.local/metrics-server:$METRICS_SERVER_VERSION"
TRAEFIK_IMAGE="probe-demo.local/traefik:$TRAEFIK_VERSION"

CACHE="${DEMO_CACHE_DIR:-$HOME/.cache/probe-demo}"
K8S_BIN="$CACHE/kubernetes/$KUBE_VERSION/bin"
CONTAINERD_BIN="$CACHE/containerd/$CONTAINERD_VERSION/bin"
ADDONS_DIR="$CACHE/addons"
RUN="${DEMO_RUN_DIR:-/var/lib/probe-demo-cluster}"
KUBECONFIG_ADMIN="$RUN/admin.kubeconfig"
CONTAINERD_SOCK="$RUN/containerd/containerd.sock"

# The node's address is an extra address on the loopback interface, so the cluster never
# depends on (or sends to) the machine's real network.
NODE_NAME="probe-demo-node"
NODE_IP="10.213.0.1"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SERVICE_IP="10.96.0.1"
DNS_SERVICE_IP="10.96.0.10"
POD_CIDR="10.244.0.0/16"
CNI_BRIDGE="pdemo-br0"
# Extra nodes (node-daemons.sh): `make cluster-up NODES=3` adds nodes 2 and 3, each a
# network namespace at ${NODES_SUBNET%.*}.N on the bridge $NODES_BRIDGE, where the machine
# (node 1) is $NODES_GATEWAY and serves the image registry to them. Only pods that
# tolerate $EXTRA_NODE_TAINT (the multi-node tests) run there.
NODES="${NODES:-1}"
NODES_MAX=9
NODES_BRIDGE="pdemo-nodes"
NODES_SUBNET="10.213.1.0/24"
NODES_GATEWAY="${NODES_SUBNET%.*}.1"  # node N is ${NODES_SUBNET%.*}.N
NODES_REGISTRY="$NODES_GATEWAY:5000"
EXTRA_NODE_TAINT="probe-demo.local/extra-node"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# build_go_commands WHAT VERSION MODULE_DIR OUT LDFLAGS PACKAGE_PREFIX WRITE_GO_MOD NAME...:
# each PACKAGE_PREFIX/NAME not yet in OUT is built, without cgo, in the wrapper module
# MODULE_DIR, whose go.mod the function WRITE_GO_MOD writes there (called only when there is
# something to build). The build-*.sh scripts use it.
build_go_commands() {
  local what=$1 version=$2 mod=$3 out=$4 ldflags=$5 prefix=$6 write_go_mod=$7 name missing=()
  shift 7
  for name in "$@"; do [[ -x "$out/$name" ]] || missing+=("$name"); done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "$what $version cached in $out"
    return 0
  fi
  mkdir -p "$out" "$mod"
  "$write_go_mod" "$mod/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for name in "$@"; do printf '\t_ "%s/%s"\n' "$prefix" "$name"; done
    printf ')\n'
  } > "$mod/tools.go"
  log "resolving $what $version module graph"
  (cd "$mod" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1) || true
  (cd "$mod" && GOFLAGS=-mod=mod go mod download)
  for name in "${missing[@]}"; do
    log "building $name $version (a few minutes on 2 cores when cold)"
    (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" \
      -o "$out/$name.tmp" "$prefix/$name")
    mv "$out/$name.tmp" "$out/$name"
  done
  log "$what $version ready in $out"
}

kubectl() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
# Every process the cluster starts (daemons, and the containerd shims they start) lives in
# this cgroup, so cluster-down stops exactly those: no matching of command lines.
if [[ -d /sys/fs/cgroup/pids ]]; then
  CLUSTER_CGROUP=/sys/fs/cgroup/pids/probe-demo-cluster  # cgroup v1: the pids hierarchy
else
  CLUSTER_CGROUP=/sys/fs/cgroup/probe-demo-cluster  # cgroup v2: the unified hierarchy
fi
# Quiet about cgroup v1's deprecation, which every ctr call would repeat (containerd's log
# has it).
ctr() { CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=true "$CONTAINERD_BIN/ctr" "$@"; }
ctr_k8s() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND until it succeeds or time runs out.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 1
  done
}
