#!/usr/bin/env bash
# Builds the driver, starts it on the local backend (sparse files as loop devices) and walks one volume
# through its whole life with csictl, printing each step:
#   create → attach → stage (format + mount) → publish → write data → snapshot → restore into a larger
#   volume → expand online → unpublish → unstage → detach → delete.
# Needs root (loop devices, mount). Leaves nothing behind: the driver stops and its work dir is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "the demo attaches loop devices and mounts filesystems: run as root (sudo $0)" >&2
  exit 1
fi
scripts/install-prerequisites.sh

echo "==> building"
dotnet build CsiDriver.sln -c Release -nologo -clp:ErrorsOnly -v quiet
driver=(dotnet src/CsiDriver.Host/bin/Release/net10.0/csi-driver.dll)
csictl=(dotnet src/CsiDriver.Cli/bin/Release/net10.0/csictl.dll)

work=$(mktemp -d /tmp/csidriver-demo.XXXXXX)
export CSI_ENDPOINT="unix://$work/csi.sock"
node=demo-node
driver_pid=""
cleanup() {
  set +e
  for m in "$work/pod-restored" "$work/pod" "$work/staging-restored" "$work/staging"; do
    mountpoint -q "$m" 2>/dev/null && umount "$m"
  done
  [ -n "$driver_pid" ] && kill "$driver_pid" 2>/dev/null && wait "$driver_pid" 2>/dev/null
  for dev in $(losetup -j "$work/state" 2>/dev/null | cut -d: -f1); do losetup -d "$dev"; done
  for f in /sys/block/loop*/loop/backing_file; do
    [ -f "$f" ] || continue
    case "$(cat "$f")" in "$work"/*) losetup -d "/dev/$(basename "$(dirname "$(dirname "$f")")")";; esac
  done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
call() { echo "\$ csictl $*"; "${csictl[@]}" "$@"; }
# Runs a call, prints it and its response, and keeps the response in $out for field().
capture() { out=$(call "$@"); echo "$out"; }
field() { grep -o "\"$1\": *\"[^\"]*\"" <<<"$out" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'; }
# xfs grows online with the capabilities any root process has; ext4 online growth also needs
# CAP_SYS_RESOURCE, which a privileged node plugin pod has but some sandboxes drop. FS=ext4 to try it.
fs=${FS:-xfs}

step "starting csi-driver --mode all --backend local (state in $work/state)"
# The node acts only below kubelet's directory and explicitly allowed roots: here, the scratch directory.
"${driver[@]}" --endpoint "$CSI_ENDPOINT" --mode all --backend local --state-dir "$work/state" \
  --allowed-path-root "$work" --node-state-dir "$work/node-state" \
  --node-id "$node" --log-level Information >"$work/driver.log" 2>&1 &
driver_pid=$!
for _ in $(seq 1 50); do [ -S "$work/csi.sock" ] && break; sleep 0.2; done
call identity info
call identity probe

step "CreateVolume: 1 GiB, $fs"
capture controller create-volume --name demo-volume --size 1Gi --fs-type "$fs"
vol=$(field volumeId)

step "ControllerPublishVolume: attach $vol to $node"
capture controller publish "$vol" --node-id "$node" --fs-type "$fs"
devpath=$(field devicePath)

step "NodeStageVolume: format the blank device and mount it at the staging path"
call node stage "$vol" --staging-path "$work/staging" --publish-context "devicePath=$devpath" --fs-type "$fs"

step "NodePublishVolume: bind mount into the pod's path"
call node publish "$vol" --staging-path "$work/staging" --target-path "$work/pod" --fs-type "$fs" --publish-context "devicePath=$devpath"

step "writing data through the pod's mount"
echo "hello from CsiDriver $(date -u +%FT%TZ)" > "$work/pod/hello.txt"
sync
cat "$work/pod/hello.txt"

step "NodeGetVolumeStats"
call node stats "$vol" --volume-path "$work/pod"

step "CreateSnapshot of $vol"
capture controller create-snapshot --name demo-snapshot --source-volume "$vol"
snap=$(field snapshotId)

step "CreateVolume from the snapshot, larger: 2 GiB; staging grows its filesystem to the new size"
capture controller create-volume --name demo-restored --size 2Gi --fs-type "$fs" --from-snapshot "$snap"
restored=$(field volumeId)
capture controller publish "$restored" --node-id "$node" --fs-type "$fs"
rdev=$(field devicePath)
call node stage "$restored" --staging-path "$work/staging-restored" --publish-context "devicePath=$rdev" --fs-type "$fs"
echo "restored volume holds: $(cat "$work/staging-restored/hello.txt")"
df -h "$work/staging-restored" | tail -n 1
call node unstage "$restored" --staging-path "$work/staging-restored"
call controller unpublish "$restored" --node-id "$node"

step "ControllerExpandVolume + NodeExpandVolume: grow $vol to 3 GiB while mounted"
call controller expand "$vol" --size 3Gi --fs-type "$fs"
call node expand "$vol" --volume-path "$work/pod" --size 3Gi --fs-type "$fs"
df -h "$work/pod" | tail -n 1

step "NodeUnpublishVolume, NodeUnstageVolume, ControllerUnpublishVolume"
call node unpublish "$vol" --target-path "$work/pod"
call node unstage "$vol" --staging-path "$work/staging"
call controller unpublish "$vol" --node-id "$node"

step "DeleteSnapshot and DeleteVolume"
call controller delete-snapshot "$snap"
call controller delete-volume "$restored"
call controller delete-volume "$vol"
call controller list-volumes

step "done: the driver log is below"
tail -n 40 "$work/driver.log"
