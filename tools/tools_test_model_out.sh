# Part of tools_test.sh, sourced by it after the k-fold model ($oof), the runs ($run0) and the cells
# (cells_p, cells_u) exist: classify on a patient's folder and export. Uses tools_test.sh's fail and
# expect_error.

# classify a patient's folder with the k-fold model: every cell's line, and on stderr the patient's
# estimated parasitemia and the diagnosis by the model's fitted rule, counting the same calls as the
# lines; without the calibration, the fraction as called and no diagnosis.
mkdir -p "$work/patient_a/slide1"
cp "${cells_p[@]:0:3}" "$work/patient_a/"
cp "${cells_u[@]:0:5}" "$work/patient_a/slide1/"
"$bin/tools/classify" --run "$oof" "$work/patient_a" >"$work/patient.out" 2>"$work/patient.err" ||
  { cat "$work/patient.err"; fail "classify a patient's folder"; }
cat "$work/patient.out" "$work/patient.err"
[[ $(grep -c $'\tP(Parasitized)=' "$work/patient.out") -eq 8 ]] || fail "classify a folder: one line per cell"
called=$(grep -c $'\tParasitized\t' "$work/patient.out" || true)
grep -qE "^Patient $work/patient_a: 8 cells, $called called Parasitized; estimated parasitemia [0-9.]+ % \(95 % CI [0-9.]+-[0-9.]+ %, corrected for the model's sensitivity [01]\.[0-9]{3} and specificity [01]\.[0-9]{3}\); diagnosis: (INFECTED|not infected) \(rule: estimate >= [0-9.]+ % and >= [0-9]+ cells called Parasitized\)$" \
  "$work/patient.err" || fail "classify a folder: the patient's estimate and diagnosis"
"$bin/tools/classify" --run "$oof" --calibration=false "$work/patient_a" >/dev/null 2>"$work/patient_raw.err" ||
  fail "classify a folder without the calibration"
grep -qE "^Patient $work/patient_a: 8 cells, [0-9]+ called Parasitized \([0-9.]+ %, 95 % CI [0-9.]+-[0-9.]+ %\); no diagnosis: the model has no calibration" \
  "$work/patient_raw.err" || fail "classify a folder without the calibration: no diagnosis"

# export: the k-fold model for PyTorch, both fold networks in one .pth with its JSON, loaded by
# tools/malaria_torch.py under Debian's python3-torch; an existing file is never overwritten and
# ONNX is refused by name (the networks' logits against PyTorch: //inference:export_pth_test).
"$bin/tools/export" --run "$oof" --out "$work/kmodel.pth" >"$work/export.out" 2>"$work/export.err" ||
  { cat "$work/export.err"; fail "export the k-fold model"; }
grep -q "wrote $work/kmodel.pth and $work/kmodel.json (2 networks)" "$work/export.out" || fail "export: what it wrote"
/usr/bin/python3 -c "
import sys; sys.path.insert(0, '$bin/tools'); import malaria_torch, torch
nets, meta = malaria_torch.load('$work/kmodel.pth')
assert len(nets) == 2 and meta['classes'] == ['Parasitized', 'Uninfected'], meta['classes']
assert meta['diagnosis_rule']['patient_min_cells'] >= 0
x = torch.zeros(3, 3, meta['input']['size'], meta['input']['size'])
assert nets[1](x).shape == (3, 2)
" || fail "the exported k-fold model does not load in PyTorch"
cp "$work/kmodel.pth" "$work/kmodel.before"
expect_error export_exists "$work/kmodel.pth exists: not overwritten" \
  "$bin/tools/export" --run "$oof" --out "$work/kmodel.pth"
cmp -s "$work/kmodel.pth" "$work/kmodel.before" || fail "export overwrote a file"
expect_error export_onnx "--format onnx: only pth is written so far" \
  "$bin/tools/export" --run "$run0" --format onnx --out "$work/m.pth"
expect_error export_no_run "$work/no_such_run" "$bin/tools/export" --run "$work/no_such_run" --out "$work/n.pth"
[[ ! -e "$work/n.pth" && ! -e "$work/n.json" ]] || fail "export left a file after an error"
