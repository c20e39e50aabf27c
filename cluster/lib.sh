# Shared settings for the offline cluster scripts; sourced, never run.
# Everything built or downloaded lives under $CACHE, keyed by version, outside the clone.
KUBE_VERSION="${KUBE_VERSION:-v1.34.2}"
CACHE="${PROBE_DEMO_CACHE:-$HOME/.cache/probe-demo}"
K8S_BIN="$CACHE/kubernetes/$KUBE_VERSION/bin"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
