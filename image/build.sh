#!/usr/bin/env bash
# Builds the top-level Dockerfile for linux/amd64 and linux/arm64 offline with buildah,
# FROM the debootstrap-made bases (build-base.sh), joins both into one manifest list and
# pushes it to the loopback registry the cluster pulls from. Skipped when neither the
# Dockerfile nor services/ changed since the last push of the same tag.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
root="$(cd "$here/.." && pwd)"

tag="${IMAGE_TAG:-$(awk '/^appVersion:/ {gsub(/"/, "", $2); print $2}' "$root/charts/probe-demo/Chart.yaml")}"
target="$REGISTRY/$IMAGE_NAME:$tag"
inputs=$(cd "$root" && { echo "base $BASE_REVISION"; sha256sum Dockerfile; find services -type f \( -path '*/src/*' -o -name pyproject.toml -o -name README.md \) ! -path '*__pycache__*' ! -path '*.egg-info*' | sort | xargs sha256sum; } | sha256sum | cut -c1-16)
stamp="$CACHE/image/pushed-$tag-$inputs-${IMAGE_ARCHES// /-}"

# One build at a time: two would fight over the same manifest list in buildah's storage.
mkdir -p "$CACHE/image"
exec 9>"$CACHE/image/.lock"
flock 9

curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 || die "no registry on $REGISTRY: run 'make cluster-up' first"
if [[ -f $stamp ]] && skopeo inspect --raw --tls-verify=false "docker://$target" >/dev/null 2>&1; then
  log "$target is up to date"
  exit 0
fi
bash "$here/build-base.sh"

list="localhost/$IMAGE_NAME:$tag"
buildah manifest rm "$list" >/dev/null 2>&1 || true
buildah manifest create "$list" >/dev/null
for arch in $IMAGE_ARCHES; do
  log "building $IMAGE_NAME:$tag for linux/$arch"
  start=$SECONDS
  # The build reaches PyPI through this machine's TLS-inspecting proxy, whose CA the
  # Debian base does not carry: hand pip the host's bundle as a build secret.
  buildah bud --quiet --layers --network host --platform "linux/$arch" \
    --build-arg "BASE_IMAGE=localhost/probe-demo-base:$DEBIAN_SUITE-$arch-$BASE_REVISION" \
    --secret id=pip-ca,src=/etc/ssl/certs/ca-certificates.crt \
    --label "dev.probe-demo.inputs=$inputs" \
    -t "localhost/$IMAGE_NAME:$tag-$arch" -f "$root/Dockerfile" "$root" >/dev/null
  log "built linux/$arch in $((SECONDS - start))s"
  buildah manifest add --arch "$arch" --os linux "$list" "containers-storage:localhost/$IMAGE_NAME:$tag-$arch" >/dev/null
done
buildah manifest push --all --quiet --tls-verify=false "$list" "docker://$target"
mkdir -p "$CACHE/image"
rm -f "$CACHE/image/pushed-$tag-"*
touch "$stamp"
# The tag now names new content: drop the node's copy of the old one, or the kubelet
# (IfNotPresent) would keep starting pods from it.
if [[ -S $CONTAINERD_SOCK ]]; then
  ctr_k8s images rm "$target" >/dev/null 2>&1 || true
fi
log "pushed $target ($IMAGE_ARCHES)"
