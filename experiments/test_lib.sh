# Sourced by the experiments' shell tests, which drive the real runner on the tiny synthetic
# experiment:
#
#   source "$TEST_SRCDIR/malaria/experiments/test_lib.sh" NAME
#
# sets $runner and $config from the runfiles, makes a fresh $work ($TEST_TMPDIR/NAME) and cd's
# into it (no data there: the synthetic fallback is generated in data/cache), clears the variables
# that would redirect a run (data, runs, workspace, torchrun's and the launcher's), and defines
# fail, wait_for_epochs, one_run and interrupt_run.

runner="$TEST_SRCDIR/malaria/experiments/run_experiment"
config="$TEST_SRCDIR/malaria/experiments/testdata/tiny_synthetic.pbtxt"
work="$TEST_TMPDIR/$1"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
unset MALARIA_DATA MALARIA_RUNS_DIR BUILD_WORKSPACE_DIRECTORY WORLD_SIZE RANK LOCAL_RANK \
  MASTER_ADDR MASTER_PORT NNODES NODE_RANK

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# wait_for_epochs RUNS_DIR N: until the one run under RUNS_DIR has recorded N epochs (2 minutes).
wait_for_epochs() {
  local csv
  for _ in $(seq 1 1200); do
    csv=("$1"/*/*/metrics.csv)
    if [[ ${#csv[@]} -eq 1 && -f "${csv[0]}" && $(wc -l <"${csv[0]}") -gt $2 ]]; then return; fi
    sleep 0.1
  done
  fail "no $2 epochs recorded under $1"
}

# one_run RUNS_DIR: prints the run directory under RUNS_DIR (any experiment name); fails unless
# there is exactly one.
one_run() {
  local runs=() d
  for d in "$1"/*/*/; do
    [[ -d "$d" ]] && runs+=("${d%/}")
  done
  [[ ${#runs[@]} -eq 1 ]] || fail "${#runs[@]} run directories under $1, expected one"
  echo "${runs[0]}"
}

# interrupt_run PID RUNS_DIR N LOG: once the run under RUNS_DIR has recorded N epochs, sends SIGINT
# to PID (a runner or launcher started in the background, writing LOG), shows LOG, and checks that
# PID exits with 130 and the run is marked INTERRUPTED; sets $interrupted to the run directory.
# (Not in a command substitution: PID must be this shell's child to be waited for.)
interrupt_run() {
  wait_for_epochs "$2" "$3"
  kill -INT "$1"
  local status=0
  wait "$1" || status=$?
  cat "$4"
  [[ $status -eq 130 ]] || fail "the interrupted run exited with $status, not 130"
  interrupted=$(one_run "$2")
  grep -q "status: INTERRUPTED" "$interrupted/run_info.pbtxt" ||
    fail "$interrupted is not marked INTERRUPTED"
}
