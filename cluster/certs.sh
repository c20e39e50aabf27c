#!/usr/bin/env bash
# Certificates, keys and kubeconfigs for the cluster (as in Kubernetes'
# hack/local-up-cluster.sh): one CA for everything that authenticates with client
# certificates, a front-proxy CA for the aggregation layer (metrics-server), and the
# service-account signing key. Made once per $RUN; cluster-down removes them.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

pki="$RUN/pki"
mkdir -p "$pki"
cd "$pki"

ca() { # NAME CN
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2" \
    -keyout "$1.key" -out "$1.crt" 2>/dev/null
}

# cert CA NAME SUBJECT [SUBJECT_ALT_NAMES] [EXTENDED_KEY_USAGE]
cert() {
  local ca=$1 name=$2 subject=$3 sans=${4:-} usage=${5:-clientAuth}
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$name.key" -out "$name.csr" \
    2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -n $sans ]] && echo "subjectAltName=$sans"
  } > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 3650 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

kubeconfig() { # NAME CERT
  local file="$RUN/$1.kubeconfig"
  "$K8S_BIN/kubectl" config set-cluster probe-demo --kubeconfig "$file" \
    --server "https://$NODE_IP:6443" --certificate-authority "$pki/ca.crt" --embed-certs >/dev/null
  "$K8S_BIN/kubectl" config set-credentials "$1" --kubeconfig "$file" \
    --client-certificate "$pki/$2.crt" --client-key "$pki/$2.key" --embed-certs >/dev/null
  "$K8S_BIN/kubectl" config set-context probe-demo --kubeconfig "$file" \
    --cluster probe-demo --user "$1" >/dev/null
  "$K8S_BIN/kubectl" config use-context probe-demo --kubeconfig "$file" >/dev/null
}

# `certs.sh node NAME FILE`: an extra node's kubelet identity (system:node:NAME), made once.
if [[ ${1:-} == node ]]; then
  [[ -f "$RUN/$3.kubeconfig" ]] && exit 0
  cert ca "$3" "/O=system:nodes/CN=system:node:$2"
  kubeconfig "$3" "$3"
  exit 0
fi
[[ -f "$pki/done" ]] && exit 0

ca ca probe-demo-ca
ca front-proxy-ca probe-demo-front-proxy-ca
cert ca apiserver "/CN=kube-apiserver" \
  "IP:$NODE_IP,IP:$KUBERNETES_SERVICE_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
  serverAuth
cert ca apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert ca admin "/O=system:masters/CN=probe-demo-admin"
cert ca controller-manager "/CN=system:kube-controller-manager"
cert ca scheduler "/CN=system:kube-scheduler"
cert ca kube-proxy "/CN=system:kube-proxy"
cert ca kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
cert front-proxy-ca front-proxy-client "/CN=front-proxy-client"
openssl genrsa -out service-account.key 2048 2>/dev/null
openssl rsa -in service-account.key -pubout -out service-account.pub 2>/dev/null

kubeconfig admin admin
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kube-proxy kube-proxy
kubeconfig kubelet kubelet
touch ./done
