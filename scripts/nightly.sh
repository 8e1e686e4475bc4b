#!/usr/bin/env bash
# nightly.sh — forkbench's nightly regression job (`make nightly`), on A/B.
#
# Comparing tonight's run with last night's compares two sittings, and the
# machine drifts 10–40% between sittings (bench calibrate): an unchanged
# build "regressed". So the job measures the last good revision and HEAD in
# the SAME sitting, interleaved (A B B A …), and compares per-round paired
# ratios (`bench ab`). Steps:
#   1. base = $NIGHTLY_BASE, or the last good run's commit on the branch
#      (bench history baseline --commit); none: HEAD itself (first night:
#      an A/A run, which records the figures and the noise)
#   2. bench ab BASE HEAD --scenario nightly   -> out/nightly/<stamp>/
#      (results.json: both builds' absolute figures; ab.json: the paired
#      ratios, MDE and verdicts; ab.md -> $GITHUB_STEP_SUMMARY)
#   3. bench history add, bench history trend  -> out/nightly/trend/
#   4. exit 1 on a regression, 2 if the comparison could not be made.
#
# Environment:
#   NIGHTLY_ARGS       extra `bench ab` flags, e.g. "--targets fcgi --rounds 6"
#   NIGHTLY_BASE       base revision (default: the last good commit in the history)
#   NIGHTLY_THRESHOLD  threshold (default 5%)
#   NIGHTLY_STORE      history directory (default out/history)
#   NIGHTLY_OUT        output directory (default out/nightly)
#   NIGHTLY_BRANCH     branch recorded (default: $GITHUB_REF_NAME or git's)
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

base=${NIGHTLY_BASE:-}
if [ -z "$base" ]; then
	status=0
	base=$("$BENCH" history baseline --store "$STORE" --branch "$BRANCH" --commit) || status=$?
	if [ "$status" -eq 3 ]; then
		echo "nightly: no good run on $BRANCH yet: A/A run of HEAD (records the figures and the noise)"
		base=HEAD
	elif [ "$status" -ne 0 ]; then
		echo "nightly: bench history baseline failed ($status)" >&2
		exit "$status"
	fi
fi

echo "nightly: bench ab $base HEAD into $run_dir"
ab_rc=0
"$BENCH" ab "$base" HEAD --scenario nightly --threshold "$THRESHOLD" --out "$run_dir" "${EXTRA[@]}" || ab_rc=$?
if [ -f "$run_dir/ab.md" ]; then
	cp "$run_dir/ab.md" "$OUT/compare.md"
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$run_dir/ab.md" >>"$GITHUB_STEP_SUMMARY"; fi
fi

# Every run enters the history (absolute figures of both builds; the
# paired ratios are in ab.json beside it); a regressed run is marked so its
# commit never becomes the base.
if [ -f "$run_dir/results.json" ]; then
	regressed=()
	if [ "$ab_rc" -eq 1 ]; then regressed=(--regressed); fi
	"$BENCH" history add "$run_dir/results.json" --store "$STORE" --branch "$BRANCH" "${regressed[@]}"
	"$BENCH" history trend --store "$STORE" --out "$OUT/trend" --threshold "$THRESHOLD"
fi

case "$ab_rc" in
0) echo "nightly: no regression" ;;
1) echo "nightly: REGRESSION (see $OUT/compare.md)" >&2 ;;
*) echo "nightly: comparison failed ($ab_rc)" >&2 ;;
esac
exit "$ab_rc"
