#!/usr/bin/env bash
# Reads ginkgo JUnit reports (what csi-sanity --ginkgo.junit-report writes), for scripts/sanity.sh and scripts/test.sh.
#   junit-report.sh counts FILE...    prints "PASSED FAILED SKIPPED", summed over the files; pending specs are
#                                      skipped, skipped specs are not passed: passed = tests - skipped - pending - failed
#   junit-report.sh failures FILE...  lists each failed spec as "  - <report>: <spec>" and the first lines of its message
set -uo pipefail
mode=${1:-}
shift || true
case "$mode" in
  counts)
    passed=0; failed=0; skipped=0
    for report in "$@"; do
      [ -f "$report" ] || continue
      suite=$(grep -o '<testsuite [^>]*>' "$report" | head -n 1)
      attr() { local value; value=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$suite"); echo "${value:-0}"; }
      tests=$(attr tests); pending=$(attr disabled); skips=$(attr skipped); failures=$(( $(attr failures) + $(attr errors) ))
      passed=$((passed + tests - pending - skips - failures)); failed=$((failed + failures)); skipped=$((skipped + pending + skips))
    done
    echo "$passed $failed $skipped"
    ;;
  failures)
    for report in "$@"; do
      [ -f "$report" ] || continue
      # One <testcase> per line; the failure message is an attribute with newlines as &#xA;.
      awk -v report="$(basename "$report" .junit.xml)" '
        /<testcase / && !/status="(passed|skipped|pending)"/ { match($0, /name="[^"]*"/); print "  - " report ": " substr($0, RSTART + 6, RLENGTH - 7); infail = 1; next }
        infail && /<failure message="/ { match($0, /message="[^"]*"/); n = split(substr($0, RSTART + 9, RLENGTH - 10), lines, "&#xA;"); for (i = 1; i <= n && i <= 6; i++) print "      " lines[i]; infail = 0 }
        /<\/testcase>/ { infail = 0 }
      ' "$report" | sed 's/&#34;/"/g; s/&#39;/'"'"'/g; s/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&apos;/'"'"'/g; s/&amp;/\&/g'
    done
    ;;
  *)
    echo "usage: $0 counts|failures FILE..." >&2
    exit 2
    ;;
esac
