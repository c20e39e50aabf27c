#!/usr/bin/env bash
# Builds the Kubernetes server and client binaries from the Go module proxy.
# k8s.io/kubernetes points its staging modules at ./staging via replace directives,
# so `go install k8s.io/kubernetes/cmd/...@v` is refused; a wrapper module that
# replaces each staging module with its published v0.x twin builds them instead. The
# staging modules are read from that version's own go.mod (each minor adds some).
# Output: $CACHE/kubernetes/$KUBE_VERSION/bin/{kube-apiserver,...,kubectl}. Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# go.mod FILE: k8s.io/kubernetes with each staging module replaced by its published twin.
write_go_mod() {
  local upstream_mod staging m
  upstream_mod=$(cd "$(dirname "$1")" && GOFLAGS=-mod=mod go mod download -json \
    "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  mapfile -t staging < <(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$upstream_mod")
  [[ ${#staging[@]} -gt 0 ]] || die "no staging modules in $upstream_mod"
  {
    echo "module probe-demo.local/kubernetes-build"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    for m in "${staging[@]}"; do echo "	$m => $m v0.${KUBE_VERSION#v1.}"; done
    echo ")"
  } > "$1"
}

pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$KUBE_MINOR"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
build_go_commands kubernetes "$KUBE_VERSION" "$CACHE/kubernetes/$KUBE_VERSION/module" "$K8S_BIN" \
  "$ldflags" k8s.io/kubernetes/cmd write_go_mod \
  kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
