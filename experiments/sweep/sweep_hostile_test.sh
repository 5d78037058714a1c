#!/usr/bin/env bash
# What a hostile but realistic user does to a sweep, through the real run_sweep, validate_sweep and
# compare_runs on the tiny 2-fold experiment:
# - a value only a training ingredient refuses is refused before anything runs; a trial the machine
#   refuses when it starts is recorded FAILED and the sweep goes on;
# - plans too large to list, and axes the sweep sets itself or twice, are refused at once;
# - two sweeps on one root at once run each trial fold exactly once (claims);
# - a sweep never run is not shown finished; --status writes nothing; a failed Slurm submission
#   leaves no script;
# - an experiment edited under a sweep, or a budget lowered below what ran, is refused and leaves
#   the kept sweep as it was;
# - one Ctrl-C to the terminal's process group is one interrupt for each --jobs child.
set -euo pipefail
source "$TEST_SRCDIR/malaria/experiments/sweep/sweep_test_lib.sh" sweep_hostile
validator="$TEST_SRCDIR/malaria/experiments/sweep/validate_sweep"
compare="$TEST_SRCDIR/malaria/tools/compare_runs"

# refused NAME PATTERN ARGS...: run_sweep exits 2 within 30 s naming PATTERN and writes no root.
refused() {
  local name=$1 pattern=$2 status=0
  shift 2
  timeout 30 "$sweep_runner" --runs_dir "$work/refused_runs" "$@" >"$name.log" 2>&1 || status=$?
  cat "$name.log"
  [[ $status -eq 2 ]] || fail "$name: exit status $status, not 2"
  grep -qF -- "$pattern" "$name.log" || fail "$name: the message lacks '$pattern'"
  [[ ! -e "$work/refused_runs" ]] || fail "$name: wrote $(find "$work/refused_runs")"
  echo "ok: $name"
}

# 1. A value only the lookahead ingredient refuses: named with its candidate before any trial.
make_sweep alpha.pbtxt alpha 'set: "training.lookahead.steps=5"' \
  'axis { field: "training.lookahead.alpha" values: ["0.5", "2", "0.8"] }'
refused alpha_value "training.lookahead.alpha: must be in (0, 1], got 2" --sweep alpha.pbtxt
grep -qF "candidate 1 (training.stage[0].lr.max=1e-3, training.loss.label_smoothing=0, training.lookahead.alpha=2)" \
  alpha_value.log || fail "the candidate is not named"
status=0
"$validator" --workspace "$work" alpha.pbtxt >alpha_validate.log 2>&1 || status=$?
[[ $status -ne 0 ]] && grep -qF "training.lookahead.alpha: must be in (0, 1], got 2" alpha_validate.log ||
  fail "validate_sweep accepted the sweep: $(cat alpha_validate.log)"

# A trial refused when it starts (FLOAT16 mixed precision needs CUDA; this machine has none): it is
# recorded FAILED, not started, and the next trial runs.
cat >precision.pbtxt <<END
name: "precision"
experiment: "$experiment"
folds: [0]
axis { field: "training.precision" values: ["FLOAT16", "FLOAT32"] }
grid {}
END
status=0
"$sweep_runner" --sweep precision.pbtxt --runs_dir runs >precision.log 2>&1 || status=$?
cat precision.log
[[ $status -eq 1 ]] || fail "a sweep with a refused trial exited $status, not 1"
failed_run=$(dirname "$(grep -l "^status: FAILED" runs/precision-t000/*/run_info.pbtxt)")
grep -q "^not_started: true" "$failed_run/run_info.pbtxt" || fail "the refusal is not marked not_started"
grep -q "^reason: \"refused before it started: training.precision: FLOAT16 is CUDA mixed precision" \
  "$failed_run/run_info.pbtxt" || fail "the refusal's reason is not recorded"
[[ $(count_status runs COMPLETED) -eq 1 ]] || fail "the sweep did not go on to trial 1"
"$sweep_runner" --sweep precision.pbtxt --runs_dir runs --status >precision_status.log
grep -qE "^0 +FLOAT16 .* failed$" precision_status.log || fail "trial 0 is not shown failed"
grep -qE "^1 \* +FLOAT32 .* done$" precision_status.log || fail "trial 1 is not shown done and best"
echo "ok: refused_trial_recorded"

# 2. Plans too large to list: refused at once, each limit named.
make_sweep huge.pbtxt huge \
  'axis { field: "seed" range { min: 1 max: 10000 points: 10000 integer: true } }' \
  'axis { field: "data.batch_size" range { min: 8 max: 5007 points: 5000 integer: true } }'
refused huge_grid "the grid has 4e+08 combinations; a sweep plans at most 10000 trials" --sweep huge.pbtxt
make_sweep points.pbtxt points 'axis { field: "seed" range { min: 1 max: 9 points: 2147483647 } }'
refused huge_points "range.points: must be <= 10000" --sweep points.pbtxt
sed 's/^grid {}/random { trials: 2000000000 }/' "$tiny_sweep" |
  sed "s|^experiment: .*|experiment: \"$experiment\"|; s|^name: .*|name: \"draws\"|" >draws.pbtxt
refused huge_random "random.trials: must be in [1, 10000], got 2000000000" --sweep draws.pbtxt

# Axes the sweep sets itself, a field on two axes, an over-long name: refused before anything.
make_sweep fold.pbtxt fold 'axis { field: "data.split.patient_kfold.fold" values: ["0", "1"] }'
refused fold_axis "sets data.split.patient_kfold.fold, which the sweep sets itself" --sweep fold.pbtxt
make_sweep named.pbtxt named 'axis { field: "name" values: ["a", "b"] }'
refused name_axis "axis[2] (name).field: sets name, which the sweep sets itself" --sweep named.pbtxt
make_sweep twice.pbtxt twice 'axis { field: "training.loss.label_smoothing" values: ["0.2"] }'
refused twice_axis "sets what axis[1] (training.loss.label_smoothing) sets: one axis per field" \
  --sweep twice.pbtxt
long=$(printf 'n%.0s' $(seq 1 300))
make_sweep long_name.pbtxt "$long"
refused long_name "name: must be 1 to 200 letters" --sweep long_name.pbtxt

# 3. Two sweeps on one root at once: every trial fold runs exactly once.
make_sweep both.pbtxt both
"$sweep_runner" --sweep both.pbtxt --runs_dir runs >both1.log 2>&1 &
first=$!
"$sweep_runner" --sweep both.pbtxt --runs_dir runs >both2.log 2>&1 &
second=$!
wait $first || fail "the first of two sweeps exited $?: $(cat both1.log)"
wait $second || fail "the second of two sweeps exited $?: $(cat both2.log)"
check_sweep_complete runs both
[[ $(ls -d runs/both-t*/* | wc -l) -eq 16 ]] ||
  fail "two sweeps at once made $(ls -d runs/both-t*/* | wc -l) runs, not 16"
echo "ok: two_sweeps_at_once ($(grep -c "left to it" both1.log both2.log | paste -sd' ') folds left)"

# 4 and 6. A sweep never run: --status on a new root writes nothing; a failed Slurm submission
# keeps the sweep but leaves no script; compare_runs then says nothing is done, not finished.
make_sweep never.pbtxt never
"$sweep_runner" --sweep never.pbtxt --runs_dir fresh_root --status >never_status.log
grep -q "sweep never: 0 of 8 planned trial(s) done" never_status.log || fail "--status: $(cat never_status.log)"
[[ ! -e fresh_root ]] || fail "--status wrote $(find fresh_root)"
mkdir -p fakebin
printf '#!/bin/sh\necho "sbatch: error: Batch job submission failed: Invalid account" >&2\nexit 1\n' \
  >fakebin/sbatch
chmod +x fakebin/sbatch
status=0
PATH="$work/fakebin:$PATH" "$sweep_runner" --sweep never.pbtxt --runs_dir fresh_root \
  --executor slurm >never_slurm.log 2>&1 || status=$?
cat never_slurm.log
[[ $status -ne 0 ]] && grep -q "Invalid account" never_slurm.log || fail "a failed submission exited $status"
[[ -z "$(find fresh_root -name '*.sh')" ]] || fail "a failed submission left $(find fresh_root -name '*.sh')"
"$compare" fresh_root --sweep never >never_compare.log 2>&1 || true
cat never_compare.log
grep -q "sweep never: 0 of 8 planned trial(s) done" never_compare.log ||
  fail "compare_runs does not say 0 of 8 done"
! grep -q "finished" never_compare.log || fail "compare_runs calls a sweep never run finished"
status=0
"$compare" fresh_root --sweep '' >empty_sweep.log 2>&1 || status=$?
[[ $status -eq 2 ]] && grep -q "is not a sweep name" empty_sweep.log ||
  fail "compare_runs --sweep '' exited $status: $(cat empty_sweep.log)"
echo "ok: never_run"

# 5. An experiment edited under a sweep: refused, the change named, the kept sweep as it was. A
# budget lowered below what ran: the same.
sed 's/^seed: 3/seed: 4/' "$experiment" >edited_kfold.pbtxt
make_sweep kept.pbtxt kept 'folds: [0]' 'budget { max_trials: 2 }'
sed -i "s|^experiment: .*|experiment: \"$work/edited_kfold.pbtxt\"|" kept.pbtxt
"$sweep_runner" --sweep kept.pbtxt --runs_dir runs >kept1.log 2>&1 || fail "kept: $(cat kept1.log)"
before=$(md5sum runs/sweeps/kept.pbtxt)
sed -i 's/^seed: 4/seed: 5/; s/image_size: 32$/image_size: 40/' edited_kfold.pbtxt
status=0
"$sweep_runner" --sweep kept.pbtxt --runs_dir runs >kept2.log 2>&1 || status=$?
cat kept2.log
[[ $status -eq 2 ]] || fail "an edited experiment exited $status, not 2"
grep -qF "modified: seed: 4 -> 5" kept2.log || fail "the changed seed is not named"
grep -qF "modified: data.image_size: 32 -> 40" kept2.log || fail "the changed image size is not named"
sed -i 's/^seed: 5/seed: 4/; s/image_size: 40$/image_size: 32/' edited_kfold.pbtxt
sed -i 's/max_trials: 2/max_trials: 1/' kept.pbtxt
status=0
"$sweep_runner" --sweep kept.pbtxt --runs_dir runs >kept3.log 2>&1 || status=$?
cat kept3.log
[[ $status -eq 2 ]] && grep -qF "budget.max_trials is 1 but trial 1 already has runs" kept3.log ||
  fail "a lowered budget exited $status"
[[ "$before" == "$(md5sum runs/sweeps/kept.pbtxt)" ]] || fail "a refused change rewrote the kept sweep"
sed -i 's/max_trials: 1/max_trials: 3/' kept.pbtxt
"$sweep_runner" --sweep kept.pbtxt --runs_dir runs >kept4.log 2>&1 || fail "a raised budget: $(cat kept4.log)"
grep -q "max_trials: 3" runs/sweeps/kept.pbtxt || fail "the raised budget is not kept"
echo "ok: changes_under_a_sweep"

# 9. Ctrl-C in a terminal signals the whole foreground process group: each --jobs child is
# interrupted once (resumably), never twice.
make_sweep ctrlc.pbtxt ctrlc 'set: "training.stage[0].epochs=40"'
setsid "$sweep_runner" --sweep ctrlc.pbtxt --runs_dir runs --jobs 2 >ctrlc.log 2>&1 &
leader=$!
wait_for 120 a_run_has_epochs runs 1
kill -INT -- -"$leader"
status=0
wait "$leader" || status=$?
cat ctrlc.log
[[ $status -eq 130 ]] || fail "the interrupted sweep exited $status, not 130"
! grep -q "Second interrupt" ctrlc.log || fail "one Ctrl-C was taken as two"
[[ $(grep -l "^status: RUNNING" runs/ctrlc-t*/*/run_info.pbtxt 2>/dev/null | wc -l) -eq 0 ]] ||
  fail "a run was left RUNNING"
echo "ok: one_ctrl_c"
echo PASS
