#!/usr/bin/env bash
# Tears the cluster down and leaves nothing behind: processes, container shims, mounts,
# network namespaces, iptables rules, the bridge and dummy interface, and $RUN itself.
# The cache (binaries, images) stays, so the next cluster-up takes seconds.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=node-daemons.sh
source "$(dirname "$0")/node-daemons.sh"

[[ $EUID -eq 0 ]] || die "cluster-down needs root"

# The extra nodes first, each with everything it made (thawed and healed first).
for n in $(extra_nodes); do bash "$(dirname "$0")/node.sh" down "$n"; done
stop registry-nodes
ip link delete "$NODES_BRIDGE" 2>/dev/null

# The kubelet first, so that it restarts nothing while containers go.
for name in kubelet kube-proxy kube-scheduler kube-controller-manager; do stop "$name"; done

# Every container of this cluster runs under a shim started by our containerd.
if [[ -S $CONTAINERD_SOCK ]]; then
  for task in $(ctr_k8s tasks list -q 2>/dev/null); do ctr_k8s tasks kill -s KILL "$task" 2>/dev/null; done
fi
stop containerd
stop kube-apiserver
stop etcd
stop registry
# What is left in the cluster's cgroup: the containerd shims, and anything a crashed run
# left without a pid file.
kill_cgroup "$CLUSTER_CGROUP"
# The containers of node 1 that ctr could not kill (no ctr: its cache was emptied while the
# cluster ran), in the cgroups node 1's kubelet made. Nothing else is touched.
for hierarchy in /sys/fs/cgroup/*/; do kill_cgroup "${hierarchy}kubepods"; done

# Mounts below $RUN (overlay roots, shm, volumes) and the pods' network namespaces.
unmount_under "$RUN"
for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do ip netns delete "$ns"; done

# iptables: kube-proxy's KUBE-* chains and the CNI plugins' CNI-* chains, in every table.
for table in filter nat mangle; do
  iptables-save -t "$table" 2>/dev/null | grep -- '^-A' | grep -E 'KUBE-|CNI-' \
    | sed 's/^-A/-D/' | while read -r rule; do
      eval "iptables -t $table $rule" 2>/dev/null
    done
  for chain in $(iptables-save -t "$table" 2>/dev/null | awk '/^:(KUBE-|CNI-)/ {print substr($1, 2)}'); do
    iptables -t "$table" -F "$chain" 2>/dev/null
  done
  for chain in $(iptables-save -t "$table" 2>/dev/null | awk '/^:(KUBE-|CNI-)/ {print substr($1, 2)}'); do
    iptables -t "$table" -X "$chain" 2>/dev/null
  done
done

ip link delete "$CNI_BRIDGE" 2>/dev/null
ip addr delete "$NODE_IP/32" dev lo 2>/dev/null
ip route delete blackhole "$SERVICE_CIDR" 2>/dev/null
# Whatever the kubelet left in the cgroup hierarchy (kubepods).
for hierarchy in /sys/fs/cgroup/*/; do remove_cgroup "${hierarchy}kubepods"; done
# Our own cgroups, once empty: the cluster's, and those `ctr run` made for the image tests.
for dir in "$CLUSTER_CGROUP" /sys/fs/cgroup/*/probe-demo-*; do remove_cgroup "$dir"; done
rm -rf "$RUN"
# The kubelet keeps its device-plugin socket at a fixed path, whatever its root directory;
# the directories go only if nothing else is in them.
# Before --cert-dir, ours also left its self-signed serving certificate in /var/lib/kubelet/pki.
rm -f /var/lib/kubelet/device-plugins/kubelet.sock
if openssl x509 -noout -subject -in /var/lib/kubelet/pki/kubelet.crt 2>/dev/null \
    | grep -q "$NODE_NAME@"; then
  rm -f /var/lib/kubelet/pki/kubelet.crt /var/lib/kubelet/pki/kubelet.key
fi
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet/pki /var/lib/kubelet 2>/dev/null
if ! bash "$(dirname "$0")/leftovers.sh"; then
  die "cluster-down left the above behind"
fi
log "cluster down"
