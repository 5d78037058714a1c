#!/usr/bin/env bash
# pareto_plot on the recorded points and on points made up for the test: the table, the front,
# the picture, and clear errors for a bad points file and a missing output folder.
set -euo pipefail
tool="$TEST_SRCDIR/$TEST_WORKSPACE/tools/pareto_plot"
recorded="$TEST_SRCDIR/$TEST_WORKSPACE/docs/pareto_points.csv"
t="$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }

# The recorded points: the speed run is on both fronts, as is the balanced recipe (39 epochs of
# the speed run's network); the 8-, 12- and 16-epoch ResNet-18 recipes are beaten by those (as
# accurate or more, for less).
"$tool" --points "$recorded" --out "$t/pareto.png" >"$t/out.txt"
cat "$t/out.txt"
grep -Eq '^speed run +5 +96\.00 \+- 0\.83 % +0\.9911 +37\.55 +5\.5 +yes +yes$' "$t/out.txt" \
  || fail "speed run row"
grep -Eq '^balanced recipe: speed run 39 epochs \(bf16\) +5 +96\.46 \+- 0\.69 % +0\.9934 +113 +12\.7 +yes +yes$' "$t/out.txt" \
  || fail "balanced row"
grep -Eq '^recipe 16 epochs +5 +96\.28 \+- 0\.67 % +0\.9923 +593 +49\.6$' "$t/out.txt" \
  || fail "16-epoch row: not on a front"
grep -Eq '^recipe 8 epochs +5 +95\.85 \+- 0\.92 % +0\.9907 +296 +23\.3$' "$t/out.txt" \
  || fail "8-epoch row: not on a front"
[[ "$(head -c 8 "$t/pareto.png" | od -An -tx1 | tr -d ' \n')" == 89504e470d0a1a0a ]] \
  || fail "not a PNG"

# A file of its own; a point without minutes is on the TFLOP front only if nothing beats it.
cat >"$t/points.csv" <<'CSV'
name,folds,accuracy,accuracy_sd,roc_auc,tflop,minutes,measured
a,5,0.95,0.01,0.99,10,2,made up, with a comma
b,5,0.96,,,100,,made up
CSV
"$tool" --points "$t/points.csv" >"$t/own.txt"
grep -Eq '^a +5 +95\.00 \+- 1\.00 % +0\.9900 +10 +2\.0 +yes +yes$' "$t/own.txt" || fail "row a"
grep -Eq '^b +5 +96\.00 % +- +100 +- +yes$' "$t/own.txt" || fail "row b"

# Bad input: the error names the file, the line and the column; nothing is written.
printf '%s\n%s\n' "$(head -1 "$t/points.csv")" "c,5,96.5,,,1,1,percent, not a fraction" >"$t/bad.csv"
if "$tool" --points "$t/bad.csv" --out "$t/bad.png" 2>"$t/err.txt"; then fail "bad.csv accepted"; fi
grep -q "bad.csv: line 2, column accuracy: \"96.5\"" "$t/err.txt" || { cat "$t/err.txt"; fail "message"; }
[[ ! -e "$t/bad.png" ]] || fail "picture written for bad input"
if "$tool" --points "$t/points.csv" --out "$t/no/such/folder/p.png" 2>"$t/err2.txt"; then
  fail "missing folder accepted"
fi
grep -q "does not exist" "$t/err2.txt" || fail "missing folder message"
if "$tool" "$t/empty_root" 2>"$t/err3.txt"; then fail "no runs accepted"; fi
echo PASS
