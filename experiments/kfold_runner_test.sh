#!/usr/bin/env bash
# --all_folds --resume through the real runner (how an experiment target with all_folds = True
# resumes a fold), on the tiny experiment split into two patient folds: a fold started through the
# target with `--set name=...` and interrupted resumes through the same target, and the aggregate
# then names the fold still missing; a run is not resumed through another experiment's config, and
# the refusal leaves it untouched; an --all_folds job cut off in a fold goes on after its resume
# (given with a trailing '/') with the folds it had not started. (//tools:tools_test runs every fold with --all_folds.)
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
# An --all_folds job interrupted in its first fold. A copy of it (another tracker root) beside an
# unfinished run of fold 1: resuming the copy completes fold 0, names fold 1's unfinished run and
# starts nothing. The job itself, resumed through its target, completes fold 0, then runs the fold
# it had not started with the job's overrides, and aggregates both.
"$runner" --config "$config" --runs_dir "$work/job" --all_folds "${short[@]}" --set name=tiny_job \
  >"$work/job.log" 2>&1 &
interrupt_run $! "$work/job" 1 "$work/job.log"
job_run=$interrupted
grep -q "fold: 0" "$job_run/config.pbtxt" || fail "the job's first run is not fold 0"
mkdir -p "$work/copy/tiny_job"
cp -r "$job_run" "$work/copy/tiny_job/"
copy_run="$work/copy/tiny_job/$(basename "$job_run")"
cp -r "$job_run" "$work/copy/tiny_job/fold1-unfinished"
sed -i 's/fold: 0/fold: 1/' "$work/copy/tiny_job/fold1-unfinished/config.pbtxt"
"$runner" --config "$config" --all_folds --resume "$copy_run" >"$work/copy.log" 2>&1 ||
  { cat "$work/copy.log"; fail "resuming the copy exited with $?"; }
cat "$work/copy.log"
grep -qF "fold 1 has an unfinished run, not started again: --resume $work/copy/tiny_job/fold1-unfinished" \
  "$work/copy.log" || fail "the unfinished fold-1 run is not named"
! grep -q "===== fold" "$work/copy.log" || fail "a fold was started beside an unfinished run"
grep -q "missing: fold(s) 1" "$work/copy.log" || fail "the aggregate does not name fold 1"

# Given with a trailing '/' (as a shell's completion writes it): the run's folder is still its
# experiment's, and fold 1 goes beside it.
"$runner" --config "$config" --all_folds --resume "$job_run/" >"$work/job_resume.log" 2>&1 ||
  { cat "$work/job_resume.log"; fail "resuming the job exited with $?"; }
cat "$work/job_resume.log"
grep -q "===== fold 1 of 2 =====" "$work/job_resume.log" || fail "fold 1 was not run after the resume"
grep -q "tiny_job: patient-level 2-fold cross-validation, 2 of 2 folds" "$work/job_resume.log" ||
  fail "no 2-fold aggregate after the job's resume"
runs=("$work"/job/tiny_job/*/)
[[ ${#runs[@]} -eq 2 ]] || fail "${#runs[@]} runs under $work/job/tiny_job, expected 2"
fold1=$(grep -l "fold: 1" "$work"/job/tiny_job/*/config.pbtxt)
fold1=$(dirname "$fold1")
grep -q "status: COMPLETED" "$fold1/run_info.pbtxt" || fail "fold 1 did not complete"
for o in name=tiny_job "training.stage\[1\].epochs=1" data.split.patient_kfold.fold=1; do
  grep -q "overrides: \"$o\"" "$fold1/run_info.pbtxt" || fail "fold 1 was run without $o"
done

# A job started outside any workspace, with relative paths (a copied config, a runs folder named
# from the current folder), resumes from any other folder: the record holds absolute paths.
mkdir -p "$work/elsewhere"
cp "$config" "$work/elsewhere/kf.pbtxt"
(cd "$work/elsewhere" && exec "$runner" --config kf.pbtxt --runs_dir runs_kf --all_folds "${short[@]}" \
  --set name=tiny_elsewhere) >"$work/elsewhere.log" 2>&1 &
interrupt_run $! "$work/elsewhere/runs_kf" 1 "$work/elsewhere.log"
far_run=$interrupted
grep -q "config_file: \"$work/elsewhere/kf.pbtxt\"" "$far_run/run_info.pbtxt" ||
  fail "the config file is not recorded absolute: $(grep config_file "$far_run/run_info.pbtxt")"
grep -q "command_line: \"$work/elsewhere/runs_kf\"" "$far_run/run_info.pbtxt" ||
  fail "the runs folder is not recorded absolute"
(cd / && exec "$runner" --all_folds --resume "$far_run") >"$work/far_resume.log" 2>&1 ||
  { cat "$work/far_resume.log"; fail "--all_folds --resume from / exited with $?"; }
cat "$work/far_resume.log"
grep -q "===== fold 1 of 2 =====" "$work/far_resume.log" || fail "the job's fold 1 did not run after the resume"
grep -q "tiny_elsewhere: patient-level 2-fold cross-validation, 2 of 2 folds" "$work/far_resume.log" ||
  fail "no 2-fold aggregate after resuming from /"
echo PASS
