#!/usr/bin/env bash
# Builds containerd, its runc shim and ctr from the Go module proxy: Debian's containerd
# (1.6) ignores a container's lifecycle.stopSignal, which containerd honours from 2.3.
# Output: $CONTAINERD_BIN/{containerd,containerd-shim-runc-v2,ctr}. Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# No cgo: the btrfs snapshotter (cgo only) is left out; overlayfs is what the cluster uses.
module=github.com/containerd/containerd/v2
write_go_mod() {
  printf 'module probe-demo.local/containerd-build\n\ngo 1.24\n\nrequire %s %s\n' \
    "$module" "$CONTAINERD_VERSION" > "$1"
}
build_go_commands containerd "$CONTAINERD_VERSION" "$CACHE/containerd/$CONTAINERD_VERSION/module" \
  "$CONTAINERD_BIN" \
  "-s -w -X $module/version.Version=$CONTAINERD_VERSION -X $module/version.Revision=probe-demo" \
  "$module/cmd" write_go_mod containerd containerd-shim-runc-v2 ctr
