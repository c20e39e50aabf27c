#!/usr/bin/env bash
# Brings up a Kubernetes cluster (one node, or NODES of them on this machine) from parts
# reachable offline: Debian's etcd, runc and CNI plugins, and Kubernetes and containerd
# binaries built from the Go module proxy.
# Idempotent: components already running are left alone. `cluster/down.sh` undoes it all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=node-daemons.sh
source "$here/node-daemons.sh"

[[ $EUID -eq 0 ]] || die "cluster-up needs root (containerd, kubelet and iptables do)"
for tool in etcd runc openssl iptables conntrack buildah docker-registry; do
  command -v "$tool" >/dev/null || die "$tool is missing: run 'make deps' first"
done
[[ -x /usr/lib/cni/bridge ]] || die "CNI plugins are missing: run 'make deps' first"
if ! [[ $NODES =~ ^[0-9]+$ ]] || ((NODES < 1 || NODES > NODES_MAX)); then
  die "NODES=$NODES: the number of nodes, 1 (the machine alone) to $NODES_MAX"
fi

bash "$here/build-kubernetes.sh"
bash "$here/build-containerd.sh"
bash "$here/build-addons.sh"
mkdir -p "$RUN/logs" "$RUN/pids" "$RUN/bin"
# The ctr that speaks to this cluster's containerd, for whoever needs one (the image tests).
ln -sfn "$CONTAINERD_BIN/ctr" "$RUN/bin/ctr"

prepare_host() {
  # Modules may be built in (no modprobe at all on some VMs); what matters is the sysctl.
  modprobe overlay 2>/dev/null || true
  modprobe br_netfilter 2>/dev/null || true
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  # kubelet wants every cgroup v1 controller it manages to be mounted.
  controllers=(hugetlb)
  for controller in "${controllers[@]}"; do
    if [[ ! -d /sys/fs/cgroup/$controller ]]; then
      mkdir -p "/sys/fs/cgroup/$controller"
      mount -t cgroup -o "$controller" cgroup "/sys/fs/cgroup/$controller"
    fi
  done
  if ! ip -4 addr show dev lo | grep -q " $NODE_IP/"; then
    ip addr add "$NODE_IP/32" dev lo
  fi
  # Service IPs exist only as kube-proxy's NAT rules: anything else sent to them stops here
  # instead of following the default route off the machine.
  ip route replace blackhole "$SERVICE_CIDR"
}

# The image registry on loopback: `make image` pushes there and containerd pulls from it.
# Its storage is in the cache, so images outlive the cluster.
start_registry() {
  mkdir -p "$CACHE/registry"
  write_config "$RUN/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: "$CACHE/registry"}, delete: {enabled: true}}
http: {addr: "127.0.0.1:5000"}
YAML
  start registry docker-registry serve "$RUN/registry.yml"
  wait_for 30 "the registry" curl -fsS http://127.0.0.1:5000/v2/
}

start_etcd() {
  start etcd etcd --name probe-demo --data-dir "$RUN/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --quota-backend-bytes 2147483648
  wait_for 60 etcd curl -fsS http://127.0.0.1:2379/health
}

start_apiserver() {
  local pki="$RUN/pki"
  start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers http://127.0.0.1:2379 \
    --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port 6443 \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$pki/ca.crt" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --service-account-key-file "$pki/service-account.pub" \
    --service-account-signing-key-file "$pki/service-account.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --authorization-mode Node,RBAC --allow-privileged=true \
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --requestheader-group-headers X-Remote-Group \
    --requestheader-username-headers X-Remote-User \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" \
    --proxy-client-key-file "$pki/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --feature-gates "$FEATURE_GATES"
  wait_for 120 kube-apiserver kubectl get --raw /readyz
}

start_controllers() {
  local pki="$RUN/pki"
  start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$RUN/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$RUN/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$RUN/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$pki/service-account.key" \
    --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --horizontal-pod-autoscaler-sync-period 5s
  start kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$RUN/scheduler.kubeconfig" \
    --authentication-kubeconfig "$RUN/scheduler.kubeconfig" \
    --authorization-kubeconfig "$RUN/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false
}

start_addons() {
  sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|" -e "s|@DNS_SERVICE_IP@|$DNS_SERVICE_IP|" \
    -e "s|@METRICS_SERVER_IMAGE@|$METRICS_SERVER_IMAGE|" \
    "$here/addons.yaml" | kubectl apply -f - >/dev/null
  kubectl -n kube-system rollout status deployment/coredns --timeout 180s >/dev/null
  kubectl -n kube-system rollout status deployment/metrics-server --timeout 180s >/dev/null
  wait_for 180 "the metrics API" kubectl top node
}

# The front door: the Gateway API CRDs (standard channel, from the gateway-api module at the
# version Traefik implements), then Traefik with its Gateway and IngressClass.
start_front_door() {
  local crds
  crds=$(cd "$RUN" && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/config/crd/standard
  [[ -d "$crds" ]] || die "Gateway API $GATEWAY_API_VERSION CRDs not found at $crds"
  kubectl apply --server-side -f "$crds" >/dev/null
  kubectl wait --for condition=Established --timeout 60s -f "$crds" >/dev/null
  sed -e "s|@TRAEFIK_IMAGE@|$TRAEFIK_IMAGE|" "$here/front-door.yaml" | kubectl apply -f - >/dev/null
  kubectl -n traefik rollout status deployment/traefik --timeout 180s >/dev/null
  wait_for 60 "the front-door Gateway" kubectl -n traefik wait --for condition=Programmed \
    gateway/front-door --timeout 5s
}

prepare_host
start_registry
bash "$here/certs.sh"
start_etcd
start_apiserver
start_controllers
start_node 1
start_addons
start_front_door
for ((n = 2; n <= NODES; n++)); do bash "$here/node.sh" up "$n"; done
running=$(extra_nodes | wc -l)
if ((running + 1 > NODES)); then
  log "this cluster has $((running + 1)) nodes (NODES=$NODES adds none; cluster/node.sh down N removes one)"
fi
log "cluster ready: export KUBECONFIG=$KUBECONFIG_ADMIN"
