#!/usr/bin/env bash
# The synthetic-cell tool writes the NIH layout with patient groups, the same bytes for the same
# seed, and refuses to overwrite an existing folder.
set -euo pipefail
tool="$TEST_SRCDIR/malaria/tools/make_synthetic_cells"
out="$TEST_TMPDIR/cells"
rm -rf "$out" "$out.2"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$tool" --out "$out" --count 30 --seed 4 --size 40 --patients 6 --difficulty 0.8
[[ $(find "$out/Parasitized" -name '*.png' | wc -l) -eq 15 ]] || fail "15 parasitized images expected"
[[ $(find "$out/Uninfected" -name '*.png' | wc -l) -eq 15 ]] || fail "15 uninfected images expected"
ls "$out/Parasitized" | grep -qE '^C[0-9]+P[0-9]+ThinF_IMG_synthetic_cell_[0-9]+\.png$' || fail "NIH-style names"
ls "$out/Uninfected" | grep -qE '^C[0-9]+_thinF_IMG_synthetic_cell_[0-9]+\.png$' || fail "healthy donors"

"$tool" --out "$out.2" --count 30 --seed 4 --size 40 --patients 6 --difficulty 0.8 >/dev/null
diff -r "$out" "$out.2" >/dev/null || fail "the same seed gave different files"

status=0
"$tool" --out "$out" --count 30 --seed 5 2>"$TEST_TMPDIR/err" || status=$?
[[ $status -ne 0 ]] || fail "an existing folder was accepted"
grep -q "already exists" "$TEST_TMPDIR/err" || fail "no clear message for an existing folder"

status=0
"$tool" --out "$TEST_TMPDIR/x" --count 30 2>"$TEST_TMPDIR/err" || status=$?
[[ $status -eq 2 ]] || fail "missing --seed accepted"
status=0
"$tool" --out "$TEST_TMPDIR/x" --count 30 --seed 1 --difficulty 2 2>"$TEST_TMPDIR/err" || status=$?
[[ $status -eq 2 ]] && grep -q "difficulty" "$TEST_TMPDIR/err" || fail "bad difficulty accepted"
echo PASS
