#!/usr/bin/env bash
# --all_folds through the real runner (what an experiment target with all_folds = True runs), on the
# tiny experiment split into two patient folds: every fold runs into one experiment folder and the
# aggregate is printed; a fold started through the target with `--set name=...` and interrupted
# resumes through the same target, and the aggregate then names the fold still missing; a run is
# not resumed through another experiment's config, and the refusal leaves it untouched.
set -euo pipefail

source "$TEST_SRCDIR/malaria/experiments/test_lib.sh" kfold
short=(--set data.split.patient_kfold.folds=2 --set "training.stage[0].lr_find=false"
  --set "training.stage[1].epochs=1")

"$runner" --config "$config" --runs_dir "$work/all" --all_folds "${short[@]}" >"$work/all.log" 2>&1 ||
  { cat "$work/all.log"; fail "--all_folds exited with $?"; }
cat "$work/all.log"
grep -q "===== fold 0 of 2 =====" "$work/all.log" || fail "fold 0 was not run"
grep -q "===== fold 1 of 2 =====" "$work/all.log" || fail "fold 1 was not run"
runs=("$work"/all/tiny_synthetic/*/)
[[ ${#runs[@]} -eq 2 ]] || fail "${#runs[@]} runs, expected one per fold"
for f in 0 1; do
  grep -lq "overrides: \"data.split.patient_kfold.fold=$f\"" "${runs[@]/%/run_info.pbtxt}" ||
    fail "no run of fold $f"
done
for r in "${runs[@]}"; do
  grep -q "status: COMPLETED" "$r/run_info.pbtxt" || fail "$r did not complete"
done
grep -q "tiny_synthetic: patient-level 2-fold cross-validation, 2 of 2 folds" "$work/all.log" ||
  fail "no aggregate over both folds"
grep -q "^mean +- sd" "$work/all.log" || fail "no mean +- sd row"

# Fold 1 alone under another name, interrupted after its first epoch.
"$runner" --config "$config" --runs_dir "$work/cut" --all_folds "${short[@]}" \
  --set data.split.patient_kfold.fold=1 --set name=tiny_fold1 >"$work/cut.log" 2>&1 &
interrupt_run $! "$work/cut" 1 "$work/cut.log"
run=$interrupted
[[ "$run" == "$work/cut/tiny_fold1/"* ]] || fail "the renamed run is in $run"

# Through another experiment's config: refused, nothing changed.
sed 's/^name: .*/name: "another_experiment"/' "$config" >"$work/another.pbtxt"
before=$(md5sum "$run/run_info.pbtxt" "$run/metrics.csv")
status=0
"$runner" --config "$work/another.pbtxt" --all_folds --resume "$run" >"$work/another.log" 2>&1 ||
  status=$?
cat "$work/another.log"
[[ $status -eq 2 ]] || fail "resuming through another experiment's config exited $status, not 2"
grep -qF "is a run of tiny_fold1 (experiments/testdata/tiny_synthetic.pbtxt), not of another_experiment ($work/another.pbtxt)" \
  "$work/another.log" || fail "the refusal does not name both experiments and their configs"
[[ "$before" == "$(md5sum "$run/run_info.pbtxt" "$run/metrics.csv")" ]] ||
  fail "a refused resume changed the run"

# Through its own target (config + --all_folds): resumed, completed, the aggregate names fold 0.
"$runner" --config "$config" --all_folds --resume "$run" >"$work/resume.log" 2>&1 ||
  { cat "$work/resume.log"; fail "--all_folds --resume exited with $?"; }
cat "$work/resume.log"
grep -q "Resuming $run after" "$work/resume.log" || fail "no resume message"
grep -q "status: COMPLETED" "$run/run_info.pbtxt" || fail "not COMPLETED after --resume"
grep -q "tiny_fold1: patient-level 2-fold cross-validation, 1 of 2 folds" "$work/resume.log" ||
  fail "no aggregate after the resume"
grep -q "missing: fold(s) 0 (no COMPLETED run)" "$work/resume.log" ||
  fail "the aggregate does not name the missing fold"
echo PASS
