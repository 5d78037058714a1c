#!/usr/bin/env bash
# Builds and runs tools/device/cuda_model_check.cc on a GPU machine with a CUDA LibTorch but without
# this workspace's Bazel set-up (for example one with only PyTorch's pip wheel). Needs g++ and
# Abseil's headers and static strings libraries (ABSL_DIR/include, ABSL_DIR/lib; default: /usr).
#
#   tools/device/cuda_model_check.sh [TORCH_DIR]   # default: python3's torch package
set -euo pipefail
torch_dir="${1:-$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')}"
absl="${ABSL_DIR:-/usr}"
out="${TMPDIR:-/tmp}/cuda_model_check"
mkdir -p "$out"
flags=(-std=c++17 -O2 -D_GLIBCXX_USE_CXX11_ABI=1 -I. -I"$absl/include" -I"$torch_dir/include"
  -I"$torch_dir/include/torch/csrc/api/include")
for src in models/resnet.cc models/architectures.cc models/sync_batch_norm.cc \
  tools/device/cuda_model_check.cc; do
  g++ "${flags[@]}" -c "$src" -o "$out/$(basename "$src" .cc).o" &
done
wait
g++ -o "$out/cuda_model_check" "$out"/*.o -L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" \
  -Wl,--no-as-needed -ltorch -ltorch_cuda -ltorch_cpu -lc10_cuda -lc10 -Wl,--as-needed \
  "$absl"/lib/libabsl_str_format_internal.a "$absl"/lib/libabsl_strings.a \
  "$absl"/lib/libabsl_strings_internal.a "$absl"/lib/libabsl_int128.a \
  "$absl"/lib/libabsl_throw_delegate.a "$absl"/lib/libabsl_raw_logging_internal.a -lpthread
"$out/cuda_model_check"
