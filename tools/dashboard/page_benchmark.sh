#!/usr/bin/env bash
# The dashboard's runs page on a 2,000-run root in headless Chromium (tools/dashboard/page_benchmark.js):
#
#   bazel run //tools/dashboard:page_benchmark [-- RUNS]
#
# Writes the hand-made runs into a temporary root, serves it, and prints the time until the page
# lists every run, three times (the first with the server's cache cold). Not a test.
set -euo pipefail
runfiles="${RUNFILES_DIR:-$0.runfiles}"
bin="$runfiles/malaria/tools/dashboard"
runs="${1:-2000}"
root=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$root"' EXIT
"$bin/make_fixture_runs" "$root/runs" --count "$runs"
"$bin/dashboard" --runs_dir "$root/runs" --port 0 >"$root/dashboard.log" 2>&1 &
server=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|^  http://127.0.0.1:\([0-9]*\)/$|\1|p' "$root/dashboard.log")
  [[ -n "$port" ]] && break
  sleep 0.1
done
NODE_PATH="$runfiles/npm/node_modules" node "$bin/page_benchmark.js" "http://127.0.0.1:$port/" "$runs"
