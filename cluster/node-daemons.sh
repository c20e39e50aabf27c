# A node's daemons (containerd, kubelet, kube-proxy) and the helpers that start and stop
# them; sourced by up.sh, node.sh and down.sh after lib.sh, never run.
# Node 1 is the machine itself (and the control plane). Node N >= 2 (`make cluster-up
# NODES=3`) is a network namespace with its own containerd, kubelet and kube-proxy, wired by
# a veth to the bridge $NODES_BRIDGE: the way kind uses containers as nodes, without a
# container engine. Its daemons start with `nsenter --net` (not `ip netns exec`, which
# mounts an empty /sys/fs/cgroup), so they share the machine's filesystem and cgroups.
# shellcheck shell=bash

# start NAME COMMAND...: run COMMAND in the background (own session, the cluster's cgroup,
# and the extra cgroup.procs files of $START_CGROUPS) unless NAME runs.
start() {
  local name=$1; shift
  local pidfile="$RUN/pids/$name.pid"
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    return 0
  fi
  log "starting $name"
  mkdir -p "$RUN/logs" "$RUN/pids" "$CLUSTER_CGROUP"
  # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
  setsid sh -c 'for procs in $0; do echo $$ > "$procs" || exit 1; done; exec "$@"' \
    "$CLUSTER_CGROUP/cgroup.procs ${START_CGROUPS:-}" "$@" \
    >>"$RUN/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  sleep 0.2
  kill -0 "$!" 2>/dev/null || die "$name did not start (see $RUN/logs/$name.log)"
}

# stop NAME: TERM, then KILL after 10 s.
stop() {
  local pidfile="$RUN/pids/$1.pid" pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -CONT "$pid" 2>/dev/null  # a paused one (node.sh pause-proxy) would not hear TERM
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true  # gone already, as it should be
  fi
  rm -f "$pidfile"
}

# Teardown, for cluster-down and for one node's `node.sh down` (neither runs with set -e).
# kill_cgroup DIR: SIGKILL every process in cgroup DIR and below it, until none is left.
kill_cgroup() {
  local pid
  [[ -d $1 ]] || return 0
  for _ in $(seq 20); do
    while read -r pid; do kill -9 "$pid" 2>/dev/null; done \
      < <(find "$1" -name cgroup.procs -exec cat {} +)
    [[ -z $(find "$1" -name cgroup.procs -exec cat {} +) ]] && return 0
    sleep 0.5
  done
}
# unmount_under DIR: every mount below DIR, deepest first, in three passes (stacked mounts).
unmount_under() {
  for _ in 1 2 3; do
    grep -o " $1/[^ ]*" /proc/mounts | sort -r | while read -r mount; do
      umount -l "$mount" 2>/dev/null
    done
  done
}
# remove_cgroup DIR: cgroup DIR and every cgroup below it, once they are empty.
remove_cgroup() {
  [[ -d $1 ]] && find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
}

# write_config FILE: stdin becomes FILE only if it differs, because kube-proxy (and others)
# exit when a config file they watch is rewritten, even with the same content.
write_config() {
  local new
  new=$(cat)
  if [[ ! -f $1 ]] || [[ "$(cat "$1")" != "$new" ]]; then
    printf '%s\n' "$new" > "$1"
  fi
}

# What makes node N itself: its name, address, pod range, files, daemons and namespace.
node_name() { if (($1 == 1)); then echo "$NODE_NAME"; else echo "$NODE_NAME-$1"; fi; }
node_ip() { if (($1 == 1)); then echo "$NODE_IP"; else echo "${NODES_SUBNET%.*}.$1"; fi; }
node_pod_cidr() { echo "${POD_CIDR%%.0.0/*}.$(($1 - 1)).0/24"; }  # 10.244.1.0/24 for node 2
node_dir() { if (($1 == 1)); then echo "$RUN"; else echo "$RUN/nodes/$1"; fi; }
daemon() { if (($2 == 1)); then echo "$1"; else echo "$1-$2"; fi; }  # kubelet, kubelet-2
node_netns() { echo "pdemo-node-$1"; }
node_veth() { echo "pdemo-veth$1"; }
node_cgroup() { echo "probe-demo-node-$1"; }  # the kubelet's cgroupRoot, in every hierarchy
node_sock() { echo "$(node_dir "$1")/containerd/containerd.sock"; }
# The extra nodes that exist now, from their files.
extra_nodes() {
  local dir
  for dir in "$RUN"/nodes/*/; do
    if [[ -d $dir ]]; then basename "$dir"; fi
  done | sort -n
}
# in_node N: the words that run a command in node N's network namespace (none for node 1),
# one a line, for `mapfile`.
in_node() {
  ((${1} == 1)) || printf '%s\n' nsenter "--net=/run/netns/$(node_netns "$1")" --
}
# The cgroup.procs files that put a daemon of node N in its freezer cgroup (node.sh freeze).
node_daemon_cgroups() {
  ((${1} == 1)) || echo "/sys/fs/cgroup/freezer/$(node_cgroup "$1")/daemons/cgroup.procs"
}

start_containerd() {
  local n=$1 dir registry="http://localhost:5000" prefix
  dir=$(node_dir "$n")
  # A node's own loopback is not the machine's: it pulls from the registry's node-facing
  # listener.
  ((n == 1)) || registry="http://$NODES_REGISTRY"
  mkdir -p "$dir/containerd" "$dir/cni/net.d"
  write_config "$dir/cni/net.d/10-probe-demo.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "probe-demo",
  "plugins": [
    {
      "type": "bridge", "bridge": "$CNI_BRIDGE", "isGateway": true, "ipMasq": false,
      "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "$(node_pod_cidr "$n")"}]],
               "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$dir/cni/ipam"}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
CNI
  # The registry, as containerd's hosts.toml names it: the mirror to pull localhost:5000 from.
  mkdir -p "$dir/containerd/certs.d/localhost:5000"
  write_config "$dir/containerd/certs.d/localhost:5000/hosts.toml" <<TOML
server = "http://localhost:5000"
[host."$registry"]
  capabilities = ["pull", "resolve"]
TOML
  write_config "$dir/containerd/config.toml" <<TOML
version = 3
root = "$dir/containerd/root"
state = "$dir/containerd/state"
[grpc]
  address = "$(node_sock "$n")"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$dir/containerd/certs.d"
[plugins."io.containerd.cri.v1.runtime"]
  # The pods' network namespaces live in the node's own state directory, not in /run/netns,
  # which "ip netns add" (an extra node) bind-mounts over itself, hiding those made before.
  netns_mounts_under_state_dir = true
  # This VM withholds CAP_SYS_RESOURCE, so no process may lower its oom_score_adj below
  # containerd's own; the kubelet asks -998 for every pod sandbox. Clamp instead of failing.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        Root = "$dir/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$dir/cni/net.d"
TOML
  mapfile -t prefix < <(in_node "$n")
  # Our shim first on its PATH: containerd looks the shim up there before beside itself.
  START_CGROUPS=$(node_daemon_cgroups "$n") start "$(daemon containerd "$n")" \
    "${prefix[@]}" env PATH="$CONTAINERD_BIN:$PATH" "$CONTAINERD_BIN/containerd" \
    --config "$dir/containerd/config.toml"
  wait_for 60 "containerd of node $n" ctr --address "$(node_sock "$n")" -n k8s.io version
  local archive
  for archive in "$ADDONS_DIR"/images/*.tar; do
    ctr --address "$(node_sock "$n")" -n k8s.io images import --all-platforms "$archive" \
      >/dev/null
  done
}

start_kubelet() {
  local n=$1 pki="$RUN/pki" dir extra="" prefix
  dir=$(node_dir "$n")
  mkdir -p "$dir/kubelet" "$dir/pod-logs"
  if (( KUBE_MINOR >= 35 )); then
    extra="crashLoopBackOff: {maxContainerRestartPeriod: $CRASHLOOP_MAX_RESTART_PERIOD}"
  fi
  if ((n > 1)); then
    # Its own branch of every cgroup hierarchy: two kubelets on /kubepods kill each other's
    # pods. Only the multi-node tests tolerate the taint; everything else stays on node 1.
    extra+=$'\n'"cgroupRoot: /$(node_cgroup "$n")"
    extra+=$'\n'"registerWithTaints: [{key: \"$EXTRA_NODE_TAINT\", effect: NoSchedule}]"
  fi
  write_config "$dir/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: "unix://$(node_sock "$n")"
clusterDomain: cluster.local
clusterDNS: ["$DNS_SERVICE_IP"]
failSwapOn: false
podLogsDir: "$dir/pod-logs"
resolvConf: "$RUN/resolv.conf"
serializeImagePulls: false
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
syncFrequency: 10s
fileCheckFrequency: 5s
featureGates: {$FEATURE_GATES_YAML}
# This VM is cgroup v1, which kubelets from 1.35 refuse unless told otherwise.
failCgroupV1: false
$extra
YAML
  # Pods with dnsPolicy Default get no upstream resolver: the cluster reaches no other network.
  [[ -f $RUN/resolv.conf ]] || : > "$RUN/resolv.conf"
  mapfile -t prefix < <(in_node "$n")
  START_CGROUPS=$(node_daemon_cgroups "$n") start "$(daemon kubelet "$n")" \
    "${prefix[@]}" "$K8S_BIN/kubelet" --config "$dir/kubelet-config.yaml" \
    --kubeconfig "$RUN/$(daemon kubelet "$n").kubeconfig" --root-dir "$dir/kubelet" \
    --cert-dir "$dir/kubelet/pki" --hostname-override "$(node_name "$n")" \
    --node-ip "$(node_ip "$n")"
}

start_kube_proxy() {
  local n=$1 dir prefix
  dir=$(node_dir "$n")
  write_config "$dir/kube-proxy-config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$RUN/kube-proxy.kubeconfig"}
mode: iptables
clusterCIDR: "$POD_CIDR"
hostnameOverride: "$(node_name "$n")"
bindAddress: "$(node_ip "$n")"
metricsBindAddress: "127.0.0.1:10249"
healthzBindAddress: "127.0.0.1:10256"
conntrack: {maxPerCore: 0}
YAML
  mapfile -t prefix < <(in_node "$n")
  START_CGROUPS=$(node_daemon_cgroups "$n") start "$(daemon kube-proxy "$n")" \
    "${prefix[@]}" "$K8S_BIN/kube-proxy" --config "$dir/kube-proxy-config.yaml"
}

# start_node N: node N's containerd, kubelet and kube-proxy, and wait until it is Ready.
start_node() {
  local n=$1 name
  name=$(node_name "$n")
  start_containerd "$n"
  start_kubelet "$n"
  start_kube_proxy "$n"
  wait_for 120 "node $name to register" kubectl get node "$name"
  kubectl wait --for condition=Ready "node/$name" --timeout 120s >/dev/null
}
