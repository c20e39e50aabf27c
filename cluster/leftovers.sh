#!/usr/bin/env bash
# Lists what a stopped cluster left on the machine, one line each, and fails if anything:
# processes, mounts, network namespaces, links, routes, addresses, iptables chains, cgroups
# and files. cluster-down runs it last; it reads the same names the cluster scripts use.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

found=0
left() { printf 'left behind: %s\n' "$*" >&2; found=1; }

if [[ -f $CLUSTER_CGROUP/cgroup.procs ]]; then
  while read -r pid; do left "process $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null))"
  done < "$CLUSTER_CGROUP/cgroup.procs"
fi
while read -r mount; do left "mount $mount"; done \
  < <(awk -v run="$RUN/" -v netns="/run/netns/pdemo-" \
        'index($2, run) == 1 || index($2, netns) == 1 {print $2}' /proc/mounts)
while read -r ns; do left "network namespace $ns"; done \
  < <(ip netns list 2>/dev/null | awk '/^(cni-|pdemo-)/ {print $1}')
while read -r link; do left "network link $link"; done \
  < <(ip -o link show | awk -F': ' '{sub(/@.*/, "", $2)} $2 ~ /^pdemo-/ {print $2}')
while read -r route; do left "route $route"; done \
  < <(ip route show | grep -E "^(blackhole )?(${POD_CIDR%%.0.0/*}\.|${SERVICE_CIDR%/*}|${NODES_SUBNET%/*})")
ip -4 addr show dev lo | grep -q " $NODE_IP/" && left "address $NODE_IP on lo"
for table in filter nat mangle; do
  while read -r chain; do left "iptables $table chain $chain"; done \
    < <(iptables-save -t "$table" 2>/dev/null | awk '/^:(KUBE-|CNI-)/ {print substr($1, 2)}')
done
for dir in /sys/fs/cgroup/*/probe-demo-* /sys/fs/cgroup/*/kubepods; do
  [[ -d $dir ]] && left "cgroup $dir"
done
for path in "$RUN" /var/lib/kubelet/device-plugins/kubelet.sock; do
  [[ -e $path ]] && left "file $path"
done
exit "$found"
