#!/usr/bin/env bash
# Drives one node of the offline cluster: adds or removes an extra node, and does to a node
# what real clusters do to theirs, for the multi-node tests and guides (docs/several-nodes.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=node-daemons.sh
source "$here/node-daemons.sh"

usage() {
  cat >&2 <<'TEXT'
usage: cluster/node.sh COMMAND N    (N: the node's number or name, e.g. 3 or probe-demo-node-3)
  up N               add node N (2 and up): network namespace, containerd, kubelet, kube-proxy
  down N             remove node N and everything it made
  stop-kubelet N     stop node N's kubelet (the node goes NotReady after the grace period)
  start-kubelet N    start it again
  restart-kubelet N  stop and start it
  pause-proxy N      freeze node N's kube-proxy: its Service rules stay as they are
  resume-proxy N     let it catch up
  freeze N           freeze every process of node N, pods and daemons (a hung machine)
  thaw N             thaw them
  partition N        cut node N off the network (its pods keep running)
  heal N             connect it again
TEXT
  exit 2
}

(($# == 2)) || usage
command=$1 n=$2
# A node's name does as well as its number (probe-demo-node-3 is 3).
[[ $n == "$NODE_NAME" ]] && n=1
[[ $n == "$NODE_NAME-"* ]] && n=${n#"$NODE_NAME-"}
if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > NODES_MAX)); then
  die "node '$2': a node number, 1 (the machine) to $NODES_MAX, or its name"
fi
[[ $EUID -eq 0 ]] || die "cluster/node.sh needs root"
extra_only() {
  ((n > 1)) || die "$command: node 1 is the machine itself and the control plane; choose 2..$NODES_MAX"
}
frozen() { [[ $(cat "$(freezer)/freezer.state" 2>/dev/null) == FROZEN ]]; }
not_frozen() {
  ! frozen || die "$command: node $n is frozen, and a frozen process cannot stop: thaw it first"
}
exists() {
  if ((n == 1)); then
    [[ -f $RUN/pids/kubelet.pid || -f $RUN/pids/containerd.pid ]]
  else
    [[ -d $(node_dir "$n") ]]
  fi || die "$command: node $n is not part of this cluster (make cluster-up NODES=$n)"
}
freezer() { echo "/sys/fs/cgroup/freezer/$(node_cgroup "$n")"; }
pid_of() {
  local pidfile
  pidfile="$RUN/pids/$(daemon "$1" "$n").pid"
  [[ -f $pidfile ]] || die "$command: node $n's $1 is not running"
  cat "$pidfile"
}

node_network_up() {
  local netns veth ip
  netns=$(node_netns "$n") veth=$(node_veth "$n") ip=$(node_ip "$n")
  if ! ip link show "$NODES_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODES_BRIDGE" type bridge
    ip addr add "$NODES_GATEWAY/${NODES_SUBNET#*/}" dev "$NODES_BRIDGE"
  fi
  ip link set "$NODES_BRIDGE" up
  [[ -e /run/netns/$netns ]] || ip netns add "$netns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$netns"
  fi
  ip link set "$veth" master "$NODES_BRIDGE"
  ip -n "$netns" addr replace "$ip/${NODES_SUBNET#*/}" dev eth0
  ip link set "$veth" up
  ip -n "$netns" link set lo up
  ip -n "$netns" link set eth0 up
  ip -n "$netns" route replace default via "$NODES_GATEWAY"
  # A namespace starts with forwarding off and its own bridge-netfilter switch.
  on_netns sysctl -qw net.ipv4.ip_forward=1
  on_netns sysctl -qw net.bridge.bridge-nf-call-iptables=1
  # The node's pods are reached through it; the machine routes between nodes.
  ip route replace "$(node_pod_cidr "$n")" via "$ip" dev "$NODES_BRIDGE"
  # Three kubelets watch every cgroup and log with inotify (kind raises these too).
  sysctl -qw fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288
}
on_netns() { nsenter --net="/run/netns/$(node_netns "$n")" -- "$@"; }

# The node's cgroupRoot in every hierarchy (cpuset needs its cpus and mems filled in), and
# a freezer cgroup for its daemons beside its pods, so freezing the node freezes both.
node_cgroups_up() {
  local hierarchy dir
  for hierarchy in /sys/fs/cgroup/*/; do
    dir="$hierarchy$(node_cgroup "$n")"
    mkdir -p "$dir"
    if [[ -f $hierarchy/cpuset.cpus ]]; then
      cat "$hierarchy/cpuset.cpus" > "$dir/cpuset.cpus"
      cat "$hierarchy/cpuset.mems" > "$dir/cpuset.mems"
    fi
  done
  mkdir -p "$(freezer)/daemons"
}

node_up() {
  extra_only
  for tool in nsenter ip; do command -v "$tool" >/dev/null || die "$tool is missing"; done
  [[ -f $RUN/pki/done ]] || die "up: the cluster is not running (make cluster-up first)"
  # The node's freeze, and the cgroupRoot in each controller's own hierarchy, are cgroup v1.
  [[ -d /sys/fs/cgroup/freezer ]] \
    || die "up: extra nodes need cgroup v1 (a freezer hierarchy); this machine has cgroup v2"
  # A node left frozen, paused or cut off by an earlier run comes back as it should be.
  if frozen; then echo THAWED > "$(freezer)/freezer.state"; fi
  if [[ -f $RUN/pids/$(daemon kube-proxy "$n").pid ]]; then
    kill -CONT "$(cat "$RUN/pids/$(daemon kube-proxy "$n").pid")" 2>/dev/null || true
  fi
  mkdir -p "$(node_dir "$n")"
  node_network_up
  node_cgroups_up
  bash "$here/certs.sh" node "$(node_name "$n")" "$(daemon kubelet "$n")"
  write_config "$RUN/registry-nodes.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: "$CACHE/registry"}
  maintenance: {readonly: {enabled: true}}
http: {addr: "$NODES_REGISTRY"}
YAML
  # The same storage as the registry `make image` pushes to, read-only, on the bridge.
  start registry-nodes docker-registry serve "$RUN/registry-nodes.yml"
  wait_for 30 "the registry for the nodes" on_netns curl -fsS "http://$NODES_REGISTRY/v2/"
  start_node "$n"
}

node_down() {
  extra_only
  set +e  # remove whatever is there; a part already gone is no error
  local sock cgroup
  [[ -d $(freezer) ]] && echo THAWED > "$(freezer)/freezer.state"
  ip link set "$(node_veth "$n")" up 2>/dev/null
  stop "$(daemon kubelet "$n")"
  stop "$(daemon kube-proxy "$n")"
  sock=$(node_sock "$n")
  if [[ -S $sock ]]; then
    for task in $(ctr --address "$sock" -n k8s.io tasks list -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks kill -s KILL "$task" 2>/dev/null
    done
  fi
  stop "$(daemon containerd "$n")"
  # What is left of the node's processes (shims, containers): all in its freezer branch.
  kill_cgroup "$(freezer)"
  unmount_under "$(node_dir "$n")"
  ip route delete "$(node_pod_cidr "$n")" 2>/dev/null
  ip link delete "$(node_veth "$n")" 2>/dev/null
  [[ -e /run/netns/$(node_netns "$n") ]] && ip netns delete "$(node_netns "$n")"
  for cgroup in /sys/fs/cgroup/*/"$(node_cgroup "$n")"; do remove_cgroup "$cgroup"; done
  "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" delete node "$(node_name "$n")" \
    --ignore-not-found --request-timeout 10s >/dev/null 2>&1
  rm -rf "$(node_dir "$n")"
  log "node $n removed"
  return 0
}

case $command in
  up) node_up ;;
  down) node_down ;;
  stop-kubelet) exists; not_frozen; stop "$(daemon kubelet "$n")" ;;
  start-kubelet) exists; not_frozen; start_kubelet "$n" ;;
  restart-kubelet) exists; not_frozen; stop "$(daemon kubelet "$n")"; start_kubelet "$n" ;;
  pause-proxy) exists; kill -STOP "$(pid_of kube-proxy)" ;;
  resume-proxy) exists; kill -CONT "$(pid_of kube-proxy)" ;;
  freeze) extra_only; exists; echo FROZEN > "$(freezer)/freezer.state" ;;
  thaw) extra_only; exists; echo THAWED > "$(freezer)/freezer.state" ;;
  partition) extra_only; exists; ip link set "$(node_veth "$n")" down ;;
  heal) extra_only; exists; ip link set "$(node_veth "$n")" up ;;
  *) usage ;;
esac
