#!/usr/bin/env bash
# --all_folds --resume through the real runner (how an experiment target with all_folds = True
# resumes a fold), on the tiny experiment split into two patient folds: a fold started through the
# target with `--set name=...` and interrupted resumes through the same target, and the aggregate
# then names the fold still missing; a run is not resumed through another experiment's config, and
# the refusal leaves it untouched. (//tools:tools_test runs every fold with --all_folds.)
set -euo pipefail

source "$TEST_SRCDIR/malaria/experiments/test_lib.sh" kfold
short=(--set data.split.patient_kfold.folds=2 --set "training.stage[0].lr_find=false"
  --set "training.stage[1].epochs=1")

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
grep -qF "is a run of tiny_fold1 (experiments/testdata/tiny_synthetic.pbtxt), not of another_experiment (another.pbtxt)" \
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
