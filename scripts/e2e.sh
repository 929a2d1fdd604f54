#!/usr/bin/env bash
# The Kubernetes e2e (tests/CsiDriver.E2E): real PVCs, pods, snapshots, VolumeAttributesClasses.
#
#   KUBECONFIG=... scripts/e2e.sh   against that cluster, where you installed the driver (deploy/), its sidecars,
#                                   the snapshot CRDs + snapshot-controller. E2E_* variables describe it
#                                   (tests/CsiDriver.E2E/E2ESettings.cs; e.g. E2E_BACKEND=aws, E2E_IMAGE=busybox:1.37).
#   scripts/e2e.sh                  no KUBECONFIG: the k8s-kit (K8S_KIT, default ../shared/k8s-kit) starts a
#                                   one-node cluster here (root), with the VolumeAttributesClass and
#                                   VolumeGroupSnapshot betas on; then
#                                   1. the rendered overlays are applied with --dry-run=server (schema check),
#                                   2. deploy/'s CSIDriver, ServiceAccounts and RBAC are applied for real,
#                                   3. local backend: csi-driver --mode all + sidecars as block-csi-controller-sa
#                                      (leader election on) + registrar; the suite with pods and host leak checks,
#                                   4. aws backend: the EC2 simulator behind the same sidecars; the suite on the
#                                      controller side (attach through VolumeAttachments, no pods),
#                                   and a sidecar log line saying "forbidden" fails the run (missing RBAC).
#                                   Everything is torn down on exit, also on failure.
# Settings: E2E_BACKENDS ("local aws") picks the backends, E2E_FILTER a dotnet test --filter (e.g.
# FullyQualifiedName~GroupSnapshot), E2E_SNAPSHOT_PENDING_SECONDS (8) how long the EC2 simulator keeps a snapshot
# pending, E2E_GROUP_SNAPSHOT_WAIT (2) the driver's --aws-group-snapshot-wait: shorter, so a group snapshot is
# answered "still pending" (DEADLINE_EXCEEDED) and becomes ready through csi-snapshotter's retries, as on EBS.
# Results: artifacts/test-results/e2e-<backend>.trx (scripts/test.sh counts them); the driver's, sidecars' and
# cluster's logs in artifacts/e2e-logs/. Step timings are printed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results="$root/artifacts/test-results"
logs="$root/artifacts/e2e-logs"
mkdir -p "$results"
timings=$(mktemp /tmp/csidriver-e2e-timings.XXXXXX)
driver_name=${E2E_DRIVER_NAME:-block.csi.csidriver.io}
say() { echo "[e2e] $(date -u +%H:%M:%S) $*" >&2; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

build() {
  local t=$(date +%s)
  dotnet build tests/CsiDriver.E2E/CsiDriver.E2E.csproj -c Release -nologo -clp:ErrorsOnly "$@" || return 1
  say "built the e2e suite $*: $(elapsed "$t")"
}

# run_suite LABEL: the suite against $KUBECONFIG with the E2E_* settings of the caller's environment.
run_suite() {
  local label=$1 t=$(date +%s) status=0
  say "suite ($label) starts"
  tail -n 0 -F "$timings" 2>/dev/null &
  local tail_pid=$!
  local filter=()
  if [ -n "${E2E_FILTER:-}" ]; then filter=(--filter "$E2E_FILTER"); fi
  E2E_TIMINGS_FILE=$timings E2E_REPO_ROOT=$root dotnet test tests/CsiDriver.E2E/CsiDriver.E2E.csproj -c Release --no-build -nologo \
    "${filter[@]}" --logger "trx;LogFileName=e2e-$label.trx" --logger "console;verbosity=normal" --results-directory "$results" || status=$?
  sleep 0.5; kill "$tail_pid" 2>/dev/null; wait "$tail_pid" 2>/dev/null
  say "suite ($label): $(elapsed "$t"), exit $status"
  return "$status"
}

if [ -n "${KUBECONFIG:-}" ]; then
  build || exit 1
  run_suite "${E2E_BACKEND:-local}"
  exit $?
fi

# ------------------------------------------------------------------ the kit's cluster on this machine
kit=${K8S_KIT:-$root/../shared/k8s-kit}
if [ ! -x "$kit/cluster-up.sh" ]; then
  echo "e2e: no KUBECONFIG and no k8s-kit at $kit (set K8S_KIT, or KUBECONFIG for a cluster with the driver installed)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then echo "e2e: the kit's cluster needs root" >&2; exit 1; fi
rm -rf "$logs"
kit_home=${K8S_KIT_HOME:-/var/tmp/k8s-kit}
export K8S_KIT_HOME=$kit_home
kubelet_root=/var/lib/kubelet
sock="$kubelet_root/plugins/$driver_name/csi.sock"
work=$(mktemp -d /var/tmp/csidriver-e2e.XXXXXX)
simulator_pid=""
status=0

teardown() {
  local t=$(date +%s)
  say "teardown"
  mkdir -p "$logs/cluster"
  cp "$kit_home/state/logs"/*.log "$logs/cluster/" 2>/dev/null
  # The kit deletes the node's pods while the driver still runs, then stops sidecars and the driver it started.
  WIPE=1 "$kit/cluster-down.sh" >"$work/cluster-down.log" 2>&1 || { say "cluster-down failed:"; tail -n 20 "$work/cluster-down.log" >&2; }
  if [ -n "$simulator_pid" ]; then kill "$simulator_pid" 2>/dev/null; wait "$simulator_pid" 2>/dev/null; fi
  # Loop devices still backed by a volume file of ours (a failed run): ours to detach, nobody else's.
  local f dev
  for f in "$work"/state-*/volumes/*.img; do
    [ -e "$f" ] || continue
    for dev in $(losetup -j "$f" -O NAME -n 2>/dev/null); do losetup -d "$dev" 2>/dev/null && say "detached leftover $dev ($f)"; done
  done
  rm -rf "$work" "$timings"
  say "teardown: $(elapsed "$t")"
}
trap teardown EXIT
trap 'exit 130' INT TERM

step() { # step DESCRIPTION CMD...: run, time, fail the run on error
  local what=$1 t=$(date +%s); shift
  if "$@"; then say "$what: $(elapsed "$t")"; else say "$what FAILED after $(elapsed "$t")"; return 1; fi
}

# CAP_SYS_RESOURCE (bit 24 of CapEff) is what resize2fs needs to grow a mounted ext4.
online_ext4() { local cap; cap=$(awk '/^CapEff/ { print $2 }' /proc/self/status); (( (16#$cap >> 24) & 1 )) && echo 1 || echo 0; }

up_cluster() {
  "$kit/install.sh" >"$work/install.log" 2>&1 || { tail -n 20 "$work/install.log" >&2; return 1; }
  # One more try after a clean teardown: the kit's kubelet has been seen to exit during its start-up once (CI,
  # 2026-11-30; the next cluster-up on the same machine came up in 9 s), which is the machine, not the driver.
  local attempt
  for attempt in 1 2; do
    # snapshot-controller v8.2 serves VolumeGroupSnapshots behind its CSIVolumeGroupSnapshot gate.
    FEATURE_GATES=VolumeAttributesClass=true APISERVER_ARGS=--runtime-config=storage.k8s.io/v1beta1=true \
      SNAPSHOT_CONTROLLER_ARGS=--feature-gates=CSIVolumeGroupSnapshot=true \
      "$kit/cluster-up.sh" >"$work/cluster-up.log" 2>&1 && return 0
    tail -n 20 "$work/cluster-up.log" >&2
    [ "$attempt" = 2 ] && return 1
    say "cluster-up failed; tearing the kit down and trying once more"
    WIPE=1 "$kit/cluster-down.sh" >"$work/cluster-down-retry.log" 2>&1 || true
  done
}

# The overlays as a user installs them, validated by the API server (unknown fields, wrong types, bad enums)
# without creating anything: the driver's Deployment/DaemonSet images cannot start here.
dry_run_overlays() {
  local overlay
  for overlay in aws local; do
    kubectl kustomize "deploy/kubernetes/overlays/$overlay" >"$work/$overlay.yaml" || return 1
    kubectl apply --dry-run=server -f "$work/$overlay.yaml" >"$work/$overlay.dry-run.log" 2>&1 ||
      { echo "e2e: the rendered $overlay overlay fails the API server's validation:" >&2; cat "$work/$overlay.dry-run.log" >&2; return 1; }
  done
}

install_deploy() {
  local b=deploy/kubernetes/base
  kubectl apply -f "$b/csidriver.yaml" >/dev/null &&
  kubectl apply -n kube-system -f "$b/serviceaccounts.yaml" -f "$b/rbac-provisioner.yaml" -f "$b/rbac-attacher.yaml" \
    -f "$b/rbac-resizer.yaml" -f "$b/rbac-snapshotter.yaml" -f "$b/rbac-node.yaml" >/dev/null
}

# The node plugin runs on the host here (its API client reads only a pod's service account mount), so its
# ClusterRole is checked by asking the API server what block-csi-node-sa may do: read its Node, patch the taint.
node_rbac() {
  local as=system:serviceaccount:kube-system:block-csi-node-sa i
  can() { [ "$(kubectl auth can-i "$@" --as "$as" 2>/dev/null)" = yes ]; }
  # The API server's RBAC cache takes a moment to see bindings applied a second ago.
  for ((i = 0; i < 30; i++)); do can get nodes && can patch nodes && break; sleep 0.5; done
  can get nodes && can patch nodes ||
    { echo "e2e: $as may not get and patch nodes (deploy/kubernetes/base/rbac-node.yaml)" >&2; return 1; }
  # and nothing more: no secrets, no pods
  ! can list secrets -A && ! can list pods -A ||
    { echo "e2e: $as may read secrets or pods: the node role grants more than it needs" >&2; return 1; }
}


build_driver() {
  # scripts/test.sh has just built the solution (driver and simulator included): E2E_PREBUILT=1 skips this.
  if [ "${E2E_PREBUILT:-0}" = 1 ] && [ -f "$root/src/CsiDriver.Host/bin/Release/net10.0/csi-driver.dll" ] &&
     [ -f "$root/tests/CsiDriver.Ec2Simulator/bin/Release/net10.0/ec2-simulator.dll" ]; then
    return 0
  fi
  dotnet build src/CsiDriver.Host/CsiDriver.Host.csproj -c Release -nologo -clp:ErrorsOnly >"$work/build-driver.log" 2>&1 &&
  dotnet build tests/CsiDriver.Ec2Simulator/CsiDriver.Ec2Simulator.csproj -c Release -nologo -clp:ErrorsOnly >>"$work/build-driver.log" 2>&1 ||
    { cat "$work/build-driver.log" >&2; return 1; }
}

# sidecars_up DRIVER-ARGS...: the driver (started and stopped by the kit), the four controller sidecars as
# deploy/'s ServiceAccount with leader election, the registrar; the VolumeAttributesClass and (csi-snapshotter
# v8.2) CSIVolumeGroupSnapshot gates on.
sidecars_up() {
  DRIVER_NAME=$driver_name SA_PREFIX=block-csi LEADER_ELECTION=1 \
    PROVISIONER_ARGS=--feature-gates=VolumeAttributesClass=true RESIZER_ARGS=--feature-gates=VolumeAttributesClass=true \
    SNAPSHOTTER_ARGS=--feature-gates=CSIVolumeGroupSnapshot=true \
    "$kit/sidecars-up.sh" -- dotnet "$root/src/CsiDriver.Host/bin/Release/net10.0/csi-driver.dll" \
    --endpoint "unix://$sock" --driver-name "$driver_name" "$@" >"$work/sidecars-up.log" 2>&1 ||
    { tail -n 30 "$work/sidecars-up.log" >&2; return 1; }
}

# A sidecar refused by the API server means deploy/'s RBAC lacks a rule: that fails the run.
no_forbidden() {
  local logs="$kit_home/state/logs/$driver_name" hits
  # RBAC refusals read 'is forbidden: User "system:serviceaccount:..." cannot <verb> resource ...' (other
  # "Forbidden" lines, e.g. a finalizer race the API server rejects, are not about permissions).
  hits=$(grep -H -E 'forbidden: User "|cannot [a-z]+ resource' "$logs"/csi-*.log 2>/dev/null | head -n 20)
  if [ -n "$hits" ]; then
    echo "e2e: a sidecar was refused by the API server (deploy/ RBAC is missing a rule):" >&2
    echo "$hits" >&2
    return 1
  fi
}

# Every process the kit started for the driver must still run after the suite: a sidecar that exited (a crash,
# a lost leader-election lease on a loaded machine) explains a stuck test, so it is named with its last lines.
sidecars_alive() {
  local f name pid ok=0
  for f in "$kit_home/state/run/$driver_name"/*.pid; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .pid); pid=$(head -n 1 "$f")
    if [ ! -d "/proc/$pid" ]; then
      echo "e2e: $name exited during the run; its last lines:" >&2
      tail -n 8 "$kit_home/state/logs/$driver_name/$name.log" 2>/dev/null | sed 's/^/    | /' >&2
      ok=1
    fi
  done
  return "$ok"
}

# Stops the driver and its sidecars, and moves their logs to artifacts/e2e-logs/<backend>/ (so the next
# backend's forbidden check reads only its own, and CI keeps them).
sidecars_down() { # sidecars_down BACKEND
  DRIVER_NAME=$driver_name "$kit/sidecars-down.sh" >>"$work/sidecars-down.log" 2>&1
  mkdir -p "$logs/$1"
  mv "$kit_home/state/logs/$driver_name"/*.log "$logs/$1/" 2>/dev/null
  return 0
}

# The simulator stops and says what it still holds: nothing (the instance's root volume is not a volume there).
stop_simulator() {
  kill "$simulator_pid" 2>/dev/null; wait "$simulator_pid" 2>/dev/null; simulator_pid=""
  cp "$work/ec2-simulator.log" "$logs/aws/" 2>/dev/null
  grep -q 'stopping: 0 volume(s), 0 snapshot(s)' "$work/ec2-simulator.log" ||
    { echo "e2e: the EC2 simulator still holds volumes or snapshots of the e2e:" >&2; tail -n 3 "$work/ec2-simulator.log" >&2; return 1; }
}

start_simulator() {
  local url_file="$work/ec2.url" i
  dotnet "$root/tests/CsiDriver.Ec2Simulator/bin/Release/net10.0/ec2-simulator.dll" --port 0 \
    --instance "$aws_instance:us-east-1a" --snapshot-delay "${E2E_SNAPSHOT_PENDING_SECONDS:-8}" \
    --url-file "$url_file" >"$work/ec2-simulator.log" 2>&1 &
  simulator_pid=$!
  for ((i = 0; i < 120; i++)); do [ -s "$url_file" ] && break; sleep 0.5; done
  [ -s "$url_file" ] || { cat "$work/ec2-simulator.log" >&2; return 1; }
  ec2_url=$(cat "$url_file")
}

run_backend() { # run_backend local|aws
  local backend=$1 t=$(date +%s) rc=0
  if [ "$backend" = local ]; then
    local state="$work/state-local"
    mkdir -p "$state"
    # Same zone value as the aws node: both drivers label the node topology.kubernetes.io/zone.
    step "local: driver + sidecars up" sidecars_up --mode all --backend local --node-id kit-node --zone us-east-1a \
      --state-dir "$state" || return 1
    E2E_BACKEND=local E2E_HOST_STATE_DIR=$state E2E_ONLINE_EXT4=$(online_ext4) run_suite local || rc=1
  else
    export AWS_ACCESS_KEY_ID=e2e-fake-key AWS_SECRET_ACCESS_KEY=e2e-fake-secret
    step "aws: EC2 simulator up" start_simulator || return 1
    step "aws: driver + sidecars up" sidecars_up --mode all --backend aws --aws-ec2-endpoint "$ec2_url" --region us-east-1 \
      --instance-id "$aws_instance" --availability-zone us-east-1a --aws-group-snapshot-wait "${E2E_GROUP_SNAPSHOT_WAIT:-2}" || return 1
    E2E_BACKEND=aws E2E_PODS=0 run_suite aws || rc=1
  fi
  no_forbidden || rc=1
  sidecars_alive || rc=1
  step "$backend: sidecars and driver down" sidecars_down "$backend" || rc=1
  if [ "$backend" = aws ]; then step "aws: EC2 simulator down, no volume or snapshot left" stop_simulator || rc=1; fi
  say "backend $backend: $(elapsed "$t")"
  return "$rc"
}

aws_instance=i-0e2e0000000000001
t0=$(date +%s)
step "cluster up (kit, VolumeAttributesClass and VolumeGroupSnapshot betas on)" up_cluster || exit 1
export KUBECONFIG=$kit_home/state/kubeconfig PATH=$kit_home/bin:$PATH
step "rendered overlays pass the API server (dry run)" dry_run_overlays || status=1
step "deploy/ CSIDriver, ServiceAccounts, RBAC applied" install_deploy || exit 1
step "node plugin's RBAC (auth can-i as block-csi-node-sa)" node_rbac || status=1
step "driver and EC2 simulator built" build_driver || exit 1
step "e2e suite built" build || exit 1
for backend in ${E2E_BACKENDS:-local aws}; do
  run_backend "$backend" || status=1
done
say "e2e total: $(elapsed "$t0"), exit $status"
exit "$status"
