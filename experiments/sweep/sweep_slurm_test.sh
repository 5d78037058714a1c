#!/usr/bin/env bash
# The Slurm executor against a real Slurm: Debian's slurm-wlm started by the test as a one-node
# cluster (slurm_test_cluster.sh; skipped when slurm-wlm is not installed or not root).
# - The tiny sweep (8 trials x 2 patient folds) submitted as a job array: every array task runs
#   its trial with the platform's own binary against the tracker root; all 16 runs complete.
# - scancel (SIGTERM) in the middle: the cut-off runs are INTERRUPTED, none left RUNNING; the
#   sweep submitted again resumes them (not started again) and finishes.
# - A task requeued while its run trains (scontrol requeue) resumes that run when it runs again.
# - `srun -n 2 run_experiment --config C` is one data-parallel run of two ranks, from Slurm's
#   environment alone.
set -euo pipefail
source "$TEST_SRCDIR/malaria/experiments/sweep/sweep_test_lib.sh" sweep_slurm
source "$TEST_SRCDIR/malaria/experiments/sweep/slurm_test_cluster.sh" "$work/slurm"
runner="$TEST_SRCDIR/malaria/experiments/run_experiment"

# 1. The sweep as a job array.
make_sweep grid.pbtxt grid
"$sweep_runner" --sweep grid.pbtxt --runs_dir runs --executor slurm >submit.log 2>&1 ||
  { cat submit.log; fail "submitting exited $?"; }
cat submit.log
grep -q "submitted trial(s) 0, 1, 2, 3, 4, 5, 6, 7 as Slurm job array [0-9]*" submit.log ||
  fail "no job array submitted"
wait_for_queue_empty 120
check_sweep_complete runs grid
[[ $(ls runs/sweeps/grid.slurm/*_*.out | wc -l) -eq 8 ]] || fail "not one log per array task"
grep -q "Completed in" runs/sweeps/grid.slurm/*_3.out || fail "array task 3 did not run its trial"
"$sweep_runner" --sweep grid.pbtxt --runs_dir runs --status >status.log
cat status.log
[[ $(grep -c " done$" status.log) -eq 8 ]] || fail "the sweep's status does not show 8 trials done"
"$sweep_runner" --sweep grid.pbtxt --runs_dir runs --executor slurm >again.log 2>&1
grep -q "nothing to submit: the sweep is finished" again.log || fail "a finished sweep was submitted again"

# 2. scancel in the middle, then submitted again.
make_sweep cut.pbtxt cut 'set: "training.stage[0].epochs=30"'
"$sweep_runner" --sweep cut.pbtxt --runs_dir runs --executor slurm >cut1.log 2>&1 ||
  { cat cut1.log; fail "submitting exited $?"; }
job=$(sed -n 's/.* as Slurm job array \([0-9]*\).*/\1/p' cut1.log)
[[ -n "$job" ]] || fail "no job id in: $(cat cut1.log)"
wait_for 120 a_run_has_epochs runs 2
scancel "$job"
wait_for_queue_empty 120
interrupted=$(grep -l "^status: INTERRUPTED" runs/cut-t*/*/run_info.pbtxt | xargs -r -n1 dirname)
[[ -n "$interrupted" ]] || fail "scancel left no INTERRUPTED run: $(grep -h '^status' runs/cut-t*/*/run_info.pbtxt)"
if grep -q "^status: RUNNING" runs/cut-t*/*/run_info.pbtxt; then fail "scancel left a run RUNNING"; fi
echo "cancelled; interrupted: $interrupted"
"$sweep_runner" --sweep cut.pbtxt --runs_dir runs --executor slurm >cut2.log 2>&1 ||
  { cat cut2.log; fail "submitting again exited $?"; }
cat cut2.log
grep -q "resumable" cut2.log || fail "the status before submitting again shows no resumable trial"
wait_for_queue_empty 600
check_sweep_complete runs cut
for run in $interrupted; do
  grep -q "^status: COMPLETED" "$run/run_info.pbtxt" || fail "$run was not finished"
  grep -q "^resumed_at:" "$run/run_info.pbtxt" || fail "$run was not resumed"
done

# 3. A requeued task (scontrol requeue: its run stopped, the task queued again) resumes its run.
make_sweep rq.pbtxt rq 'set: "training.stage[0].epochs=30"' 'budget { max_trials: 1 }'
"$sweep_runner" --sweep rq.pbtxt --runs_dir runs --executor slurm >rq.log 2>&1 ||
  { cat rq.log; fail "submitting exited $?"; }
job=$(sed -n 's/.* as Slurm job array \([0-9]*\).*/\1/p' rq.log)
wait_for 120 a_run_has_epochs runs 2
requeued=$cut
scontrol requeue "${job}_0"
# Slurm holds a requeued job back for a while (its begin time): release it once it is pending.
released_requeued() {
  [[ "$(squeue -h -j "${job}_0" -o '%T %r')" == "PENDING BeginTime" ]] || return 1
  scontrol update jobid="${job}_0" StartTime=now
  sleep 1
  [[ "$(squeue -h -j "${job}_0" -o '%r')" != "BeginTime" ]]
}
wait_for 60 released_requeued
wait_for_queue_empty 120
cat runs/sweeps/rq.slurm/"${job}"_0.out | grep "=====\|INTERRUPTED\|Resuming\|Completed"
grep -q "^status: COMPLETED" "$requeued/run_info.pbtxt" || fail "the requeued task's run did not complete"
grep -q "^resumed_at:" "$requeued/run_info.pbtxt" || fail "the requeued task did not resume its run"
[[ $(grep -l "^status: COMPLETED" runs/rq-t000/*/run_info.pbtxt | wc -l) -eq 2 ]] ||
  fail "the requeued trial did not finish both folds"
[[ $(ls -d runs/rq-t000/* | wc -l) -eq 2 ]] || fail "the requeued task started a run again"

# 4. srun: one data-parallel run of two ranks.
srun -n 2 "$runner" --config "$experiment" --runs_dir dp_runs --set name=dp >srun.log 2>&1 ||
  { cat srun.log; fail "srun -n 2 run_experiment exited $?"; }
dp=$(ls -d dp_runs/dp/*)
[[ $(echo "$dp" | wc -l) -eq 1 ]] || fail "srun -n 2 made $(echo "$dp" | wc -l) runs, not one"
grep -q "^status: COMPLETED" "$dp/run_info.pbtxt" || fail "the srun run did not complete"
grep -q "^world_size: 2" "$dp/run_info.pbtxt" || fail "the srun run was not two ranks"
[[ -f "$dp/logs/rank1.log" ]] || fail "rank 1 wrote no log"
echo PASS
