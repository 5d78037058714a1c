#!/usr/bin/env bash
# bazel run //tools:benchmark_vs_pytorch [-- --quick]: this platform against plain PyTorch, side by
# side (see tools/benchmark_vs_pytorch.py). Uses Debian's python3 with python3-torchvision.
set -euo pipefail
runfiles="${RUNFILES_DIR:-$0.runfiles}/malaria"
workspace="${BUILD_WORKSPACE_DIRECTORY:-$(pwd)}"
real="${MALARIA_REAL_DATA:-$workspace/../shared/data/nih_malaria_50px/cell_images}"
exec /usr/bin/python3 "$runfiles/tools/benchmark_vs_pytorch.py" \
  --probe "$runfiles/tools/perf_probe" \
  --reference "$runfiles/tools/reference_pytorch.py" \
  --make_cells "$runfiles/tools/make_synthetic_cells" \
  --experiment "$runfiles/experiments/run_experiment" \
  --real "$real" "$@"
