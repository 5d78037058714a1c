#!/usr/bin/env bash
# Installs every Debian package this workspace needs to build, test and benchmark: Bazel, the C++
# libraries (LibTorch, Gloo's headers for its c10d process groups, Abseil, glog, Protobuf, OpenCV,
# libpng, GoogleTest, Google Benchmark), OpenBLAS (fast matrix products for LibTorch's Linear layers),
# TCMalloc (the training programs' malloc), the Python reference (python3-torch,
# python3-torchvision) and Chromium (the compare-runs page is tested in a real browser).
# Idempotent: prints nothing and changes nothing when all are installed. Works as root, and
# through sudo otherwise.
set -euo pipefail

packages=(
  bazel-bootstrap
  g++
  git
  libtorch-dev
  libgloo-dev
  libabsl-dev
  libgoogle-glog-dev
  libprotobuf-dev
  protobuf-compiler
  libopencv-dev
  libpng-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libopenblas0-pthread
  libtcmalloc-minimal4
  python3
  python3-torch
  python3-torchvision
  chromium
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "tools/setup.sh: installing ${missing[*]} needs root, and sudo is not available" >&2
  exit 1
fi

echo "tools/setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "tools/setup.sh: done" >&2
