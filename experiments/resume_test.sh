#!/usr/bin/env bash
# Ctrl-C and --resume through the real runner: a tiny experiment interrupted by SIGINT mid-training
# is marked INTERRUPTED; --resume finishes it, and its metrics, final report and predictions are
# exactly those of an uninterrupted run with the same seed.
set -euo pipefail

source "$TEST_SRCDIR/malaria/experiments/test_lib.sh" resume

"$runner" --config "$config" --runs_dir "$work/reference" >"$work/reference.log" 2>&1 ||
  { cat "$work/reference.log"; fail "the reference run failed"; }
reference=$(one_run "$work/reference")

"$runner" --config "$config" --runs_dir "$work/runs" >"$work/cut.log" 2>&1 &
# Interrupt once two epochs are recorded (the run has four more to go).
interrupt_run $! "$work/runs" 2 "$work/cut.log"
run=$interrupted
grep -q "reason: \"interrupted" "$run/run_info.pbtxt" || fail "no reason recorded"
rows=$(($(wc -l <"$run/metrics.csv") - 1))
[[ $rows -ge 2 && $rows -lt 5 ]] || fail "$rows epochs recorded when interrupted"

"$runner" --config "$config" --resume "$run" >"$work/resume.log" 2>&1 ||
  { cat "$work/resume.log"; fail "--resume failed"; }
cat "$work/resume.log"
grep -q "Resuming $run after" "$work/resume.log" || fail "no resume message"
grep -q "status: COMPLETED" "$run/run_info.pbtxt" || fail "not COMPLETED after --resume"
grep -q "resumed_at: " "$run/run_info.pbtxt" || fail "the resume is not recorded"

diff <(cut -d, -f1-6 "$reference/metrics.csv") <(cut -d, -f1-6 "$run/metrics.csv") ||
  fail "the resumed run's metrics differ from the uninterrupted run's"
diff "$reference/metrics.pbtxt" "$run/metrics.pbtxt" || fail "final metrics differ"
diff "$reference/predictions.csv" "$run/predictions.csv" >/dev/null || fail "final predictions differ"

# A completed run has nothing to resume; overrides are refused; nothing is changed by either.
before=$(md5sum "$run/run_info.pbtxt")
status=0
"$runner" --config "$config" --resume "$run" >"$work/again.log" 2>&1 || status=$?
[[ $status -eq 2 ]] && grep -q "is COMPLETED; there is nothing to resume" "$work/again.log" ||
  fail "resuming a completed run: status $status"
status=0
"$runner" --resume "$run" --set seed=1 >"$work/set.log" 2>&1 || status=$?
[[ $status -eq 2 ]] && grep -q "takes no --set" "$work/set.log" || fail "--resume with --set accepted"
[[ "$before" == "$(md5sum "$run/run_info.pbtxt")" ]] || fail "a refused resume changed the run"
# A run resumed where training.precision resolves otherwise: started with BFLOAT16_WHERE_AVAILABLE
# and oneDNN capped below its bfloat16 kernels (float32), resumed uncapped. On a CPU with the units
# it finishes in bfloat16 and run_info records that, with a warning naming both; elsewhere (or
# capped for the whole suite, as tools/cpu_paths_check.sh runs it) it stays float32, no warning.
ONEDNN_MAX_CPU_ISA=AVX2 "$runner" --config "$config" --runs_dir "$work/mixed" \
  --set training.precision=BFLOAT16_WHERE_AVAILABLE >"$work/mixed.log" 2>&1 &
interrupt_run $! "$work/mixed" 1 "$work/mixed.log"
mixed=$interrupted
grep -q 'precision: "FLOAT32"' "$mixed/run_info.pbtxt" || fail "the capped start is not FLOAT32"
"$runner" --resume "$mixed" >"$work/mixed_resume.log" 2>&1 ||
  { cat "$work/mixed_resume.log"; fail "the resume on the uncapped oneDNN failed"; }
if grep -qw avx512_bf16 /proc/cpuinfo && [[ -z "${ONEDNN_MAX_CPU_ISA:-}${DNNL_MAX_CPU_ISA:-}" ]]; then
  grep -q 'precision: "BFLOAT16"' "$mixed/run_info.pbtxt" || fail "the resumed precision is not recorded"
  grep -q 'warnings: ".* in BFLOAT16 after training in FLOAT32' "$mixed/run_info.pbtxt" ||
    fail "no warning recorded: $(cat "$mixed/run_info.pbtxt")"
  grep -q "WARNING: resumed on .* in BFLOAT16 after training in FLOAT32" "$work/mixed_resume.log" ||
    fail "the resume does not warn: $(cat "$work/mixed_resume.log")"
else
  grep -q 'precision: "FLOAT32"' "$mixed/run_info.pbtxt" || fail "FLOAT32 not kept"
  ! grep -q "after training in" "$mixed/run_info.pbtxt" || fail "a warning without a change"
fi
echo PASS
