#!/usr/bin/env bash
# Installs every Debian package this workspace needs to build, test and benchmark: Bazel, the C++
# libraries (LibTorch, Gloo's headers for its c10d process groups, Abseil, glog, Protobuf, OpenCV,
# libpng, GoogleTest, Google Benchmark), OpenBLAS (fast matrix products for LibTorch's Linear layers),
# TCMalloc (the training programs' malloc), the Python reference (python3-torch,
# python3-torchvision), Chromium (the compare-runs page and the dashboard are tested in a real
# browser), cpp-httplib and nlohmann/json (the dashboard's server), Slurm and munge (the sweep
# tests start a one-node cluster; no daemon is left running), Node.js and npm; then the npm
# packages pinned in third_party/npm/package-lock.json (uPlot, the dashboard's charts;
# puppeteer-core, its browser test) into third_party/npm/node_modules with `npm ci`.
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
  libcpp-httplib-dev
  nlohmann-json3-dev
  slurmctld
  slurmd
  slurm-client
  munge
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# Node.js and npm: Debian's, unless a node with its npm is already installed (NodeSource's
# nodejs package bundles npm and conflicts with Debian's npm package).
command -v npm >/dev/null || missing+=(nodejs npm)

npm_dir="$(cd "$(dirname "$0")/.." && pwd)/third_party/npm"
npm_packages() {
  # `npm ci` from the lock file, once per lock file: the installed lock's hash is kept beside it.
  local want have=""
  want=$(sha256sum "$npm_dir/package-lock.json" | cut -d' ' -f1)
  [[ -f "$npm_dir/node_modules/.lock-sha256" ]] && have=$(cat "$npm_dir/node_modules/.lock-sha256")
  [[ "$want" == "$have" ]] && return 0
  echo "tools/setup.sh: installing the npm packages of third_party/npm/package-lock.json" >&2
  (cd "$npm_dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$npm_dir/node_modules/.lock-sha256"
}

if [[ ${#missing[@]} -eq 0 ]]; then
  npm_packages
  exit 0
fi

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
npm_packages
echo "tools/setup.sh: done" >&2
