#!/usr/bin/env bash
# Installs the chart tool chain into $CACHE/tools (outside the clone), each keyed by version,
# from the Go module proxy; prints nothing new and takes about a second when all is there.
#   helm (and Helm 4 as helm4), the helm-unittest plugin (built from its module, installed as
#   a local plugin dir), chart-testing (ct; its config files are in the repository's ct/),
#   kubeconform, helm-docs, actionlint (for the GitHub workflow users get).
set -euo pipefail
# shellcheck source=../cluster/lib.sh
source "$(dirname "$0")/../cluster/lib.sh"

HELM_VERSION=v3.22.0
HELM4_VERSION=v4.3.1
HELM_UNITTEST_VERSION=v1.1.2
CT_VERSION=v3.14.0
KUBECONFORM_VERSION=v0.8.0
HELM_DOCS_VERSION=v1.14.2
ACTIONLINT_VERSION=v1.7.12
PROMETHEUS_OPERATOR_VERSION=v0.90.1
TOOLS="$CACHE/tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

# upstream_go_mod MODULE VERSION: the path of that module version's go.mod (downloaded).
upstream_go_mod() {
  (cd "$TOOLS" && go mod download -json "$1@$2") \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'
}

# go_tool NAME MODULE PACKAGE VERSION [LDFLAGS]: builds PACKAGE of MODULE@VERSION.
# Through a wrapper module rather than `go install pkg@version`, because the module proxy
# here refuses some modules' version lists, which `go install` reads for deprecations.
# The wrapper repeats the module's own replace directives (those not pointing into its tree).
# The cache key holds the ldflags too, so a change to them rebuilds the tool.
go_tool() {
  local name=$1 module=$2 package=$3 version=$4 ldflags=${5:-}
  local dir="$TOOLS/$name-$version"
  [[ -z "$ldflags" ]] || dir+="-$(printf '%s' "$ldflags" | sha256sum | cut -c1-8)"
  if [[ ! -x "$dir/$name" ]]; then
    log "installing $name $version"
    mkdir -p "$dir/module"
    printf 'module probe-demo.local/%s\n\ngo 1.24\n\nrequire %s %s\n' \
      "$name" "$module" "$version" > "$dir/module/go.mod"
    local upstream
    upstream=$(upstream_go_mod "$module" "$version")
    awk '/^replace \(/ {block=1; next} block && /^\)/ {block=0; next}
         block {print "replace " $0; next} /^replace / {print}' "$upstream" \
      | grep -v -- '=> \.' >> "$dir/module/go.mod" || true
    (cd "$dir/module" && GOFLAGS=-mod=mod CGO_ENABLED=0 \
      go build -trimpath -ldflags "-s -w $ldflags" -o "$dir/$name" "$package")
  fi
  ln -sfn "$dir/$name" "$BIN/$name"
}

# helm's release ldflags (its Makefile): the version, and the Kubernetes version `helm template`
# and `helm lint` assume without a cluster, 1.N for the k8s.io/client-go v0.N it is built with
# (left out, helm would assume v1.20 and refuse charts that need a newer Kubernetes).
helm_client_go=$(awk '$1 == "k8s.io/client-go" {print $2}' \
  "$(upstream_go_mod helm.sh/helm/v3 "$HELM_VERSION")")
helm_kube_minor=$(cut -d. -f2 <<<"$helm_client_go")
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in pkg/chartutil pkg/lint/rules; do
  helm_ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1"
  helm_ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$helm_kube_minor"
done
go_tool helm helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "$helm_ldflags"
# Helm 4 as `helm4`, for the chart's compatibility tests (helm 4 reads its Kubernetes
# version from the client-go it is built with, at run time).
go_tool helm4 helm.sh/helm/v4 helm.sh/helm/v4/cmd/helm "$HELM4_VERSION" \
  "-X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
go_tool ct github.com/helm/chart-testing/v3 github.com/helm/chart-testing/v3/ct "$CT_VERSION" \
  "-X github.com/helm/chart-testing/v3/ct/cmd.Version=$CT_VERSION"
go_tool kubeconform github.com/yannh/kubeconform github.com/yannh/kubeconform/cmd/kubeconform \
  "$KUBECONFORM_VERSION"
go_tool helm-docs github.com/norwoodj/helm-docs github.com/norwoodj/helm-docs/cmd/helm-docs \
  "$HELM_DOCS_VERSION"
go_tool actionlint github.com/rhysd/actionlint github.com/rhysd/actionlint/cmd/actionlint \
  "$ACTIONLINT_VERSION"
go_tool helm-unittest github.com/helm-unittest/helm-unittest \
  github.com/helm-unittest/helm-unittest/cmd/helm-unittest "$HELM_UNITTEST_VERSION"

# helm-unittest as a plugin helm finds offline: its plugin.yaml from the module, our binary.
plugins="$TOOLS/helm-plugins"
unittest_dir="$plugins/helm-unittest"
if [[ ! -f "$unittest_dir/plugin.yaml" ]] || ! grep -q "${HELM_UNITTEST_VERSION#v}" "$unittest_dir/plugin.yaml"; then
  src=$(go env GOMODCACHE)/github.com/helm-unittest/helm-unittest@$HELM_UNITTEST_VERSION
  mkdir -p "$unittest_dir"
  # Keep only what runs the binary: no install/update hooks that would download one.
  sed -e '/^platformHooks:/,$d' "$src/plugin.yaml" > "$unittest_dir/plugin.yaml"
fi
ln -sfn "$BIN/helm-unittest" "$unittest_dir/untt-linux-$(go env GOARCH)"


# kubeconform's schemas, made offline from the OpenAPI spec of each Kubernetes the chart
# tests check against: the cluster's, and the previous minors (cluster/kubernetes-versions-previous).
mapfile -t previous < "$(dirname "$0")/../cluster/kubernetes-versions-previous"
for version in "$KUBE_VERSION" "${previous[@]}"; do
  schemas="$TOOLS/kubeconform-schemas/$version"
  if [[ ! -f "$schemas/deployment-apps-v1.json" ]]; then
    log "generating kubeconform schemas for $version"
    k8s_dir=$(cd "$TOOLS" && go mod download -json "k8s.io/kubernetes@$version" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    python3 "$(dirname "$0")/k8s_json_schemas.py" "$k8s_dir/api/openapi-spec/swagger.json" "$schemas" >/dev/null
  fi
  # The custom kinds the chart can render: Gateway API routes (the version Traefik 3.6
  # implements) and the Prometheus Operator's monitors, from the CRDs their Go modules carry.
  if [[ ! -f "$schemas/grpcroute-gateway-v1.json" || ! -f "$schemas/podmonitor-monitoring-v1.json" ]]; then
    log "adding Gateway API $GATEWAY_API_VERSION and Prometheus Operator $PROMETHEUS_OPERATOR_VERSION schemas for $version"
    gateway_dir=$(cd "$TOOLS" && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    operator_dir=$(cd "$TOOLS" && go mod download -json \
      "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    yaml_python=""
    for python in python3 /usr/bin/python3; do
      if "$python" -c 'import yaml' 2>/dev/null; then yaml_python=$python; break; fi
    done
    [[ -n $yaml_python ]] || die "reading CRDs needs Python with PyYAML: pip install pyyaml (or apt-get install python3-yaml)"
    "$yaml_python" "$(dirname "$0")/crd_json_schemas.py" "$schemas" \
      "$gateway_dir"/config/crd/standard/gateway.networking.k8s.io_{httproutes,grpcroutes}.yaml \
      "$operator_dir"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,podmonitors}.yaml >/dev/null
  fi
done
