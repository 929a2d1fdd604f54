#!/usr/bin/env bash
# Runs the whole test suite: unit tests, the real driver over a unix socket on real loop devices
# and filesystems, the EC2 simulator, the rendered Kubernetes manifests, csi-sanity against the
# real csi-driver (scripts/sanity.sh; SANITY=0 leaves it out), then the Kubernetes e2e (scripts/e2e.sh:
# real pods on a real cluster; E2E=0 leaves it out).
# Needs root (loop devices, mount). Prints "tests: N passed, N failed" last: xunit results (TRX, the e2e's
# included) plus every JUnit report in artifacts/test-results (*.junit.xml: csi-sanity), skipped specs not counted.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "the tests attach loop devices and mount filesystems: run as root (sudo $0)" >&2
  exit 1
fi
scripts/install-prerequisites.sh || exit 1

results="$(pwd)/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet build CsiDriver.sln -c Release -nologo -clp:ErrorsOnly || { echo "tests: 0 passed, 1 failed"; exit 1; }

status=0
dotnet test CsiDriver.sln -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@" || status=$?

if [ "${SANITY:-1}" != 0 ]; then
  SANITY_NO_BUILD=1 scripts/sanity.sh || status=1
fi

# The Kubernetes e2e (tests/CsiDriver.E2E, not in the solution): against $KUBECONFIG when set, else on the
# k8s-kit's one-node cluster (../shared/k8s-kit, or K8S_KIT). Its TRX files land in $results and are counted
# below; a failure outside a test (cluster, RBAC, overlay dry run) fails the run. E2E=0 leaves it out.
if [ "${E2E:-1}" != 0 ]; then
  E2E_PREBUILT=1 scripts/e2e.sh || status=$?
fi

# Benchmark smokes (bench/README.md): the churn lifecycle, the clone latency and the footprint harness run small, so a broken
# benchmark shows in CI. They print their tables; no figure is asserted, only that every lifecycle finished.
# BENCH_SMOKE=0 leaves them out.
smoke_failed=0
if [ "${BENCH_SMOKE:-1}" != 0 ]; then
  for smoke in "bench/CsiDriver.Bench/bin/Release/net10.0/CsiDriver.Bench.dll churn --smoke" \
               "bench/CsiDriver.Bench/bin/Release/net10.0/CsiDriver.Bench.dll clone-latency --smoke" \
               "bench/CsiDriver.Footprint/bin/Release/net10.0/CsiDriver.Footprint.dll --smoke"; do
    echo "== bench smoke: $smoke"
    read -r -a smoke_args <<<"$smoke"
    if ! dotnet "${smoke_args[@]}"; then
      echo "bench smoke failed: $smoke"
      smoke_failed=$((smoke_failed + 1)); status=1
    fi
  done
fi

passed=0; failed=$smoke_failed
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
# JUnit reports (csi-sanity's): skipped and pending specs are not counted as passed.
junit=("$results"/*.junit.xml)
read -r junit_passed junit_failed junit_skipped < <(scripts/junit-report.sh counts "${junit[@]}")
passed=$((passed + junit_passed)); failed=$((failed + junit_failed))
if [ "$failed" -gt 0 ]; then
  # Name each failed test and the first lines of its message, so the tail of a CI log says what broke.
  echo "failed tests:"
  for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    awk '
      /<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); infail = 1; print "  - " name; lines = 0; next }
      infail && /<Message>/ { inmsg = 1; sub(/.*<Message>/, "") }
      infail && inmsg { done = sub(/<\/Message>.*/, ""); if (lines < 6) print "      " $0; lines++; if (done) { inmsg = 0; infail = 0 } }
      /<\/UnitTestResult>/ { infail = 0; inmsg = 0 }
    ' "$trx" | sed 's/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&apos;/'"'"'/g; s/&amp;/\&/g'
  done
  scripts/junit-report.sh failures "${junit[@]}"
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The run failed without a failed test (a crash or an aborted test host): count it.
  failed=1
fi
echo "of which csi-sanity: ${junit_passed} passed, ${junit_failed} failed, ${junit_skipped} skipped; bench smokes failed: ${smoke_failed}"
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
