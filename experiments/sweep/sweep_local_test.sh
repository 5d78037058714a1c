#!/usr/bin/env bash
# The local executor on a real sweep: 8 trials x 2 patient folds of the tiny experiment.
# - Bad sweeps (an unknown field, an ill-typed value, an empty range, a missing experiment) are
#   refused before anything runs, each problem named, and nothing is written.
# - Killed with SIGKILL in the middle of a run, then run again: the sweep finishes without
#   re-running a finished trial fold, and the cut-off run is resumed, not started again.
# - With --jobs 2, Ctrl-C (SIGINT to the sweep) stops both trials' runs resumably (exit 130);
#   run again, it finishes. --status prints the table, the best trial marked.
# - The same name with another config is refused; a raised budget is not.
set -euo pipefail
source "$TEST_SRCDIR/malaria/experiments/sweep/sweep_test_lib.sh" sweep_local

# Bad sweeps: exit 2, each problem named, no runs written.
make_sweep bad.pbtxt bad \
  'axis { field: "training.stage[0].no_such_field" values: ["1"] }' \
  'axis { field: "training.stage[0].epochs" values: ["2", "many"] }' \
  'axis { field: "seed" range { min: 5 max: 1 } }'
status=0
"$sweep_runner" --sweep bad.pbtxt --runs_dir bad_runs >bad.log 2>&1 || status=$?
cat bad.log
[[ $status -eq 2 ]] || fail "a bad sweep exited $status, not 2"
grep -q "axis\[4\] (seed).range: is empty: min 5 is not <= max 1" bad.log || fail "empty range not named"
make_sweep bad2.pbtxt bad2 \
  'axis { field: "training.stage[0].no_such_field" values: ["1"] }' \
  'axis { field: "training.stage[0].epochs" values: ["2", "many"] }'
status=0
"$sweep_runner" --sweep bad2.pbtxt --runs_dir bad_runs >bad2.log 2>&1 || status=$?
cat bad2.log
[[ $status -eq 2 ]] || fail "a bad sweep exited $status, not 2"
grep -q "axis\[2\] (training.stage\[0\].no_such_field): value '1': .*has no field 'no_such_field'" \
  bad2.log || fail "the unknown field is not named with its axis"
grep -q "axis\[3\] (training.stage\[0\].epochs): value 'many'" bad2.log ||
  fail "the ill-typed value is not named with its axis"
sed 's|^experiment: .*|experiment: "/no/such/experiment.pbtxt"|' "$tiny_sweep" >missing.pbtxt
status=0
"$sweep_runner" --sweep missing.pbtxt --runs_dir bad_runs >missing.log 2>&1 || status=$?
cat missing.log
[[ $status -eq 2 ]] || fail "a sweep of a missing experiment exited $status, not 2"
grep -q "experiment: .*/no/such/experiment.pbtxt" missing.log || fail "the missing file is not named"
[[ ! -e bad_runs ]] || fail "a refused sweep wrote $(find bad_runs)"

# Killed mid-run (kill -9), then run again. Longer runs (20 epochs) so there is a run to cut off.
make_sweep long.pbtxt long 'set: "training.stage[0].epochs=20"'
"$sweep_runner" --sweep long.pbtxt --runs_dir runs >long1.log 2>&1 &
pid=$!
wait_for 120 at_least_completed runs 3
wait_for 60 a_run_has_epochs runs 2
kill -9 $pid
wait $pid || true
killed_run=$cut
grep -q "^status: RUNNING" "$killed_run/run_info.pbtxt" || fail "the killed run is not left RUNNING"
done_before=$(count_status runs COMPLETED)
echo "killed with $done_before trial folds completed, $killed_run cut off"
"$sweep_runner" --sweep long.pbtxt --runs_dir runs >long2.log 2>&1 ||
  { cat long2.log; fail "the second invocation exited $?"; }
tail -16 long2.log
check_sweep_complete runs long
[[ $(count_status runs COMPLETED) -eq 16 ]] || fail "not 16 completed runs"
grep -q "^resumed_at:" "$killed_run/run_info.pbtxt" || fail "the cut-off run was not resumed"
grep -q "resuming .*$killed_run" long2.log || fail "the second invocation does not say it resumes"
started_again=$(grep -c "^===== sweep long: trial .*: training" long2.log || true)
[[ $started_again -eq $((16 - done_before - 1)) ]] ||
  fail "the second invocation started $started_again trial folds, not $((16 - done_before - 1))"
grep -q "sweep long: 8 of 8 planned trial(s) done" long2.log || fail "no summary"
grep -q "^best: trial " long2.log || fail "no best trial"

# Run again: nothing to do.
"$sweep_runner" --sweep long.pbtxt --runs_dir runs >long3.log 2>&1
grep -q "=====" long3.log && fail "a finished sweep started something: $(cat long3.log)"
[[ $(ls -d runs/long-t*/* | wc -l) -eq 16 ]] || fail "a finished sweep wrote more runs"

# --jobs 2 and Ctrl-C: both children's runs stop resumably; run again, it finishes.
make_sweep par.pbtxt par 'set: "training.stage[0].epochs=40"'
"$sweep_runner" --sweep par.pbtxt --runs_dir runs --jobs 2 >par1.log 2>&1 &
pid=$!
wait_for 120 a_run_has_epochs runs 1
kill -INT $pid
status=0
wait $pid || status=$?
cat par1.log
[[ $status -eq 130 ]] || fail "the interrupted sweep exited $status, not 130"
[[ $(grep -l "^status: INTERRUPTED" runs/par-t*/*/run_info.pbtxt | wc -l) -ge 1 ]] ||
  fail "no INTERRUPTED run"
[[ $(grep -l "^status: RUNNING" runs/par-t*/*/run_info.pbtxt 2>/dev/null | wc -l) -eq 0 ]] ||
  fail "a run was left RUNNING"
"$sweep_runner" --sweep par.pbtxt --runs_dir runs --jobs 2 >par2.log 2>&1 ||
  { cat par2.log; fail "the second --jobs 2 invocation exited $?"; }
check_sweep_complete runs par
"$sweep_runner" --sweep par.pbtxt --runs_dir runs --status >status.log
cat status.log
[[ $(grep -c " done$" status.log) -eq 8 ]] || fail "--status does not show 8 trials done"
grep -q "^[0-7] \*" status.log || fail "--status marks no best trial"
# --nested: the choice repeated without each fold, each fold's cells predicted by the trial chosen
# on the other, pooled with intervals by patient; nothing written.
before=$(find runs | wc -l)
"$sweep_runner" --sweep par.pbtxt --runs_dir runs --nested >nested.log 2>&1 ||
  { cat nested.log; fail "--nested exited $?"; }
cat nested.log
grep -qE "^nested estimate \(the choice among 8 trials repeated without each fold, each fold scored by the trial best on the others\): accuracy [0-9.]+ \+- [0-9.]+ over 2 folds, against the best trial's own [0-9.]+" \
  nested.log || fail "--nested gives no nested estimate"
grep -qE "^Nested, pooled \(each fold's [0-9]+ cells in all predicted by the trial chosen without that fold, the number to report for this sweep's choice\): 95 % intervals over [0-9]+ patients" \
  nested.log || fail "--nested does not pool the chosen runs' predictions"
[[ $(find runs | wc -l) -eq $before ]] || fail "--nested wrote something"

# The same name with another config: refused; with a raised budget: accepted.
make_sweep par_changed.pbtxt par 'set: "training.stage[0].epochs=3"'
status=0
"$sweep_runner" --sweep par_changed.pbtxt --runs_dir runs --status >changed.log 2>&1 || status=$?
cat changed.log
[[ $status -eq 2 ]] || fail "another config under the same name exited $status, not 2"
grep -q "sweep par in .* was started with another config" changed.log || fail "not named"
make_sweep par_budget.pbtxt par 'set: "training.stage[0].epochs=40"' 'budget { max_tflop: 100 }'
"$sweep_runner" --sweep par_budget.pbtxt --runs_dir runs --status >/dev/null ||
  fail "a raised budget was refused"
echo PASS
