#!/usr/bin/env bash
# Brings up a single-node Kubernetes cluster from parts reachable offline: Debian's etcd,
# containerd, runc and CNI plugins, and Kubernetes binaries built from the Go module proxy.
# Idempotent: components already running are left alone. `cluster/down.sh` undoes it all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

[[ $EUID -eq 0 ]] || die "cluster-up needs root (containerd, kubelet and iptables do)"
for tool in etcd containerd runc ctr openssl iptables conntrack buildah docker-registry; do
  command -v "$tool" >/dev/null || die "$tool is missing: run 'make deps' first"
done
[[ -x /usr/lib/cni/bridge ]] || die "CNI plugins are missing: run 'make deps' first"

bash "$here/build-kubernetes.sh"
bash "$here/build-addons.sh"
mkdir -p "$RUN/logs" "$RUN/pids"

# start NAME COMMAND...: run COMMAND in the background (own session, the cluster's cgroup)
# unless NAME runs.
mkdir -p "$CLUSTER_CGROUP"
start() {
  local name=$1; shift
  local pidfile="$RUN/pids/$name.pid"
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    return 0
  fi
  log "starting $name"
  # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
  setsid sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CLUSTER_CGROUP" "$@" \
    >>"$RUN/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
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

start_containerd() {
  mkdir -p "$RUN/containerd" "$RUN/cni/net.d"
  write_config "$RUN/cni/net.d/10-probe-demo.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "probe-demo",
  "plugins": [
    {
      "type": "bridge", "bridge": "$CNI_BRIDGE", "isGateway": true, "ipMasq": false,
      "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "$NODE_POD_CIDR"}]],
               "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$RUN/cni/ipam"}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
CNI
  write_config "$RUN/containerd/config.toml" <<TOML
version = 2
root = "$RUN/containerd/root"
state = "$RUN/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This VM withholds CAP_SYS_RESOURCE, so no process may lower its oom_score_adj below
  # containerd's own; the kubelet asks -998 for every pod sandbox. Clamp instead of failing.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$RUN/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RUN/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."localhost:5000"]
    endpoint = ["http://localhost:5000"]
TOML
  start containerd containerd --config "$RUN/containerd/config.toml"
  wait_for 60 containerd ctr_k8s version
  local archive
  for archive in "$ADDONS_DIR"/images/*.tar; do
    ctr_k8s images import --all-platforms "$archive" >/dev/null
  done
}

start_node() {
  local pki="$RUN/pki"
  mkdir -p "$RUN/kubelet" "$RUN/pod-logs"
  local crashloop=""
  if (( KUBE_MINOR >= 35 )); then
    crashloop="crashLoopBackOff: {maxContainerRestartPeriod: $CRASHLOOP_MAX_RESTART_PERIOD}"
  fi
  write_config "$RUN/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: "unix://$CONTAINERD_SOCK"
clusterDomain: cluster.local
clusterDNS: ["$DNS_SERVICE_IP"]
failSwapOn: false
podLogsDir: "$RUN/pod-logs"
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
$crashloop
YAML
  # Pods with dnsPolicy Default get no upstream resolver: the cluster reaches no other network.
  : > "$RUN/resolv.conf"
  start kubelet "$K8S_BIN/kubelet" --config "$RUN/kubelet-config.yaml" \
    --kubeconfig "$RUN/kubelet.kubeconfig" --root-dir "$RUN/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
  write_config "$RUN/kube-proxy-config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$RUN/kube-proxy.kubeconfig"}
mode: iptables
clusterCIDR: "$POD_CIDR"
hostnameOverride: "$NODE_NAME"
bindAddress: "$NODE_IP"
metricsBindAddress: "127.0.0.1:10249"
healthzBindAddress: "127.0.0.1:10256"
conntrack: {maxPerCore: 0}
YAML
  start kube-proxy "$K8S_BIN/kube-proxy" --config "$RUN/kube-proxy-config.yaml"
  wait_for 120 "node $NODE_NAME to register" kubectl get node "$NODE_NAME"
  kubectl wait --for condition=Ready "node/$NODE_NAME" --timeout 120s >/dev/null
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
start_containerd
start_node
start_addons
start_front_door
log "cluster ready: export KUBECONFIG=$KUBECONFIG_ADMIN"
