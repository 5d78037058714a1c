#!/usr/bin/env bash
# End to end: a tiny experiment (synthetic data, 32 px, ResNet-18, a frozen and an unfrozen stage)
# through the real runner binary, then the run directory's contents, the validation accuracy, a
# second run beside the first, and the same metrics from the same seed.
set -euo pipefail

source "$TEST_SRCDIR/malaria/experiments/test_lib.sh" workspace
runs="$TEST_TMPDIR/runs"
rm -rf "$runs"

"$runner" --config "$config" --runs_dir "$runs" --set "training.stage[1].epochs=5" >"$TEST_TMPDIR/out1.txt" 2>&1 ||
  { cat "$TEST_TMPDIR/out1.txt"; fail "first run exited with $?"; }
cat "$TEST_TMPDIR/out1.txt"

grep -q "NO DATASET FOUND: training on the embedded SYNTHETIC dataset" "$TEST_TMPDIR/out1.txt" ||
  fail "the synthetic fallback was not announced"
grep -q "^epoch *train_loss *valid_loss *accuracy *error_rate *time" "$TEST_TMPDIR/out1.txt" ||
  fail "no fastai-style table header"

shopt -s nullglob
run=$(one_run "$runs")

for f in config.pbtxt run_info.pbtxt metrics.csv metrics.pbtxt confusion_matrix.csv predictions.csv \
  split/train.txt split/valid.txt lr_find_frozen.csv checkpoints/frozen_last.pt \
  checkpoints/frozen_best.pt checkpoints/unfrozen_last.pt checkpoints/unfrozen_best.pt; do
  [[ -s "$run/$f" ]] || fail "$f missing or empty in $run"
done
[[ -z $(find "$run" -name "*.tmp.*") ]] || fail "temporary files left behind"

grep -q "status: COMPLETED" "$run/run_info.pbtxt" || fail "run not COMPLETED"
grep -q "kind: SYNTHETIC" "$run/run_info.pbtxt" || fail "dataset kind not recorded"
grep -q 'overrides: "training.stage\[1\].epochs=5"' "$run/run_info.pbtxt" || fail "override not recorded"
grep -q "fingerprint: " "$run/run_info.pbtxt" || fail "no dataset fingerprint"
grep -q "libtorch_version: \"1.13" "$run/run_info.pbtxt" || fail "no LibTorch version"
grep -q "threads: 2" "$run/run_info.pbtxt" || fail "thread count not recorded"
# The config as a teammate's checkout has it, not Bazel's runfiles copy.
grep -q 'config_file: "experiments/testdata/tiny_synthetic.pbtxt"' "$run/run_info.pbtxt" ||
  fail "the config is not recorded by its workspace path"
grep -q "image_size: 48" "$run/config.pbtxt" || fail "fallback image size not applied in the saved config"
grep -q "pct_start: 0.3" "$run/config.pbtxt" || fail "defaults not written out in the saved config"

# The split: 240 images, int(0.2 * 240) = 48 for validation, no image on both sides.
[[ $(wc -l <"$run/split/valid.txt") -eq 48 ]] || fail "validation split is not 48 images"
[[ $(wc -l <"$run/split/train.txt") -eq 192 ]] || fail "training split is not 192 images"
[[ -z $(sort "$run/split/train.txt" "$run/split/valid.txt" | uniq -d) ]] || fail "an image is on both sides"

# metrics.csv: a header and one row per epoch (1 frozen + 5 unfrozen).
head -1 "$run/metrics.csv" | grep -q "^stage,epoch,train_loss,valid_loss,accuracy,error_rate,lr,seconds" ||
  fail "metrics.csv header"
[[ $(tail -n +2 "$run/metrics.csv" | wc -l) -eq 6 ]] || fail "metrics.csv should have 6 epochs"
[[ $(grep -c "^unfrozen," "$run/metrics.csv") -eq 5 ]] || fail "stage 2 epochs"

# Better than chance on validation (48 images, 24 per class at best): accuracy above 0.7.
accuracy=$(sed -n 's/^accuracy: //p' "$run/metrics.pbtxt")
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.7) }' || fail "final validation accuracy $accuracy is not above 0.7"
grep -q "^actual\\\\predicted,Parasitized,Uninfected" "$run/confusion_matrix.csv" || fail "confusion matrix header"
sum=$(tail -n +2 "$run/confusion_matrix.csv" | awk -F, '{ s += $2 + $3 } END { print s }')
[[ "$sum" -eq 48 ]] || fail "confusion matrix counts $sum images, not 48"

# A second run with the same seed: its own directory, the first untouched, identical metrics.
before=$(cd "$run" && find . -type f -exec md5sum {} + | sort)
"$runner" --config "$config" --runs_dir "$runs" --set "training.stage[1].epochs=5" >"$TEST_TMPDIR/out2.txt" 2>&1 ||
  { cat "$TEST_TMPDIR/out2.txt"; fail "second run failed"; }
dirs=("$runs"/tiny_synthetic/*/)
[[ ${#dirs[@]} -eq 2 ]] || fail "expected two run directories, found ${#dirs[@]}"
after=$(cd "$run" && find . -type f -exec md5sum {} + | sort)
[[ "$before" == "$after" ]] || fail "the second run changed the first run's files"
second="${dirs[1]%/}"
[[ "$second" != "$run" ]] || second="${dirs[0]%/}"
diff <(cut -d, -f1-6 "$run/metrics.csv") <(cut -d, -f1-6 "$second/metrics.csv") ||
  fail "the same seed gave different metrics"

# A third run: torchvision weights (written by python3-torchvision) for the body, and a
# patient-level split: no patient on both sides.
/usr/bin/python3 "$TEST_SRCDIR/malaria/models/testdata/make_torchvision_reference.py" "$TEST_TMPDIR/tv" resnet18 >/dev/null
"$runner" --config "$config" --runs_dir "$TEST_TMPDIR/runs3" --set "training.stage[1].epochs=1" \
  --set "model.pretrained_weights=$TEST_TMPDIR/tv/resnet18.pth" \
  --set "data.split={patient {valid_pct: 0.25}}" >"$TEST_TMPDIR/out3.txt" 2>&1 ||
  { cat "$TEST_TMPDIR/out3.txt"; fail "third run failed"; }
grep -q "Loaded ImageNet weights for the resnet18 body" "$TEST_TMPDIR/out3.txt" || fail "weights not loaded"
third=$(one_run "$TEST_TMPDIR/runs3")
grep -q 'pretrained_weights: "loaded ' "$third/run_info.pbtxt" || fail "weights not recorded"
grep -q "patient {" "$third/config.pbtxt" || fail "patient split not in the saved config"
[[ -z $(comm -12 <(cut -f3 "$third/split/train.txt" | sort -u) <(cut -f3 "$third/split/valid.txt" | sort -u)) ]] ||
  fail "a patient is on both sides of the patient split"
[[ $(cut -f3 "$third/split/valid.txt" | sort -u | wc -l) -ge 2 ]] || fail "too few validation patients"
echo "PASS"
