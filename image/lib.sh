# Shared settings for the image scripts; sourced, never run.
# shellcheck shell=bash disable=SC2034  # settings for the scripts that source this file
# shellcheck source=../cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
DEBIAN_SUITE=bookworm
BASE_PACKAGES="python3,python3-venv,ca-certificates"
# Bump when the base recipe changes, so cached bases are rebuilt.
BASE_REVISION=2
IMAGE_ARCHES="${IMAGE_ARCHES:-amd64 arm64}"
IMAGE_NAME="probe-demo"
REGISTRY="localhost:5000"
BASE_DIR="$CACHE/image-base"
