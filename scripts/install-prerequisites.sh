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
