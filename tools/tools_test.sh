#!/usr/bin/env bash
# The run tools on real runs: the two folds of a tiny patient-level 2-fold experiment are trained
# (--all_folds, with the folds' aggregate) on synthetic cells with six known mislabels, then evaluate (new folders, TTA, bad inputs), classify,
# compare_runs (text, and the HTML page opened in headless Chromium) and suspect_labels (which must
# find the mislabels) are run on them; perf_probe's bad flags are named.
set -euo pipefail

bin="$TEST_SRCDIR/malaria"
runner="$bin/experiments/run_experiment"
config="$bin/experiments/testdata/tiny_synthetic.pbtxt"
work="$TEST_TMPDIR/tools"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
unset MALARIA_DATA MALARIA_RUNS_DIR BUILD_WORKSPACE_DIRECTORY
fail() { echo "FAIL: $*" >&2; exit 1; }
shopt -s nullglob
expect_error() {  # NAME PATTERN COMMAND...
  local name="$1" pattern="$2"
  shift 2
  local status=0
  "$@" >"$work/$name.log" 2>&1 || status=$?
  [[ $status -eq 2 ]] || { cat "$work/$name.log"; fail "$name: status $status, expected 2"; }
  grep -qF -- "$pattern" "$work/$name.log" || { cat "$work/$name.log"; fail "$name: no '$pattern'"; }
}

# 400 synthetic cells, six of them deliberately mislabelled (parasitized cells moved into
# Uninfected/): suspect_labels must find them.
"$bin/tools/make_synthetic_cells" --out "$work/cells" --count 400 --size 56 --seed 7 --patients 12 >/dev/null
moved=()
for f in $(cd "$work/cells/Parasitized" && printf '%s\n' *.png | sort | sed -n '1~30p' | head -n 6); do
  mv "$work/cells/Parasitized/$f" "$work/cells/Uninfected/$f"
  moved+=("Uninfected/$f")
done
[[ ${#moved[@]} -eq 6 ]] || fail "could not mislabel six images"

# Both folds in one command (what an experiment target with all_folds = True runs), then their
# aggregate.
"$runner" --config "$config" --runs_dir "$work/runs" --all_folds --set "data.path=$work/cells" \
  --set data.split.patient_kfold.folds=2 \
  --set "training.stage[0].lr_find=false" --set "training.stage[1].epochs=8" \
  --set "training.stage[1].lr={slice {start: 2e-3 stop: 8e-3}}" >"$work/folds.log" 2>&1 ||
  { cat "$work/folds.log"; fail "--all_folds failed"; }
runs=("$work"/runs/tiny_synthetic/*/)
[[ ${#runs[@]} -eq 2 ]] || fail "expected 2 runs"
for fold in 0 1; do
  grep -q "===== fold $fold of 2 =====" "$work/folds.log" || fail "fold $fold was not run"
  grep -q "overrides: \"data.split.patient_kfold.fold=$fold\"" "${runs[$fold]}run_info.pbtxt" ||
    fail "${runs[$fold]} is not fold $fold"
  grep -q "status: COMPLETED" "${runs[$fold]}run_info.pbtxt" || fail "fold $fold did not complete"
done
grep -q "tiny_synthetic: patient-level 2-fold cross-validation, 2 of 2 folds" "$work/folds.log" ||
  fail "no aggregate over both folds"
grep -q "^mean +- sd" "$work/folds.log" || fail "no mean +- sd row"
# The folds' predictions pooled (every cell by the fold that never saw its patient), judged with
# intervals by patient, kept beside the experiments.
grep -qE "^Pooled out-of-fold \(each of 400 cells predicted by the fold model that never saw its patient\): 95 % intervals over 12 patients \(bootstrap, 2000 resamples\): accuracy [0-9.]+ % \([0-9.]+-[0-9.]+\)" \
  "$work/folds.log" || fail "no pooled out-of-fold estimate with its interval"
oof="$work/runs/out_of_fold/tiny_synthetic"
[[ $(($(wc -l <"$oof/predictions.csv") - 1)) -eq 400 ]] || fail "the pooled predictions are not 400 cells"
grep -q "^intervals {" "$oof/metrics.pbtxt" || fail "the pooled report has no intervals"
grep -q "^threshold_note: " "$oof/calibration.pbtxt" || fail "the pooled rules are not kept"
grep -q "^  threshold: 0.5 kept: fitted on 12 patients, fewer than the 50" "$work/folds.log" ||
  fail "the rules fitted on 12 patients' predictions are not refused"
# The same for folds already run, by the tool: it says what it kept and where.
rm -r "$oof"
"$bin/tools/out_of_fold" "$work/runs/tiny_synthetic" >"$work/oof.log" 2>&1 ||
  { cat "$work/oof.log"; fail "out_of_fold"; }
grep -q "^Pooled out-of-fold predictions, their report and rules: $oof" "$work/oof.log" ||
  fail "out_of_fold did not say where"
grep -q "No nested check: a nested check needs at least 3 folds" "$work/oof.log" ||
  fail "out_of_fold checked rules nested over 2 folds"
[[ -s "$oof/predictions.csv" && -s "$oof/calibration.pbtxt" ]] || fail "out_of_fold wrote nothing"
expect_error oof_missing "$work/nowhere is not a folder" "$bin/tools/out_of_fold" "$work/nowhere"
run0="${runs[0]%/}"
run1="${runs[1]%/}"
data="$work/cells"

# The runner's own pictures.
for f in learning_curves.png confusion_matrix.png roc.png top_losses.png most_confused.txt patients.csv \
  evaluation/frozen/metrics.pbtxt evaluation/unfrozen/confusion_matrix.png; do
  [[ -s "$run0/$f" ]] || fail "$f missing in the run"
done
grep -q "expected_calibration_error: " "$run0/metrics.pbtxt" || fail "no ECE in metrics.pbtxt"
grep -q "patients {" "$run0/metrics.pbtxt" || fail "no patient summary in metrics.pbtxt"
# The final model's calibration, fitted on the validation set, and what it gives per patient.
grep -q "temperature: " "$run0/calibration.pbtxt" || fail "no calibration.pbtxt"
grep -q 'checkpoint: ".*unfrozen_last.pt"' "$run0/calibration.pbtxt" || fail "calibrated for which model?"
head -1 "$run0/calibrated/parasitemia.csv" | grep -q "^patient,cells,labelled_positive_cells" ||
  fail "no parasitemia estimates"
grep -q "parasitemia {" "$run0/calibrated/metrics.pbtxt" || fail "no parasitemia summary"

# evaluate: a new folder each time, never over an earlier one. By default the run's own final model
# (evaluation.final_model LAST here) with the run's calibration, both named; --checkpoint best
# picks the best epoch, for which the calibration was not fitted, so none is used.
"$bin/tools/evaluate" --run "$run0" --data "$data" >"$work/eval1.log" 2>&1 || { cat "$work/eval1.log"; fail "evaluate"; }
"$bin/tools/evaluate" --run "$run0" --data "$data" --tta 3 --checkpoint best >"$work/eval2.log" 2>&1 ||
  { cat "$work/eval2.log"; fail "evaluate --tta 3"; }
evals=("$run0"/evaluations/*/)
[[ ${#evals[@]} -eq 2 ]] || fail "expected 2 evaluation folders, found ${#evals[@]}"
for e in "${evals[@]}"; do
  for f in metrics.pbtxt confusion_matrix.png roc.png top_losses.png predictions.csv evaluation_info.pbtxt patients.csv; do
    [[ -s "$e/$f" ]] || fail "$f missing in $e"
  done
done
grep -q "tta_flips: TTA_DIHEDRAL" "${evals[1]}/evaluation_info.pbtxt" || fail "TTA not recorded"
grep -q "images: 400" "${evals[0]}/evaluation_info.pbtxt" || fail "not all 400 images evaluated"
grep -q "accuracy " "$work/eval1.log" || fail "no summary printed"
grep -q "^Model: checkpoint $run0/checkpoints/unfrozen_last.pt (the run's final model: evaluation.final_model LAST of stage 'unfrozen'); calibration $run0/calibration.pbtxt (temperature " "$work/eval1.log" ||
  { cat "$work/eval1.log"; fail "evaluate does not say it used the run's final model and calibration"; }
grep -q 'checkpoint: ".*unfrozen_last.pt"' "${evals[0]}/evaluation_info.pbtxt" || fail "not the final model"
grep -q "calibrated on the run's validation set" "$work/eval1.log" || fail "evaluate ignored the calibration"
grep -q "calibration {" "${evals[0]}/evaluation_info.pbtxt" || fail "the calibration used is not recorded"
[[ -s "${evals[0]}/parasitemia.csv" ]] || fail "no parasitemia.csv in the calibrated evaluation"
grep -q "^Model: checkpoint $run0/checkpoints/unfrozen_best.pt (the best epoch of stage 'unfrozen' (--checkpoint)); calibration none (the run's calibration.pbtxt is for another checkpoint)" "$work/eval2.log" ||
  { cat "$work/eval2.log"; fail "evaluate --checkpoint best does not say what it used"; }
! grep -q "calibration {" "${evals[1]}/evaluation_info.pbtxt" || fail "calibrated with another model's fit"

# Ensembles: both folds' models together (two --run, or the experiment's folder), their
# evaluation beside the runs; members that do not fit together are refused.
"$bin/tools/evaluate" --run "$run0" --run "$run1" --data "$data" --checkpoint last >"$work/ens.log" 2>&1 ||
  { cat "$work/ens.log"; fail "evaluate an ensemble"; }
grep -q "an ensemble of 2 models" "$work/ens.log" || fail "not an ensemble of 2"
"$bin/tools/evaluate" --run "$work/runs/tiny_synthetic" --data "$data" --checkpoint last >"$work/ens2.log" 2>&1 ||
  { cat "$work/ens2.log"; fail "evaluate a folder of runs"; }
grep -q "an ensemble of 2 models" "$work/ens2.log" || fail "the folder's runs did not all join"
ens=("$work"/runs/tiny_synthetic/ensemble_evaluations/*/)
[[ ${#ens[@]} -eq 2 ]] || fail "expected 2 ensemble evaluations, found ${#ens[@]}"
[[ $(grep -c "ensemble_checkpoints:" "${ens[0]}/evaluation_info.pbtxt") -eq 2 ]] || fail "members not recorded"

# The k-fold job's model (its out-of-fold folder): both fold models averaged, decided by the rules
# fitted on their out-of-fold predictions; evaluated into its own folder and paired with one fold
# run on the same cells (--versus); classify takes it as a run. It takes no --checkpoint and no
# other --run, and a moved copy whose fold runs are not beside it is named.
[[ -s "$oof/model.pbtxt" ]] || fail "the k-fold job kept no model"
grep -q "^runs: \"../../tiny_synthetic/" "$oof/model.pbtxt" || fail "the model's fold runs are not named relative to it"
grep -q "^The model for new patients (model.pbtxt): the 2 fold models' probabilities averaged" "$work/oof.log" ||
  fail "out_of_fold did not say where the model is"
"$bin/tools/evaluate" --run "$oof" --data "$data" --versus "$run0" >"$work/kmodel.log" 2>&1 ||
  { cat "$work/kmodel.log"; fail "evaluate the k-fold model"; }
cat "$work/kmodel.log"
grep -qF "Model: the k-fold model $oof (experiment tiny_synthetic): its 2 fold models' probabilities averaged; calibration $oof/calibration.pbtxt, fitted on 12 patients' out-of-fold predictions" \
  "$work/kmodel.log" || fail "evaluate does not say it used the k-fold model and its rules"
grep -qF "Versus: checkpoint $run0/checkpoints/unfrozen_last.pt" "$work/kmodel.log" || fail "the other model is not named"
grep -q "with the k-fold model (2 fold models averaged)" "$work/kmodel.log" || fail "not the k-fold model"
grep -q "calibrated on 12 patients' out-of-fold predictions" "$work/kmodel.log" || fail "not the out-of-fold rules"
grep -qE "paired on the same 400 cells, resampling the 12 patients together, this model minus that one: accuracy [+-][0-9.]+ points \(95 % CI [+-][0-9.]+ to [+-][0-9.]+\)" \
  "$work/kmodel.log" || fail "no paired difference"
kevals=("$oof"/evaluations/*/)
[[ ${#kevals[@]} -eq 1 ]] || fail "the k-fold model's evaluation is not in its folder"
grep -q "^versus_difference {" "${kevals[0]}/evaluation_info.pbtxt" || fail "the paired difference is not recorded"
[[ $(grep -c "ensemble_checkpoints:" "${kevals[0]}/evaluation_info.pbtxt") -eq 2 ]] || fail "fold models not recorded"
# A model paired with itself differs by nothing, in every resample.
"$bin/tools/evaluate" --run "$run1" --data "$data" --versus "$run1" >"$work/self.log" 2>&1 ||
  { cat "$work/self.log"; fail "evaluate --versus itself"; }
grep -qF "this model minus that one: accuracy +0.00 points (95 % CI +0.00 to +0.00), ROC AUC +0.00 points (95 % CI +0.00 to +0.00)" \
  "$work/self.log" || { cat "$work/self.log"; fail "a model paired with itself differs"; }
cells_p=("$data"/Parasitized/*.png)
cells_u=("$data"/Uninfected/*.png)
"$bin/tools/classify" --run "$oof" "${cells_p[0]}" "${cells_u[0]}" >"$work/kclassify.out" 2>"$work/kclassify.err" ||
  { cat "$work/kclassify.err"; fail "classify with the k-fold model"; }
[[ $(grep -c $'\tP(Parasitized)=' "$work/kclassify.out") -eq 2 ]] || fail "classify with the k-fold model: lines"
grep -q "^Model: the k-fold model $oof" "$work/kclassify.err" || fail "classify does not name the k-fold model"
expect_error kmodel_checkpoint "is a k-fold model, its folds' final models" \
  "$bin/tools/evaluate" --run "$oof" --data "$data" --checkpoint best
expect_error kmodel_mixed "a k-fold model (a folder with model.pbtxt) is used alone" \
  "$bin/tools/evaluate" --run "$oof" --run "$run0" --data "$data"
cp -r "$oof" "$work/moved_model"
expect_error kmodel_moved "$work/moved_model/model.pbtxt: runs[0]: " \
  "$bin/tools/evaluate" --run "$work/moved_model" --data "$data"
[[ $(ls "$work/moved_model/evaluations" | wc -l) -eq 1 ]] || fail "a refused evaluation wrote a folder"
rm -rf "$work/moved_model"
cp -r "$run1" "$work/bigger"
sed -i 's/^  image_size: 48$/  image_size: 64/' "$work/bigger/config.pbtxt"
grep -q "^  image_size: 64$" "$work/bigger/config.pbtxt" || fail "could not change the copy's image size"
expect_error ensemble_sizes "ensemble members need one image size" \
  "$bin/tools/evaluate" --run "$run0" --run "$work/bigger" --data "$data" --checkpoint last
rm -rf "$work/bigger"
cp -r "$run1" "$work/renamed"
sed -i 's/^  classes: "Uninfected"$/  classes: "Healthy"/' "$work/renamed/run_info.pbtxt"
expect_error ensemble_classes "ensemble members disagree on the classes" \
  "$bin/tools/evaluate" --run "$run0" --run "$work/renamed" --data "$data" --checkpoint last
rm -rf "$work/renamed"

parasitized=("$data"/Parasitized/*.png)
uninfected=("$data"/Uninfected/*.png)
mkdir -p "$work/other/Cats" "$work/other/Dogs"
cp "${parasitized[0]}" "$work/other/Cats/a.png"
cp "${uninfected[0]}" "$work/other/Dogs/b.png"
expect_error other_classes "differ from the model's" "$bin/tools/evaluate" --run "$run0" --data "$work/other"
cp -r "$run0" "$work/incomplete" && rm "$work/incomplete/config.pbtxt"
expect_error incomplete "config.pbtxt is missing" "$bin/tools/evaluate" --run "$work/incomplete" --data "$data"
cp -r "$run0" "$work/running"
sed -i "s/^status: COMPLETED/status: RUNNING/; s/^pid: .*/pid: $$/" "$work/running/run_info.pbtxt"
expect_error running "is still RUNNING" "$bin/tools/evaluate" --run "$work/running" --data "$data"
# Recorded RUNNING, but its process is gone (killed): said so, with the way out.
sleep 0 & gone=$!
wait "$gone"
sed -i "s/^pid: .*/pid: $gone/" "$work/running/run_info.pbtxt"
expect_error died "is recorded RUNNING, but its process $gone on $(hostname) is gone" \
  "$bin/tools/evaluate" --run "$work/running" --data "$data"
grep -qF -- "--resume $work/running finishes it" "$work/died.log" || fail "the way out is not said"
cp -r "$run0" "$work/newer"
echo "format_version: 99" >>"$work/newer/run_info.pbtxt"
expect_error newer "run format 99" "$bin/tools/evaluate" --run "$work/newer" --data "$data"
rm -rf "$work/incomplete" "$work/running" "$work/newer"
[[ $(ls "$run0/evaluations" | wc -l) -eq 2 ]] || fail "a refused evaluation wrote a folder"

# Cells of infected patients only (every Parasitized cell, and the Uninfected cells of patients
# who have parasitized ones): there is no uninfected patient, so no diagnosis specificity, and
# evaluate says so rather than printing 0.
mkdir -p "$work/infected_only/Parasitized" "$work/infected_only/Uninfected"
cp "$data"/Parasitized/*.png "$work/infected_only/Parasitized/"
cp "$data"/Uninfected/C*P*ThinF_*.png "$work/infected_only/Uninfected/"
"$bin/tools/evaluate" --run "$run0" --data "$work/infected_only" >"$work/infected_only.log" 2>&1 ||
  { cat "$work/infected_only.log"; fail "evaluate on infected patients only"; }
cat "$work/infected_only.log"
grep -q "specificity - (no uninfected patients)" "$work/infected_only.log" ||
  fail "evaluate gives a diagnosis specificity without uninfected patients"
grep -qE "diagnosed infected at an estimated fraction >= [0-9.]+: accuracy [0-9.]+, sensitivity [0-9]" \
  "$work/infected_only.log" || fail "the sensitivity is not given"

# classify: one line per image; an unreadable file, or a folder without images, is named and makes
# the exit status 1, and the other images still get their lines (nothing crashes).
p_img="${parasitized[0]}"
u_img="${uninfected[0]}"
printf 'not a png' >"$work/broken.png"
# classify_unreadable NAME BAD MESSAGE: classify p_img, BAD and u_img.
classify_unreadable() {
  local status=0
  "$bin/tools/classify" --run "$run0" "$p_img" "$2" "$u_img" >"$work/$1.out" 2>"$work/$1.err" || status=$?
  cat "$work/$1.out" "$work/$1.err"
  [[ $status -eq 1 ]] || fail "$1: classify status $status, expected 1"
  [[ $(grep -c $'\tP(Parasitized)=' "$work/$1.out") -eq 2 ]] || fail "$1: the readable images' lines"
  grep -qF "$3" "$work/$1.err" || fail "$1: '$3' not said"
}
classify_unreadable broken "$work/broken.png" "broken.png"
grep -qE $'^'"$p_img"$'\t(Parasitized|Uninfected)\tP\\(Parasitized\\)=0\\.[0-9]{4}$' "$work/broken.out" || fail "classify format"
mkdir -p "$work/no_cells"
classify_unreadable folder "$work/no_cells" "folder $work/no_cells holds no images"

# What takes a model to a patient or out of the platform, with the k-fold model: classify on a
# patient's folder, export (tools_test_model_out.sh, sourced: it reads this script's variables).
source "$bin/tools/tools_test_model_out.sh"

# --help prints the usage and succeeds, in every tool.
for tool in evaluate classify compare_runs suspect_labels make_synthetic_cells export; do
  "$bin/tools/$tool" --help >"$work/help.out" 2>&1 || fail "$tool --help failed"
  grep -q "^usage: $tool" "$work/help.out" || { cat "$work/help.out"; fail "$tool --help: no usage"; }
done

# A completed run whose final checkpoint is missing: an error naming the file, never another
# stage's model in its place; --stage asks for another stage's model explicitly.
cp -r "$run0" "$work/no_final"
rm "$work/no_final/checkpoints/unfrozen_last.pt"
expect_error no_final_evaluate "checkpoints/unfrozen_last.pt is missing" \
  "$bin/tools/evaluate" --run "$work/no_final" --data "$data"
grep -q -- "--stage" "$work/no_final_evaluate.log" || fail "the way to another stage is not said"
expect_error no_final_classify "checkpoints/unfrozen_last.pt is missing" \
  "$bin/tools/classify" --run "$work/no_final" "$p_img"
"$bin/tools/classify" --run "$work/no_final" --stage frozen "$p_img" >"$work/stage.out" ||
  fail "classify --stage frozen"
grep -q $'\tP(Parasitized)=' "$work/stage.out" || fail "no line from the frozen stage's model"
expect_error no_such_stage "stage 'thawed' is not a stage of" \
  "$bin/tools/classify" --run "$work/no_final" --stage thawed "$p_img"
rm -rf "$work/no_final"

# compare_runs: an --html target it cannot write is refused before any table is printed.
expect_error html_folder "--html $work/no/such/compare.html: folder $work/no/such does not exist" \
  "$bin/tools/compare_runs" "$work/runs" --html "$work/no/such/compare.html"
! grep -q "accuracy" "$work/html_folder.log" || fail "compare_runs printed tables before refusing --html"
# The tables, the differing config field, and the HTML page in a real browser.
"$bin/tools/compare_runs" "$work/runs" --html "$work/compare.html" >"$work/compare.txt" || fail "compare_runs"
cat "$work/compare.txt"
grep -q "Best and final validation accuracy per model and stage" "$work/compare.txt" || fail "accuracy table"
grep -q "Average time per epoch per model and stage" "$work/compare.txt" || fail "time table"
grep -q "data.split.patient_kfold.fold" "$work/compare.txt" || fail "the differing fold is not listed"
! grep -q "model.architecture" "$work/compare.txt" || fail "an identical field is listed as differing"
grep -q "$(basename "$run1")" "$work/compare.txt" || fail "second run missing"
grep -q "^Pooled out-of-fold (each of 400 cells" "$work/compare.txt" || fail "compare_runs shows no pooled estimate"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$work/chromium" --dump-dom "file://$work/compare.html" >"$work/dom.html" 2>"$work/chromium.log" ||
  { cat "$work/chromium.log"; fail "chromium could not open the page"; }
grep -q "2 runs compared; best final accuracy 0\.[0-9]\{4\}" "$work/dom.html" ||
  { head -c 2000 "$work/dom.html"; fail "the page's summary was not rendered"; }
grep -q '<tr class="best">' "$work/dom.html" || fail "the best run is not marked"
[[ $(grep -o 'class="accuracy"' "$work/dom.html" | wc -l) -eq 2 ]] || fail "two learning curves expected"
[[ $(grep -o 'class="confusion"' "$work/dom.html" | wc -l) -eq 2 ]] || fail "two confusion matrices expected"

# suspect_labels: out-of-fold predictions of both folds; a new folder; nothing relabelled.
"$bin/tools/suspect_labels" "$work/runs/tiny_synthetic" >"$work/suspects.log" 2>&1 ||
  { cat "$work/suspects.log"; fail "suspect_labels"; }
cat "$work/suspects.log"
grep -q "of 400 images are suspect" "$work/suspects.log" || fail "not all 400 images were predicted out of fold"
grep -q "Nothing was relabelled" "$work/suspects.log" || fail "no reassurance"
! grep -q "too weak" "$work/suspects.log" || fail "eight-epoch folds were called too weak"
out=("$work"/runs/tiny_synthetic/suspect_labels/*/)
[[ -s "${out[0]}/suspects.csv" && -s "${out[0]}/suspects.png" ]] || fail "suspect files missing"
[[ ! -e "${out[0]}/WARNING.txt" ]] || fail "a weak-model warning for strong folds"
head -1 "${out[0]}/suspects.csv" | grep -q "^path,given_label,suggested_label" || fail "suspects.csv header"
found=0
for f in "${moved[@]}"; do
  grep -q "^$f,Uninfected,Parasitized," "${out[0]}/suspects.csv" && found=$((found + 1))
done
suspects=$(($(wc -l <"${out[0]}/suspects.csv") - 1))
echo "$found of the 6 mislabelled images are among the $suspects suspects"
[[ $found -ge 3 ]] || fail "only $found of the 6 mislabelled images were found"
[[ $suspects -le 30 ]] || fail "$suspects suspects: the list is not selective"
# perf_probe: bad flags and configs are named (exit 2), never an abort.
probe="$bin/tools/perf_probe"
sed 's/^model { architecture: "resnet18" }/model { architecture: "resnet" shape { widths: [0, 8] blocks: [1, 1] } }/' \
  "$config" >"$work/zero_width.pbtxt"
expect_error probe_zero_width "model.shape.widths[0]: must be in [1, 4096], got 0" \
  "$probe" flops --config "$work/zero_width.pbtxt"
expect_error probe_size "--size 'abc' is not a whole number in [32, 2048]" "$probe" flops --size abc
expect_error probe_batch "--batch '-1' is not a whole number in [1, 65536]" \
  "$probe" train-step --batch -1
expect_error probe_flag "unknown flag --sise" "$probe" flops --sise 64
expect_error probe_value "--size needs a value" "$probe" flops --size
"$probe" flops --config "$config" >"$work/probe.log" 2>&1 || { cat "$work/probe.log"; fail "perf_probe flops"; }
grep -q '^{"forward_gflop": ' "$work/probe.log" || fail "perf_probe flops printed $(cat "$work/probe.log")"
# The CPU's peak: every vector unit it has, the widest fp32 one as the peak (how fast is for the
# benchmark, not this test).
"$probe" peak --threads 1 --seconds 1 >"$work/peak.log" 2>&1 || { cat "$work/peak.log"; fail "perf_probe peak"; }
grep -qE '^\{"fp32_peak_gflops": [1-9][0-9.]*, "bf16_peak_gflops": [0-9.]+, "threads": 1, "units": \[\{"unit": "(avx512|avx2) fp32 fma"' \
  "$work/peak.log" || fail "perf_probe peak printed $(cat "$work/peak.log")"
expect_error peak_seconds "--seconds '0' is not a whole number in [1, 60]" "$probe" peak --seconds 0
# The bare step (what the PyTorch reference times) trains everything; it refuses a frozen body.
"$probe" train-step --config "$config" --bare 1 --steps 1 --warmup 1 --batch 4 >"$work/bare.log" 2>&1 ||
  { cat "$work/bare.log"; fail "perf_probe train-step --bare 1"; }
grep -qE '^\{"images_per_second": [0-9.]+, "achieved_gflops": [0-9.]+' "$work/bare.log" ||
  fail "perf_probe --bare printed $(cat "$work/bare.log")"
expect_error bare_frozen "--bare 1 trains everything: it takes no --frozen" \
  "$probe" train-step --config "$config" --bare 1 --frozen 1
# bfloat16 autocast (training.precision BFLOAT16) where the CPU has the units and oneDNN may use
# them (the peak probe says whether: "bf16_autocast"); refused, naming what is missing, elsewhere
# (tools/cpu_paths_check.sh caps oneDNN below them).
if grep -q '"bf16_autocast": true' "$work/peak.log"; then
  "$probe" train-step --config "$config" --bare 1 --bf16 1 --steps 1 --warmup 1 --batch 4 \
    >"$work/bf16.log" 2>&1 || { cat "$work/bf16.log"; fail "perf_probe train-step --bf16 1"; }
  grep -qE '^\{"images_per_second": [0-9.]+' "$work/bf16.log" ||
    fail "perf_probe --bf16 printed $(cat "$work/bf16.log")"
else
  expect_error bf16_units "--bf16 1: training.precision: BFLOAT16 on the CPU needs bfloat16" \
    "$probe" inference --config "$config" --bf16 1 --steps 1 --warmup 1 --batch 4
fi
# BFLOAT16_WHERE_AVAILABLE trains in bfloat16 on such a CPU, in float32 elsewhere; the run records
# which, and evaluate predicts in it where it can and says so.
"$runner" --config "$config" --runs_dir "$work/precision_runs" --set "data.path=$work/cells" \
  --set training.precision=BFLOAT16_WHERE_AVAILABLE --set "training.stage[0].lr_find=false" \
  --set "training.stage[1].epochs=1" >"$work/precision.log" 2>&1 ||
  { cat "$work/precision.log"; fail "a BFLOAT16_WHERE_AVAILABLE run failed"; }
precision_run=("$work"/precision_runs/tiny_synthetic/*/)
# A CPU run records the host's peak when it starts and each stage's achieved rate against it.
grep -qE "fp32_gflops: [1-9]" "${precision_run[0]}run_info.pbtxt" || fail "no host peak recorded"
grep -qE "achieved_gflops: [0-9.]+" "${precision_run[0]}run_info.pbtxt" || fail "no achieved rate"
grep -qE "^  host peak: [1-9][0-9]* GFLOP/s \((avx512|avx2) fp32 fma, 2 threads\)" \
  "$work/precision.log" || fail "the header shows no host peak: $(cat "$work/precision.log")"
grep -qE "^Compute rate of stage [a-z0-9_]+: [0-9]+ GFLOP/s, [0-9]+ % of the host's (float32 FMA|bfloat16 dot-product) peak" \
  "$work/precision.log" || fail "no compute rate printed: $(cat "$work/precision.log")"
"$bin/tools/evaluate" --run "${precision_run[0]}" --data "$data" >"$work/precision_eval.log" 2>&1 ||
  { cat "$work/precision_eval.log"; fail "evaluate of a bfloat16 run"; }
if grep -q '"bf16_autocast": true' "$work/peak.log"; then
  grep -q 'precision: "BFLOAT16"' "${precision_run[0]}run_info.pbtxt" || fail "no BFLOAT16 recorded"
  grep -q "cpu, 2 threads, bfloat16 autocast, LibTorch" "$work/precision.log" ||
    fail "the run's header does not say bfloat16"
  grep -q "trained in BFLOAT16; predicting in bfloat16 autocast" "$work/precision_eval.log" ||
    fail "evaluate does not say it predicts in bfloat16: $(cat "$work/precision_eval.log")"
else
  grep -q 'precision: "FLOAT32"' "${precision_run[0]}run_info.pbtxt" || fail "no FLOAT32 recorded"
  grep -q "cpu, 2 threads, float32, LibTorch" "$work/precision.log" ||
    fail "the run's header does not say float32"
fi
echo PASS
