#!/usr/bin/env bash
# Makes the offline stand-in for the Dockerfile's public base image (python:3.11-slim-bookworm):
# a Debian bookworm rootfs from debootstrap with Debian's Python 3.11, one image per
# architecture, tagged localhost/probe-demo-base:bookworm-ARCH-REVISION. arm64 runs its second
# debootstrap stage under qemu-user-static. Cached: an existing base is reused.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

enable_qemu() {
  [[ -d /proc/sys/fs/binfmt_misc ]] || die "this kernel has no binfmt_misc"
  if [[ ! -f /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [[ ! -f /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    update-binfmts --enable qemu-aarch64 || die "cannot register qemu-aarch64 with binfmt_misc"
  fi
}

for arch in $IMAGE_ARCHES; do
  ref="localhost/probe-demo-base:$DEBIAN_SUITE-$arch-$BASE_REVISION"
  if buildah inspect --type image "$ref" >/dev/null 2>&1; then
    log "base $ref present"
    continue
  fi
  [[ $arch == "$(dpkg --print-architecture)" ]] || enable_qemu
  rootfs="$BASE_DIR/$arch/rootfs"
  if [[ ! -f "$BASE_DIR/$arch/rootfs-$BASE_REVISION.tar" ]]; then
    log "debootstrap $DEBIAN_SUITE for $arch"
    rm -rf "$rootfs"
    mkdir -p "$rootfs"
    debootstrap --variant=minbase --arch "$arch" --include "$BASE_PACKAGES" \
      "$DEBIAN_SUITE" "$rootfs" http://deb.debian.org/debian >"$BASE_DIR/$arch.log" 2>&1 \
      || die "debootstrap failed, see $BASE_DIR/$arch.log"
    # What a slim base leaves out: downloaded packages, apt lists and caches, docs.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/var/cache/apt/*.bin \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    tar -C "$rootfs" --numeric-owner -cf "$BASE_DIR/$arch/rootfs.tar.tmp" .
    rm -f "$BASE_DIR/$arch"/rootfs*.tar
    mv "$BASE_DIR/$arch/rootfs.tar.tmp" "$BASE_DIR/$arch/rootfs-$BASE_REVISION.tar"
    rm -rf "$rootfs"
  fi
  log "importing base $ref"
  container=$(buildah from --arch "$arch" scratch)
  buildah add "$container" "$BASE_DIR/$arch/rootfs-$BASE_REVISION.tar" / >/dev/null
  buildah config --arch "$arch" --os linux --env PATH=/usr/local/bin:/usr/bin:/bin \
    --cmd /bin/bash "$container"
  buildah commit --quiet "$container" "$ref" >/dev/null
  buildah rm "$container" >/dev/null
done
