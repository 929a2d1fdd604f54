#!/usr/bin/env bash
# csi-sanity (kubernetes-csi/csi-test v5, the conformance suite CSI drivers run in CI) against the real
# csi-driver, in three configurations:
#   local-mount  local backend, mount access type: every spec
#   local-block  local backend, block access type (--csi.testvolumeaccesstype=block): every spec
#   aws          aws backend on the standalone EC2 simulator: the [Controller Server] specs (volumes, attach,
#                expand, modify, snapshots). The Node Service specs are left out there: an EBS volume shows up
#                on an EC2 instance as /dev/xvdX or NVMe, which no simulator can give this machine; the node
#                code they exercise is the same as in the local runs. Identity and GroupController specs are
#                backend-neutral and run in the local runs.
# Both local runs set --csi.testnodevolumeattachlimit (csi-sanity then publishes max_volumes_per_node volumes and
# expects the next one refused; the driver runs with --volume-attach-limit 16 rather than its default 128, so that
# spec attaches 16 loop devices, not 128, on a shared CI machine) and readAheadKiB, the local backend's mutable
# parameter.
# Each run writes a JUnit report, artifacts/test-results/sanity-<config>.junit.xml, and one line
# "sanity <config>: N passed, N failed, N skipped (T s)". Skipped specs are not counted as passed.
#
# Environment:
#   CSI_SANITY          the csi-sanity binary; else csi-sanity on PATH; else unpacked from the k8s-kit
#   K8S_KIT             the kit (default ../shared/k8s-kit); its install.sh puts csi-sanity in /var/tmp/k8s-kit/bin
#   SANITY_CONFIGS      which runs (default "local-mount local-block aws")
#   SANITY_DRIVER_ARGS  extra csi-driver arguments for each local run (word-split)
#   SANITY_NO_BUILD=1   use the Release build as it is (scripts/test.sh has just built the solution)
# Needs root (loop devices, mounts). Exits non-zero when a run fails or cannot start.
# Everything it makes lives in one scratch directory: driver state, the staging and mount dirs csi-sanity uses,
# sockets (logs go to artifacts/test-results/sanity-<config>*.log). On exit, also on failure or Ctrl-C, it stops the processes it started, unmounts what is
# mounted below the scratch directory, detaches the loop devices backed by files below it, and removes it.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "csi-sanity attaches loop devices and mounts filesystems: run as root (sudo $0)" >&2
  exit 1
fi

results="$root/artifacts/test-results"
mkdir -p "$results"
configs=${SANITY_CONFIGS:-local-mount local-block aws}
instance=i-0a1b2c3d4e5f60718
zone=us-east-1a

# ---------------------------------------------------------------- csi-sanity
sanity=${CSI_SANITY:-}
if [ -z "$sanity" ]; then
  sanity=$(command -v csi-sanity || true)
fi
if [ -z "$sanity" ]; then
  kit=${K8S_KIT:-$root/../shared/k8s-kit}
  if [ ! -x "$kit/install.sh" ]; then
    echo "csi-sanity not found: set CSI_SANITY, put csi-sanity on PATH, or provide the k8s-kit at $kit (K8S_KIT)" >&2
    exit 1
  fi
  "$kit/install.sh" >"$results/k8s-kit-install.log" 2>&1 || { echo "k8s-kit install.sh failed; see $results/k8s-kit-install.log" >&2; exit 1; }
  sanity="${K8S_KIT_HOME:-/var/tmp/k8s-kit}/bin/csi-sanity"
fi
[ -x "$sanity" ] || { echo "csi-sanity at '$sanity' is not executable" >&2; exit 1; }

# ---------------------------------------------------------------- build
driver_dll="$root/src/CsiDriver.Host/bin/Release/net10.0/csi-driver.dll"
simulator_dll="$root/tests/CsiDriver.Ec2Simulator/bin/Release/net10.0/ec2-simulator.dll"
if [ "${SANITY_NO_BUILD:-0}" != 1 ]; then
  for project in src/CsiDriver.Host/CsiDriver.Host.csproj tests/CsiDriver.Ec2Simulator/CsiDriver.Ec2Simulator.csproj; do
    dotnet build "$project" -c Release -nologo -clp:ErrorsOnly >/dev/null || { echo "build of $project failed" >&2; exit 1; }
  done
fi
for dll in "$driver_dll" "$simulator_dll"; do
  [ -f "$dll" ] || { echo "$dll is missing: build in Release first" >&2; exit 1; }
done

# ---------------------------------------------------------------- scratch and clean-up
scratch=$(mktemp -d /tmp/csi-sanity.XXXXXX)
pids=()
sanity_pid=

stop_processes() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  pids=()
}

cleanup() {
  if [ -n "$sanity_pid" ]; then
    kill -TERM "$sanity_pid" 2>/dev/null
    wait "$sanity_pid" 2>/dev/null
  fi
  stop_processes
  # Mounts below the scratch dir, deepest first (field 5 of mountinfo; our paths have no escaped characters).
  local mountpoint file backing device
  awk -v prefix="$scratch/" 'index($5, prefix) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mountpoint; do
    umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null || echo "could not unmount $mountpoint" >&2
  done
  # Loop devices whose backing file is below the scratch dir ("(deleted)" suffix included): ours only.
  for file in /sys/block/loop*/loop/backing_file; do
    [ -r "$file" ] || continue
    backing=$(cat "$file" 2>/dev/null) || continue
    case "$backing" in
      "$scratch"/*)
        device=/dev/$(basename "$(dirname "$(dirname "$file")")")
        losetup -d "$device" 2>/dev/null || echo "could not detach $device ($backing)" >&2
        ;;
    esac
  done
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a process in the background with its output in a log, remembering its pid for the clean-up.
start() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  pids+=("$!")
}

# Waits until a unix socket exists, or fails when the process that should serve it exits or 60 s pass.
wait_for_socket() {
  local socket=$1 pid=$2 log=$3
  for _ in $(seq 600); do
    [ -S "$socket" ] && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "the process serving $socket exited; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$socket did not appear within 60 s; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

status=0

# Runs csi-sanity once: run <config> <csi-sanity arguments...>; the report goes to sanity-<config>.junit.xml.
run() {
  local config=$1
  shift
  local report="$results/sanity-$config.junit.xml" started elapsed rc=0
  rm -f "$report"
  started=$(date +%s.%N)
  # In the background so that a signal to this script is handled at once (bash runs traps between commands).
  "$sanity" --ginkgo.junit-report="$report" --ginkgo.no-color "$@" >"$results/sanity-$config.log" 2>&1 &
  sanity_pid=$!
  wait "$sanity_pid" || rc=$?
  sanity_pid=
  elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ -f "$report" ]; then
    local passed failed skipped
    read -r passed failed skipped < <(scripts/junit-report.sh counts "$report")
    echo "sanity $config: $passed passed, $failed failed, $skipped skipped (${elapsed} s)"
    scripts/junit-report.sh failures "$report"
  else
    echo "sanity $config: no JUnit report, csi-sanity exited $rc (${elapsed} s); see $results/sanity-$config.log"
  fi
  if [ "$rc" -ne 0 ]; then
    status=1
  fi
}

# The local backend: one driver (--mode all) per run, its own state dir; csi-sanity's staging and mount dirs
# below $kubelet_dir/<config>, the one directory node operations are confined to (--allowed-path-root; the
# driver's own --kubelet-dir stays the default, and its node records go to the run's --node-state-dir).
kubelet_dir="$scratch/kubelet"
run_local() {
  local config=$1 access_type=$2
  local dir="$scratch/$config" socket="$scratch/$config/csi.sock" log="$results/sanity-$config-driver.log"
  mkdir -p "$dir" "$kubelet_dir/$config"
  printf 'readAheadKiB: "512"\n' >"$dir/mutable-parameters.yaml"
  # shellcheck disable=SC2086 # SANITY_DRIVER_ARGS is a list of arguments
  start "$log" dotnet "$driver_dll" --endpoint "unix://$socket" --mode all --backend local \
    --state-dir "$dir/state" --node-id sanity-node --log-level Warning --volume-attach-limit 16 \
    --allowed-path-root "$kubelet_dir/$config" --node-state-dir "$dir/node-state" ${SANITY_DRIVER_ARGS:-}
  wait_for_socket "$socket" "${pids[-1]}" "$log" || { status=1; stop_processes; return; }
  run "$config" --csi.endpoint="unix://$socket" \
    --csi.stagingdir="$kubelet_dir/$config/staging" --csi.mountdir="$kubelet_dir/$config/mount" \
    --csi.testvolumeaccesstype="$access_type" --csi.testnodevolumeattachlimit \
    --csi.testvolumemutableparameters="$dir/mutable-parameters.yaml"
  stop_processes
}

# The aws backend: the EC2 simulator with one instance; the controller (--mode controller) serves the
# controller specs; a node-mode driver on a second socket answers NodeGetInfo for them (the instance id).
run_aws() {
  local dir="$scratch/aws" url
  mkdir -p "$dir" "$kubelet_dir/aws"
  start "$results/sanity-aws-simulator.log" dotnet "$simulator_dll" --port 0 --instance "$instance:$zone" --url-file "$dir/ec2-url"
  local simulator=${pids[-1]}
  for _ in $(seq 600); do
    [ -s "$dir/ec2-url" ] && break
    kill -0 "$simulator" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -s "$dir/ec2-url" ]; then
    echo "the EC2 simulator did not start; see $results/sanity-aws-simulator.log" >&2
    status=1; stop_processes; return
  fi
  url=$(cat "$dir/ec2-url")
  # StorageClass-like parameters a user would write, and a VolumeAttributesClass-like modification.
  printf 'type: gp3\ncsi.storage.k8s.io/fstype: xfs\nencrypted: "true"\ntagSpecification_1: "team=storage"\n' >"$dir/parameters.yaml"
  printf 'iops: "4000"\nthroughput: "250"\n' >"$dir/mutable-parameters.yaml"
  local aws_args=(--backend aws --aws-ec2-endpoint "$url" --region us-east-1 --instance-id "$instance"
    --availability-zone "$zone" --metadata-sources imds --log-level Warning)
  export AWS_ACCESS_KEY_ID=AKIASANITYFAKEKEY00 AWS_SECRET_ACCESS_KEY=sanity-fake-secret-key
  start "$results/sanity-aws-controller.log" dotnet "$driver_dll" --endpoint "unix://$dir/controller.sock" --mode controller "${aws_args[@]}"
  wait_for_socket "$dir/controller.sock" "${pids[-1]}" "$results/sanity-aws-controller.log" || { status=1; stop_processes; return; }
  start "$results/sanity-aws-node.log" dotnet "$driver_dll" --endpoint "unix://$dir/node.sock" --mode node --node-id "$instance" "${aws_args[@]}" \
    --allowed-path-root "$kubelet_dir/aws" --node-state-dir "$dir/node-state"
  wait_for_socket "$dir/node.sock" "${pids[-1]}" "$results/sanity-aws-node.log" || { status=1; stop_processes; return; }
  run aws --csi.endpoint="unix://$dir/node.sock" --csi.controllerendpoint="unix://$dir/controller.sock" \
    --csi.stagingdir="$kubelet_dir/aws/staging" --csi.mountdir="$kubelet_dir/aws/mount" \
    --csi.testvolumeparameters="$dir/parameters.yaml" --csi.testvolumemutableparameters="$dir/mutable-parameters.yaml" \
    --ginkgo.focus='\[Controller Server\]'
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  stop_processes
}

for config in $configs; do
  case "$config" in
    local-mount) run_local local-mount mount ;;
    local-block) run_local local-block block ;;
    aws) run_aws ;;
    *) echo "unknown configuration '$config' (local-mount, local-block, aws)" >&2; status=1 ;;
  esac
done
exit "$status"
