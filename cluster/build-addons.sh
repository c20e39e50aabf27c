#!/usr/bin/env bash
# Builds the images the cluster itself needs, since none can be pulled here:
#   pause        - Kubernetes' own pause.c (from the k8s.io/kubernetes module), static
#   coredns      - from the Go module proxy, so Service names resolve in pods
#   metrics-server - from the Go module proxy, for `kubectl top` and the HPA
#   traefik      - the Gateway API and Ingress controller in front of the chart's Services
# Each becomes a single-binary image (FROM scratch) saved as an OCI archive in the cache.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

mkdir -p "$ADDONS_DIR"

go_binary() { # NAME MODULE_PATH@VERSION
  local name=$1 module=$2 version_dir="$ADDONS_DIR/bin/$3"
  if [[ ! -x "$version_dir/$name" ]]; then
    log "building $name from $module"
    mkdir -p "$version_dir"
    GOBIN="$version_dir" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "$module"
  fi
  echo "$version_dir/$name"
}

pause_binary() {
  local out="$ADDONS_DIR/bin/pause-${PAUSE_IMAGE##*:}/pause"
  if [[ ! -x "$out" ]]; then
    bash "$(dirname "$0")/build-kubernetes.sh" # brings the k8s.io/kubernetes module source
    local src
    src="$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c"
    [[ -f "$src" ]] || die "pause.c not found at $src"
    log "building pause from $src"
    mkdir -p "$(dirname "$out")"
    gcc -Os -static -Wall -Werror -DVERSION="${PAUSE_IMAGE##*:}" -o "$out" "$src"
    strip "$out"
  fi
  echo "$out"
}

# Traefik's go.mod has replace directives (its forks) and an exclude, which `go install
# module@version` refuses; a wrapper module that copies them builds its command instead.
traefik_binary() {
  local out="$ADDONS_DIR/bin/traefik-$TRAEFIK_VERSION/traefik"
  if [[ ! -x "$out" ]]; then
    local mod="$ADDONS_DIR/build/traefik-$TRAEFIK_VERSION" source upstream
    mkdir -p "$mod" "$(dirname "$out")"
    source=$(cd "$mod" && go mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    upstream="$source/go.mod"
    [[ -f "$upstream" ]] || die "traefik $TRAEFIK_VERSION: its module did not download"
    # Its go.sum too: the checksum database here does not know every module it pins.
    cp "$source/go.sum" "$mod/go.sum"
    {
      echo "module probe-demo.local/traefik-build"
      echo
      grep -E '^go [0-9]' "$upstream"
      echo
      echo "require github.com/traefik/traefik/v3 $TRAEFIK_VERSION"
      echo
      sed -n '/^replace (/,/^)/p; /^replace [^(]/p; /^exclude /p' "$upstream"
    } > "$mod/go.mod"
    log "building traefik $TRAEFIK_VERSION (about 2 GB of modules and 10 CPU-minutes, once)"
    (
      cd "$mod"
      GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$out.tmp" \
        -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
        github.com/traefik/traefik/v3/cmd/traefik
    )
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# scratch_image IMAGE_REF BINARY [ARGS...]: an OCI archive with BINARY as /NAME and entrypoint.
scratch_image() {
  local ref=$1 binary=$2 archive="$ADDONS_DIR/images/${1//[\/:]/_}.tar"
  if [[ -f "$archive" ]]; then echo "$archive"; return; fi
  local name context
  name=$(basename "$binary")
  context=$(mktemp -d)
  cp "$binary" "$context/$name"
  printf 'FROM scratch\nCOPY %s /%s\nUSER 65532:65532\nENTRYPOINT ["/%s"]\n' \
    "$name" "$name" "$name" > "$context/Containerfile"
  [[ $name == pause ]] && sed -i '/^USER/d' "$context/Containerfile"
  log "building image $ref"
  buildah bud --quiet --layers=false -f "$context/Containerfile" -t "$ref" "$context" >/dev/null
  mkdir -p "$(dirname "$archive")"
  buildah push --quiet "$ref" "oci-archive:$archive.tmp:$ref"
  mv "$archive.tmp" "$archive"
  rm -rf "$context"
  echo "$archive"
}

scratch_image "$PAUSE_IMAGE" "$(pause_binary)" >/dev/null
scratch_image "$COREDNS_IMAGE" \
  "$(go_binary coredns "github.com/coredns/coredns@$COREDNS_VERSION" "coredns-$COREDNS_VERSION")" >/dev/null
scratch_image "$METRICS_SERVER_IMAGE" \
  "$(go_binary metrics-server "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION" \
    "metrics-server-$METRICS_SERVER_VERSION")" >/dev/null
scratch_image "$TRAEFIK_IMAGE" "$(traefik_binary)" >/dev/null
log "cluster images ready in $ADDONS_DIR/images"
