#!/usr/bin/env bash
# Ctrl-C and --resume through the real runner: a tiny experiment interrupted by SIGINT mid-training
# is marked INTERRUPTED; --resume finishes it, and its metrics, final report and predictions are
# exactly those of an uninterrupted run with the same seed.
set -euo pipefail

source "$TEST_SRCDIR/malaria/experiments/test_lib.sh" resume

"$runner" --config "$config" --runs_dir "$work/reference" >"$work/reference.log" 2>&1 ||
  { cat "$work/reference.log"; fail "the reference run failed"; }
reference=$(one_run "$work/reference")

"$runner" --config "$config" --runs_dir "$work/runs" >"$work/cut.log" 2>&1 &
# Interrupt once two epochs are recorded (the run has four more to go).
interrupt_run $! "$work/runs" 2 "$work/cut.log"
run=$interrupted
grep -q "reason: \"interrupted" "$run/run_info.pbtxt" || fail "no reason recorded"
rows=$(($(wc -l <"$run/metrics.csv") - 1))
[[ $rows -ge 2 && $rows -lt 5 ]] || fail "$rows epochs recorded when interrupted"

"$runner" --config "$config" --resume "$run" >"$work/resume.log" 2>&1 ||
  { cat "$work/resume.log"; fail "--resume failed"; }
cat "$work/resume.log"
grep -q "Resuming $run after" "$work/resume.log" || fail "no resume message"
grep -q "status: COMPLETED" "$run/run_info.pbtxt" || fail "not COMPLETED after --resume"
grep -q "resumed_at: " "$run/run_info.pbtxt" || fail "the resume is not recorded"

diff <(cut -d, -f1-6 "$reference/metrics.csv") <(cut -d, -f1-6 "$run/metrics.csv") ||
  fail "the resumed run's metrics differ from the uninterrupted run's"
diff "$reference/metrics.pbtxt" "$run/metrics.pbtxt" || fail "final metrics differ"
diff "$reference/predictions.csv" "$run/predictions.csv" >/dev/null || fail "final predictions differ"

# A completed run has nothing to resume; overrides are refused; nothing is changed by either.
before=$(md5sum "$run/run_info.pbtxt")
status=0
"$runner" --config "$config" --resume "$run" >"$work/again.log" 2>&1 || status=$?
[[ $status -eq 2 ]] && grep -q "is COMPLETED; there is nothing to resume" "$work/again.log" ||
  fail "resuming a completed run: status $status"
status=0
"$runner" --resume "$run" --set seed=1 >"$work/set.log" 2>&1 || status=$?
[[ $status -eq 2 ]] && grep -q "takes no --set" "$work/set.log" || fail "--resume with --set accepted"
[[ "$before" == "$(md5sum "$run/run_info.pbtxt")" ]] || fail "a refused resume changed the run"
echo PASS
