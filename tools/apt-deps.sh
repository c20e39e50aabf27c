#!/usr/bin/env bash
# Debian packages the cluster, the image build and the browser tests use; installs only what
# is missing.
set -euo pipefail
packages=(runc containernetworking-plugins etcd-server iptables conntrack
  buildah skopeo debootstrap docker-registry qemu-user-static binfmt-support
  gcc libc6-dev openssl curl shellcheck
  chromium fonts-dejavu-core)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
[[ $EUID -eq 0 ]] || { echo "error: installing ${missing[*]} needs root" >&2; exit 1; }
echo "installing Debian packages: ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's packages start their services; the cluster runs its own instances instead
# (containerd too, on a machine that had Debian's: the cluster builds its own).
for service in containerd etcd docker-registry; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
    systemctl stop "$service"
  elif [[ -x /etc/init.d/$service ]]; then
    "/etc/init.d/$service" stop >/dev/null 2>&1 || true
  fi
done
