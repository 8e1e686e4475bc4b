#!/usr/bin/env bash
# nightly.sh — forkbench's nightly regression job (`make nightly`).
#
# Runs on any CI that runs shell (or by hand): it needs only bin/bench and
# bin/sampleapp (`make build`) and a persistent directory for the history
# (cache or commit $NIGHTLY_STORE between runs). Steps:
#   1. bench run --scenario nightly            -> out/nightly/<stamp>/results.json
#   2. bench history baseline --like that run  -> latest comparable run on the branch
#      none: this run becomes the baseline (first night; not a failure)
#   3. bench compare BASE NEW                  -> out/nightly/compare.md (+ $GITHUB_STEP_SUMMARY)
#   4. bench history add, bench history trend  -> out/nightly/trend/
#   5. exit 1 on a regression, 2 if the comparison could not be made.
#
# Environment:
#   NIGHTLY_ARGS       extra `bench run` flags (default: none), e.g.
#                      "--targets embedded --rounds 5 --duration 300ms" for a quick try
#   NIGHTLY_THRESHOLD  compare threshold (default 5%)
#   NIGHTLY_STORE      history directory (default out/history)
#   NIGHTLY_OUT        output directory (default out/nightly)
#   NIGHTLY_BRANCH     branch recorded and compared against (default: $GITHUB_REF_NAME or git's)
#   NIGHTLY_PIN        compare against this commit instead of the latest run
#   BENCH              bench binary (default bin/bench)
set -euo pipefail

BENCH=${BENCH:-bin/bench}
OUT=${NIGHTLY_OUT:-out/nightly}
STORE=${NIGHTLY_STORE:-out/history}
THRESHOLD=${NIGHTLY_THRESHOLD:-5%}
BRANCH=${NIGHTLY_BRANCH:-${GITHUB_REF_NAME:-$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo main)}}
read -r -a EXTRA <<<"${NIGHTLY_ARGS:-}"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
run_dir="$OUT/$stamp"
mkdir -p "$OUT"

echo "nightly: measuring into $run_dir"
"$BENCH" run --scenario nightly --out "$run_dir" "${EXTRA[@]}"
new="$run_dir/results.json"

summary() { if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$1" >>"$GITHUB_STEP_SUMMARY"; fi; }

pin=()
if [ -n "${NIGHTLY_PIN:-}" ]; then pin=(--pin "$NIGHTLY_PIN"); fi
status=0
base=$("$BENCH" history baseline --store "$STORE" --branch "$BRANCH" --like "$new" "${pin[@]}") || status=$?
compare_rc=0
if [ "$status" -eq 3 ]; then
	echo "nightly: no comparable baseline on $BRANCH: this run becomes the baseline"
	{
		echo "## forkbench nightly"
		echo
		echo "No comparable baseline on \`$BRANCH\` yet (same machine and settings): this run is the new baseline."
	} >"$OUT/compare.md"
elif [ "$status" -ne 0 ]; then
	echo "nightly: bench history baseline failed ($status)" >&2
	exit "$status"
else
	echo "nightly: comparing with $base"
	"$BENCH" compare "$base" "$new" --threshold "$THRESHOLD" --format md --out "$OUT/compare.md" || compare_rc=$?
	"$BENCH" compare "$base" "$new" --threshold "$THRESHOLD" --format text || true
fi
summary "$OUT/compare.md"
cp "$OUT/compare.md" "$run_dir/compare.md"

# Every run enters the history (the trend shows what happened); a
# regressed run is marked so it never becomes a baseline, and the
# regression keeps failing the job until it is fixed or the baseline is
# pinned past it (NIGHTLY_PIN). `bench run` wrote the run's report.
regressed=()
if [ "$compare_rc" -eq 1 ]; then regressed=(--regressed); fi
"$BENCH" history add "$new" --store "$STORE" --branch "$BRANCH" "${regressed[@]}"
"$BENCH" history trend --store "$STORE" --out "$OUT/trend" --threshold "$THRESHOLD"

case "$compare_rc" in
0) echo "nightly: no regression" ;;
1) echo "nightly: REGRESSION (see $OUT/compare.md)" >&2 ;;
*) echo "nightly: comparison failed or files not comparable ($compare_rc)" >&2 ;;
esac
exit "$compare_rc"
