#!/usr/bin/env bash
# compare_runs --sweep over a real sweep (the tiny 8 trials x 2 folds): the trials table with the
# best marked, then the comparison of the sweep's 16 runs alone; an unknown sweep is named.
set -euo pipefail
source "$TEST_SRCDIR/malaria/experiments/sweep/sweep_test_lib.sh" compare_sweep
compare="$TEST_SRCDIR/malaria/tools/compare_runs"
make_sweep grid.pbtxt grid
"$sweep_runner" --sweep grid.pbtxt --runs_dir runs >sweep.log 2>&1 || { cat sweep.log; fail "the sweep exited $?"; }
# Another experiment's run in the same root is left out of the sweep's comparison.
mkdir -p runs/other && cp -r "$(ls -d runs/grid-t000/* | head -1)" runs/other/
sed -i '/^sweep {/,/^}/d' runs/other/*/run_info.pbtxt
"$compare" runs --sweep grid >compare.log 2>&1 || { cat compare.log; fail "compare_runs --sweep exited $?"; }
head -14 compare.log
grep -q "^sweep grid: 8 of 8 planned trial(s) done" compare.log || fail "no sweep summary"
[[ $(grep -c "^[0-7] \*" compare.log) -eq 1 ]] || fail "not one best trial marked"
grep -q "^16 run(s)" compare.log || fail "the comparison is not of the sweep's 16 runs"
grep -q "^other/" compare.log && fail "a run outside the sweep was compared"
status=0
"$compare" runs --sweep nope >nope.log 2>&1 || status=$?
[[ $status -eq 2 ]] || fail "an unknown sweep exited $status, not 2"
grep -q "no sweep 'nope' under .*runs (no .*runs/sweeps/nope.pbtxt)" nope.log || fail "$(cat nope.log)"
echo PASS
