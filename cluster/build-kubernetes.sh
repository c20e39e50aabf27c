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

out="$K8S_BIN"
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
missing=()
for c in "${components[@]}"; do [[ -x "$out/$c" ]] || missing+=("$c"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "kubernetes $KUBE_VERSION binaries cached in $out"
  exit 0
fi

staging_version="v0.${KUBE_VERSION#v1.}"

mod="$CACHE/kubernetes/$KUBE_VERSION/module"
mkdir -p "$mod" "$out"
upstream_mod=$(cd "$mod" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
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
  for m in "${staging[@]}"; do echo "	$m => $m $staging_version"; done
  echo ")"
} > "$mod/go.mod"
cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO

cd "$mod"
log "resolving k8s.io/kubernetes $KUBE_VERSION module graph"
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
GOFLAGS=-mod=mod go mod download

pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$KUBE_MINOR"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
for c in "${missing[@]}"; do
  log "building $c $KUBE_VERSION (several minutes on 2 cores when cold)"
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$out/$c.tmp" "$out/$c"
done
log "kubernetes $KUBE_VERSION binaries ready in $out"
