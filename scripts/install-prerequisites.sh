#!/usr/bin/env bash
# Installs the node tools the driver and its tests use (filesystems, loop devices, mount).
# Idempotent: does nothing when everything is already there.
set -euo pipefail
missing=()
for pair in mkfs.ext4:e2fsprogs mkfs.xfs:xfsprogs xfs_growfs:xfsprogs losetup:mount blkid:util-linux lsblk:util-linux; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi
# Loop devices need the loop module (built in on most kernels) and device nodes.
if [ ! -e /dev/loop-control ]; then
  modprobe loop 2>/dev/null || true
fi
command -v dotnet >/dev/null || { echo "dotnet SDK 10 is required" >&2; exit 1; }

# kubectl renders deploy/kubernetes offline (`kubectl kustomize`) for tests/CsiDriver.Deploy.Tests.
# It must be a kubectl with kustomize v5 (kubectl >= 1.27). Debian's own 'kubernetes-client' is
# 1.20 (kustomize v2) and cannot render the overlays, so it is not installed from there: the
# 'kubectl' package comes from the Kubernetes (pkgs.k8s.io) or Google Cloud apt repository.
# Without it the deploy tests fail and say so; everything else still runs.
kubectl_ok=false
if command -v kubectl >/dev/null 2>&1; then
  if kubectl kustomize --help >/dev/null 2>&1; then
    kubectl_ok=true
  fi
fi
if [ "$kubectl_ok" = false ] && apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  echo "installing: kubectl"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends kubectl >/dev/null 2>&1 && kubectl_ok=true
fi
if [ "$kubectl_ok" = true ]; then
  echo "kubectl: $(kubectl version --client 2>/dev/null | head -n 1)"
else
  echo "WARNING: kubectl with kustomize not found; the deploy manifest tests will fail." >&2
  echo "  Install the 'kubectl' package from the Kubernetes apt repository (https://pkgs.k8s.io) or set KUBECTL=/path/to/kubectl." >&2
fi
