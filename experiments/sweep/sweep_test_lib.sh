# Sourced by the sweep tests, which drive the real sweep runner on the tiny 2-fold experiment:
#
#   source "$TEST_SRCDIR/malaria/experiments/sweep/sweep_test_lib.sh" NAME
#
# sets $sweep_runner, $experiment (absolute), makes a fresh $work ($TEST_TMPDIR/NAME) and cd's into
# it (the synthetic data is made in data/cache there), clears the variables that would redirect a
# run, and defines fail, make_sweep, count_status and wait_for.

sweep_runner="$TEST_SRCDIR/malaria/experiments/sweep/run_sweep"
experiment="$TEST_SRCDIR/malaria/experiments/sweep/testdata/tiny_kfold.pbtxt"
tiny_sweep="$TEST_SRCDIR/malaria/experiments/sweep/testdata/tiny_sweep.pbtxt"
work="$TEST_TMPDIR/$1"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
unset MALARIA_DATA MALARIA_RUNS_DIR BUILD_WORKSPACE_DIRECTORY BUILD_WORKING_DIRECTORY WORLD_SIZE \
  RANK LOCAL_RANK MASTER_ADDR MASTER_PORT NNODES NODE_RANK

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# make_sweep FILE NAME [LINE...]: the test sweep (8 trials: 4 learning rates x 2 label
# smoothings, both folds) renamed NAME, its experiment absolute, with LINEs appended.
make_sweep() {
  local file=$1 name=$2
  shift 2
  sed "s|^name: .*|name: \"$name\"|; s|^experiment: .*|experiment: \"$experiment\"|" \
    "$tiny_sweep" >"$file"
  local line
  for line in "$@"; do echo "$line" >>"$file"; done
}

# count_status ROOT STATUS: how many run directories under ROOT record STATUS.
count_status() {
  grep -l "^status: $2\$" "$1"/*/*/run_info.pbtxt 2>/dev/null | wc -l
}

# at_least_completed ROOT N: N run directories under ROOT are COMPLETED.
at_least_completed() {
  [[ $(count_status "$1" COMPLETED) -ge $2 ]]
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds (polled every 0.05 s), or fail.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out waiting for: $*"
    sleep 0.05
  done
}

# a_run_has_epochs ROOT N: a RUNNING run under ROOT has recorded N epochs, and at most N + 6 (far
# from its end, so it is still running when the test stops it); sets $cut to it.
a_run_has_epochs() {
  local info dir lines
  for info in $(grep -l "^status: RUNNING" "$1"/*/*/run_info.pbtxt 2>/dev/null); do
    dir=$(dirname "$info")
    [[ -f "$dir/metrics.csv" ]] || continue
    lines=$(wc -l <"$dir/metrics.csv")
    if ((lines > $2 && lines <= $2 + 7)); then
      cut=$dir
      return 0
    fi
  done
  return 1
}

# check_sweep_complete ROOT NAME: every trial fold of the 8 x 2 has exactly one COMPLETED run.
check_sweep_complete() {
  local t f n
  for t in 0 1 2 3 4 5 6 7; do
    for f in 0 1; do
      n=$(grep -l "^status: COMPLETED" "$1/$2-t00$t"/*/run_info.pbtxt 2>/dev/null |
        xargs -r grep -l "^  fold: $f\$" | wc -l)
      [[ $n -eq 1 ]] || fail "trial $t fold $f of $2 has $n COMPLETED runs, not 1"
    done
  done
}
