#!/usr/bin/env bash
# The dashboard in a real browser: hand-made runs (tools/dashboard/make_fixture_runs) served by the real
# binary, the page driven in headless Chromium by puppeteer-core (tools/dashboard/browser_test.js:
# list, filter, shared URL, select, compare, run page, a <script> description shown as text); a run
# keeps writing epochs meanwhile. Screenshots go to the test's outputs
# (bazel-testlogs/tools/dashboard/browser_test/test.outputs/). Then Ctrl-C must stop the server
# cleanly, and the root must be exactly as it was (read-only).
set -euo pipefail

bin="$TEST_SRCDIR/malaria/tools/dashboard"
node_modules="$TEST_SRCDIR/npm/node_modules"
work="$TEST_TMPDIR/dashboard"
shots="${TEST_UNDECLARED_OUTPUTS_DIR:-$work/shots}"
rm -rf "$work"
mkdir -p "$work" "$shots"
unset MALARIA_RUNS_DIR BUILD_WORKSPACE_DIRECTORY
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed (tools/setup.sh installs it)"
command -v chromium >/dev/null || fail "chromium is not installed (tools/setup.sh installs it)"

expect_error() {  # NAME PATTERN COMMAND...: exit status 2 and PATTERN in the output
  local name="$1" pattern="$2" status=0
  shift 2
  timeout 20 "$@" >"$work/$name.log" 2>&1 || status=$?
  [[ $status -eq 2 ]] || { cat "$work/$name.log"; fail "$name: status $status, expected 2"; }
  grep -qF -- "$pattern" "$work/$name.log" || { cat "$work/$name.log"; fail "$name: no '$pattern'"; }
}

"$bin/dashboard" --help >"$work/help.log" 2>&1 || fail "--help failed"
grep -q "^usage: dashboard" "$work/help.log" || { cat "$work/help.log"; fail "--help: no usage"; }
expect_error no_root "tracker root $work/none is not a folder" "$bin/dashboard" --runs_dir "$work/none"
expect_error bad_port "--port 70000 is not a port" "$bin/dashboard" --runs_dir "$work" --port 70000
expect_error unknown_flag "--prot" "$bin/dashboard" --runs_dir "$work" --prot 1

"$bin/make_fixture_runs" "$work/runs" >/dev/null
"$bin/make_fixture_runs" "$work/runs" --live_epoch 1 >/dev/null  # the live run exists from the start
# Before: a listing of every file with its size and time, to prove nothing is written.
snapshot() { (cd "$work/runs" && find . -path ./live -prune -o -type f -printf '%p %s %T@\n' | sort); }
snapshot >"$work/before.txt"

"$bin/dashboard" --runs_dir "$work/runs" --port 0 >"$work/dashboard.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|^  http://127.0.0.1:\([0-9]*\)/$|\1|p' "$work/dashboard.log")
  [[ -n "$port" ]] && break
  kill -0 $server 2>/dev/null || { cat "$work/dashboard.log"; fail "the dashboard did not start"; }
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$work/dashboard.log"; fail "no port announced"; }
# Listening on every address says there is no login; loopback says nothing of the kind.
grep -q "WARNING" "$work/dashboard.log" && fail "a loopback dashboard warned about the network"
"$bin/dashboard" --runs_dir "$work/runs" --port 0 --host 0.0.0.0 >"$work/open.log" 2>&1 &
open=$!
for _ in $(seq 50); do grep -q "http://localhost:" "$work/open.log" && break; sleep 0.1; done
kill -INT $open
wait $open || true
grep -q "WARNING: --host 0.0.0.0 serves the dashboard to the network; it has no login" "$work/open.log" ||
  { cat "$work/open.log"; fail "no warning for --host 0.0.0.0"; }
# A second dashboard on the same port says so.
expect_error port_in_use "cannot listen on 127.0.0.1:$port" "$bin/dashboard" --runs_dir "$work/runs" --port "$port"

# A live run: one more epoch every half second while the browser works.
(
  for epoch in $(seq 2 120); do
    "$bin/make_fixture_runs" "$work/runs" --live_epoch "$epoch" >/dev/null 2>&1 || true
    sleep 0.5
  done
) &
writer=$!
trap 'kill $server $writer 2>/dev/null || true' EXIT

status=0
NODE_PATH="$node_modules" timeout 120 node "$bin/browser_test.js" \
  "http://127.0.0.1:$port/" "$shots" || status=$?
kill $writer 2>/dev/null || true
[[ $status -eq 0 ]] || { cat "$work/dashboard.log"; fail "the browser test failed (status $status)"; }
ls -l "$shots"
for shot in runs.png compare.png run.png; do
  [[ -s "$shots/$shot" ]] || fail "no screenshot $shot"
done

# Ctrl-C stops the server, exit 0.
kill -INT $server
for _ in $(seq 50); do kill -0 $server 2>/dev/null || break; sleep 0.1; done
kill -0 $server 2>/dev/null && fail "the dashboard did not stop within 5 s of SIGINT"
wait $server || fail "the dashboard exited with status $? after Ctrl-C"
grep -q "Dashboard stopped" "$work/dashboard.log" || fail "no clean stop"
snapshot >"$work/after.txt"
diff "$work/before.txt" "$work/after.txt" || fail "the dashboard changed files under the root"
echo "PASS"
