#!/usr/bin/env bash
# Data-parallel training through the real runner (2 processes on localhost, Gloo): a worker killed
# mid-epoch makes the other stop with a clear error within a bounded time, the run is marked
# FAILED, rank 0 owns the run directory (rank 1 only logs there), and --resume with another world
# size (1 process) loads the last checkpoint and completes the run. Ctrl-C stops every rank together
# (INTERRUPTED, resumed in 2 processes). Then two "machines" on
# localhost (NNODES=2, one launcher per node rank) train a run together.
set -euo pipefail

source "$TEST_SRCDIR/malaria/experiments/test_lib.sh" distributed

"$runner" --config "$config" --runs_dir "$work/runs" --nproc_per_node 2 >"$work/out.log" \
  2>"$work/err.log" &
launcher=$!
# Kill rank 1 once two epochs are recorded (the frozen stage and one unfrozen epoch: a checkpoint
# of the unfrozen stage exists, three epochs are left).
wait_for_epochs "$work/runs" 2
rank1=$(sed -n 's/.*rank 1: pid \([0-9]*\);.*/\1/p' "$work/err.log")
[[ -n "$rank1" ]] || { cat "$work/err.log"; fail "the launcher did not say rank 1's pid"; }
kill -KILL "$rank1"
killed_at=$(date +%s)
status=0
wait "$launcher" || status=$?
took=$(($(date +%s) - killed_at))
cat "$work/out.log" "$work/err.log"
[[ $status -ne 0 ]] || fail "the job succeeded although rank 1 was killed"
[[ $took -le 60 ]] || fail "the job took $took s to stop after rank 1 died"
grep -q "rank 1 (pid $rank1) was killed by signal 9" "$work/err.log" ||
  fail "the launcher did not report rank 1's death"
grep -q "data-parallel" "$work/err.log" || fail "no clear error from the surviving rank"

run=$(one_run "$work/runs")
grep -q "status: FAILED" "$run/run_info.pbtxt" || fail "not marked FAILED"
grep -q "reason: .*data-parallel" "$run/run_info.pbtxt" || fail "the reason does not say why"
grep -q "world_size: 2" "$run/run_info.pbtxt" || fail "the world size is not recorded"
[[ -s "$run/logs/rank1.log" ]] || fail "rank 1 wrote no log in the run"
grep -q "rank 1 of 2" "$run/logs/rank1.log" || fail "rank 1's log does not say who wrote it"
[[ -f "$run/checkpoints/unfrozen_last.pt" ]] || fail "rank 0 saved no checkpoint"
[[ $(wc -l <"$run/metrics.csv") -ge 3 ]] || fail "recorded epochs were lost"

# Resume in one process: the last checkpoint loads and the run completes.
"$runner" --resume "$run" >"$work/resume.log" 2>&1 || { cat "$work/resume.log"; fail "--resume failed"; }
cat "$work/resume.log"
grep -q "Resuming $run after" "$work/resume.log" || fail "no resume message"
grep -q "status: COMPLETED" "$run/run_info.pbtxt" || fail "not COMPLETED after --resume"
grep -q "world_size: 1" "$run/run_info.pbtxt" || fail "the resumed world size is not recorded"
[[ $(($(wc -l <"$run/metrics.csv") - 1)) -eq 5 ]] || fail "not every epoch is in metrics.csv"
[[ -f "$run/predictions.csv" ]] || fail "no final evaluation"

# Ctrl-C on the launcher: every rank stops after the same batch, the run is INTERRUPTED (exit 130)
# and --resume finishes it, here in two processes again.
"$runner" --config "$config" --runs_dir "$work/ctrl_c" --nproc_per_node 2 >"$work/int.log" 2>&1 &
interrupt_run $! "$work/ctrl_c" 2 "$work/int.log"
run=$interrupted
[[ $(($(wc -l <"$run/metrics.csv") - 1)) -lt 5 ]] || fail "the interrupt came too late to test"
"$runner" --resume "$run" --nproc_per_node 2 >"$work/int_resume.log" 2>&1 ||
  { cat "$work/int_resume.log"; fail "--resume in two processes failed"; }
grep -q "status: COMPLETED" "$run/run_info.pbtxt" || fail "not COMPLETED after --resume"
[[ $(($(wc -l <"$run/metrics.csv") - 1)) -eq 5 ]] || fail "not every epoch is in metrics.csv"

# Several machines: one launcher per node with NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT; node
# 0's launcher hosts the store, rank 0 (on node 0) owns the run.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export NNODES=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port
NODE_RANK=1 "$runner" --config "$config" --runs_dir "$work/nodes" --nproc_per_node 1 \
  --set 'training.stage[1].epochs=1' >"$work/node1.log" 2>&1 &
node1=$!
status=0
NODE_RANK=0 "$runner" --config "$config" --runs_dir "$work/nodes" --nproc_per_node 1 \
  --set 'training.stage[1].epochs=1' >"$work/node0.log" 2>&1 || status=$?
wait "$node1" || status=$?
unset NNODES MASTER_ADDR MASTER_PORT
cat "$work/node0.log" "$work/node1.log"
[[ $status -eq 0 ]] || fail "the two-node job failed"
run=$(one_run "$work/nodes")
grep -q "status: COMPLETED" "$run/run_info.pbtxt" || fail "the two-node run is not COMPLETED"
grep -q "world_size: 2" "$run/run_info.pbtxt" || fail "the two-node run's world size"
grep -q "rank 1 of 2" "$run/logs/rank1.log" || fail "node 1's rank did not log in the run"
echo PASS
