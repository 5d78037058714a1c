#!/usr/bin/env bash
# Runs the test suite once per CPU code path, so a host with other vector units than this one
# (an AVX2-only EPYC, an old SSE-only Xeon, an AVX-512 Xeon) cannot turn it red unseen. LibTorch's
# kernels pick their code by the CPU they run on: ATen's vectorised operators
# (ATEN_CPU_CAPABILITY: default, avx2, avx512), oneDNN's convolutions (ONEDNN_MAX_CPU_ISA) and
# OpenBLAS's matrix products (OPENBLAS_CORETYPE); each variable caps or picks that choice, so one
# machine runs the code another host would. Paths the CPU cannot run (AVX-512 on an AVX2 host) are
# skipped and said so.
#
#   tools/cpu_paths_check.sh                      # bazel test //... on every path
#   tools/cpu_paths_check.sh //training/... //experiments:resume_test
#
# Prints one line per path and the data-parallel test's measured gaps; exits 1 if any path failed.
# Bazel caches test results per environment, so a second call re-runs only what changed.
set -uo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(//...)

flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { [[ " $flags " == *" $1 "* ]]; }

# name | needs (cpu flags) | environment
paths=(
  "native|sse4_1|"
  "avx512|avx512f avx512bw avx512vl avx512dq|ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=AVX512_CORE OPENBLAS_CORETYPE=SkylakeX"
  "avx2 (Zen)|avx2 fma|ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Zen"
  "avx2 (Haswell)|avx2 fma|ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell"
  "sse4.1|sse4_1|ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 OPENBLAS_CORETYPE=Prescott"
)

summary=()
failed=0
for entry in "${paths[@]}"; do
  IFS='|' read -r name needs env <<<"$entry"
  missing=""
  for f in $needs; do has "$f" || missing="$missing $f"; done
  if [[ -n "$missing" ]]; then
    summary+=("$(printf '%-15s skipped: this CPU lacks%s' "$name" "$missing")")
    continue
  fi
  test_env=()
  for e in $env; do test_env+=("--test_env=$e"); done
  echo "=== $name: ${env:-as the host chooses}" >&2
  start=$(date +%s)
  log=$(mktemp)
  bazel test "${targets[@]}" "${test_env[@]}" --curses=no --test_summary=terse 2>&1 | tee "$log" >&2
  status=${PIPESTATUS[0]}
  took=$(($(date +%s) - start))
  counts=$(grep -Eo 'Executed [0-9]+ out of [0-9]+ tests?: .*' "$log" | tail -1)
  rm -f "$log"
  gaps=""
  dist_log=bazel-testlogs/training/distributed_test/test.log
  if [[ -f "$dist_log" ]]; then
    gaps=$(grep -Eo '(both epochs by [0-9.e+-]+ \(off by [0-9.e+-]+\)|processes off by [0-9.e+-]+)' \
      "$dist_log" | paste -sd ';' -)
  fi
  if [[ $status -eq 0 ]]; then
    summary+=("$(printf '%-15s passed (%d s) %s' "$name" "$took" "$counts")")
  else
    failed=1
    summary+=("$(printf '%-15s FAILED, bazel exit %d (%d s) %s' "$name" "$status" "$took" "$counts")")
  fi
  [[ -z "$gaps" ]] || summary+=("                distributed_test: $gaps")
done

echo
echo "CPU code paths, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u '+%Y-%m-%d %H:%M UTC'):"
printf '  %s\n' "${summary[@]}"
exit $failed
