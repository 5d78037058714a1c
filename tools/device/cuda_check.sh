#!/usr/bin/env bash
# Builds and runs the CUDA checks in tools/device/ on a GPU machine with a CUDA LibTorch but without
# this workspace's Bazel set-up (for example one with only PyTorch's pip wheel):
#   cuda_model_check   the model zoo and SyncBatchNorm on the GPU against the CPU and float64
#   distributed_check  training/distributed's NCCL group and training/data_parallel over it, and
#                      two processes on Gloo's CUDA path
# Needs g++ and Abseil's headers and static libraries (ABSL_DIR/include, ABSL_DIR/lib; default
# /usr). Exits non-zero when a check fails.
#
#   tools/device/cuda_check.sh [TORCH_DIR]   # default: python3's torch package
set -euo pipefail
torch_dir="${1:-$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')}"
absl="${ABSL_DIR:-/usr}"
out="${TMPDIR:-/tmp}/cuda_check"
mkdir -p "$out"
flags=(-std=c++17 -O2 -D_GLIBCXX_USE_CXX11_ABI=1 -I. -I"$absl/include" -I"$torch_dir/include"
  -I"$torch_dir/include/torch/csrc/api/include")
# The process groups this LibTorch ships headers for (training/distributed.cc compiles each one in).
groups=()
[[ -d "$torch_dir/include/gloo" ]] && groups+=(-DUSE_C10D_GLOO)
[[ -f "$torch_dir/include/torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp" ]] &&
  groups+=(-DUSE_C10D_NCCL)
echo "process groups with headers in $torch_dir: ${groups[*]:-none}"
# CUDA's headers: a toolkit's (CUDA_HOME, default /usr/local/cuda; CUDA 13 keeps CCCL's in
# include/cccl) first, then those of the nvidia-* packages beside a pip-installed torch (NCCL's).
cuda_home="${CUDA_HOME:-/usr/local/cuda}"
for inc in "$cuda_home/include" "$cuda_home/include/cccl"; do
  [[ -d "$inc" ]] && flags+=(-I"$inc")
done
site="$(dirname "$torch_dir")"
for inc in "$site"/nvidia/*/include "$site"/nvidia/*/*/include; do
  [[ -d "$inc" ]] && flags+=(-I"$inc")
done
flags+=("${groups[@]}")
for src in models/resnet.cc models/architectures.cc models/sync_batch_norm.cc \
  training/distributed.cc training/data_parallel.cc training/callback.cc \
  tools/device/cuda_model_check.cc tools/device/distributed_check.cc; do
  g++ "${flags[@]}" -c "$src" -o "$out/$(basename "$src" .cc).o" &
done
wait
libs=(-L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -Wl,--no-as-needed -ltorch -ltorch_cuda
  -ltorch_cpu -lc10_cuda -lc10 -Wl,--as-needed -Wl,--start-group "$absl"/lib/libabsl_*.a
  -Wl,--end-group -lpthread)
common=("$out/resnet.o" "$out/architectures.o" "$out/sync_batch_norm.o")
g++ -o "$out/cuda_model_check" "${common[@]}" "$out/cuda_model_check.o" "${libs[@]}"
g++ -o "$out/distributed_check" "${common[@]}" "$out/distributed.o" "$out/data_parallel.o" \
  "$out/callback.o" "$out/distributed_check.o" "${libs[@]}"
status=0
"$out/cuda_model_check" || status=1
"$out/distributed_check" || status=1
exit $status
