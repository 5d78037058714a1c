#!/usr/bin/env bash
# Bad input through the real runner: each case exits with status 2 and a message that names the
# file, field or folder at fault, and creates no run directory.
set -euo pipefail

source "$TEST_SRCDIR/malaria/experiments/test_lib.sh" bad
runs="$work/runs"

# expect_error NAME PATTERN ARGS...: the runner must exit 2 and print PATTERN.
expect_error() {
  local name="$1" pattern="$2"
  shift 2
  local status=0
  "$runner" --runs_dir "$runs" "$@" >"$work/$name.log" 2>&1 || status=$?
  cat "$work/$name.log"
  [[ $status -eq 2 ]] || fail "$name: exit status $status, expected 2"
  grep -qF -- "$pattern" "$work/$name.log" || fail "$name: message lacks '$pattern'"
  [[ ! -e "$runs" ]] || fail "$name: a run directory was created"
  echo "ok: $name"
}

write_png() {  # a valid 1x1 PNG
  mkdir -p "$(dirname "$1")"
  printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82' >"$1"
}

expect_error missing_config "$work/none.pbtxt does not exist" --config "$work/none.pbtxt"

printf 'name: "x"\ndata {\n  image_sise: 64\n}\n' >"$work/unknown_field.pbtxt"
expect_error unknown_field "unknown_field.pbtxt:3:" --config "$work/unknown_field.pbtxt"

printf 'name: "x"\ndata { image_size: 64 \n' >"$work/corrupt.pbtxt"
expect_error corrupt_config "corrupt.pbtxt:" --config "$work/corrupt.pbtxt"

expect_error bad_override "no field 'epoch'" --config "$config" --set "training.stage[0].epoch=1"
expect_error invalid_value "training.stage[0].epochs: must be > 0" --config "$config" --set "training.stage[0].epochs=0"
expect_error unknown_architecture "model.architecture: unknown architecture 'resnet35'" \
  --config "$config" --set model.architecture=resnet35

expect_error missing_data "data.path: data folder $work/nowhere does not exist" \
  --config "$config" --set "data.path=$work/nowhere"

printf 'x' >"$work/a_file"
expect_error data_path_is_a_file "data.path: $work/a_file is a file, not a data folder" \
  --config "$config" --set "data.path=$work/a_file"

mkdir -p "$work/empty/Parasitized" "$work/empty/Uninfected"
expect_error no_images "$work/empty holds no images" --config "$config" --set "data.path=$work/empty"

write_png "$work/one_class/Parasitized/a.png"
expect_error one_class "holds only one class (Parasitized" --config "$config" --set "data.path=$work/one_class"

for i in 1 2 3 4 5 6 7 8; do
  write_png "$work/corrupt_png/Parasitized/p$i.png"
  write_png "$work/corrupt_png/Uninfected/u$i.png"
done
printf 'not a png' >"$work/corrupt_png/Uninfected/C9_broken_cell_1.png"
expect_error unreadable_png_strict "C9_broken_cell_1.png" --config "$config" \
  --set "data.path=$work/corrupt_png" --set data.strict=true

expect_error cpu_mixed_precision "training.precision: FLOAT16 is CUDA mixed precision" \
  --config "$config" --set training.precision=FLOAT16

printf 'PK\x05\x06 not really a zip' >"$work/bad_weights.pth"
expect_error corrupt_weights "model.pretrained_weights: $work/bad_weights.pth" --config "$config" \
  --set "model.pretrained_weights=$work/bad_weights.pth"

# Data-parallel settings: a bad process count, torchrun variables that do not add up, a bad bucket.
expect_error bad_nproc "--nproc_per_node: 'two' is not an integer" --config "$config" \
  --nproc_per_node two
WORLD_SIZE=2 RANK=2 MASTER_ADDR=127.0.0.1 \
  expect_error bad_rank "RANK=2 is not below WORLD_SIZE=2" --config "$config"
WORLD_SIZE=2 RANK=0 expect_error no_master "MASTER_ADDR is unset" --config "$config"
NNODES=two expect_error bad_nnodes "NNODES='two' is not a non-negative integer" --config "$config"
NNODES=2 expect_error nnodes_alone "NNODES=2 needs MASTER_ADDR and MASTER_PORT" --config "$config"
expect_error bad_bucket "training.distributed.bucket_mib" --config "$config" \
  --set training.distributed.bucket_mib=0
expect_error nccl_on_cpu "training.distributed.backend: the NCCL backend needs a CUDA device" \
  --config "$config" --nproc_per_node 2 --set training.distributed.backend=NCCL

# One validation: what validate_config refuses, the runner refuses with the same words, and the
# reverse; a training ingredient's setting is a config rule like any other.
validator="$TEST_SRCDIR/malaria/experiments/validate_config"
same_refusal() {  # NAME PATTERN SET...: both refuse naming PATTERN (validate_config exits 1, the
  # runner 2); the runner makes no run.
  local name="$1" pattern="$2"
  shift 2
  local sets=() a status=0
  for a in "$@"; do sets+=(--set "$a"); done
  "$validator" "$config" "${sets[@]}" >"$work/$name.validate.log" 2>&1 || status=$?
  cat "$work/$name.validate.log"
  [[ $status -eq 1 ]] || fail "$name: validate_config exited $status, not 1"
  grep -qF -- "$pattern" "$work/$name.validate.log" || fail "$name: validate_config lacks '$pattern'"
  expect_error "$name" "$pattern" --config "$config" "${sets[@]}"
}
same_refusal lookahead_alpha "training.lookahead.alpha: must be in (0, 1], got 2" \
  training.lookahead.steps=5 training.lookahead.alpha=2
same_refusal lookahead_steps "training.lookahead.steps: must be >= 0 (0: off), got -1" \
  training.lookahead.steps=-1
same_refusal bn_lr_scale "training.stage[0].optimizer.bn_lr_scale: must be >= 0" \
  "training.stage[0].optimizer.bn_lr_scale=-4"
same_refusal bn_lr_scale_nan "training.stage[0].optimizer.bn_lr_scale: must be a finite number, got nan" \
  "training.stage[0].optimizer.bn_lr_scale=nan"
same_refusal flips_without_augmentation "data.augmentation.alternate_flips: needs the augmentation enabled" \
  data.augmentation.enabled=false data.augmentation.alternate_flips=true
same_refusal precision_on_cpu "training.precision: FLOAT16 is CUDA mixed precision, and training.device is DEVICE_CPU" \
  training.device=DEVICE_CPU training.precision=FLOAT16
# A network that cannot fit this machine: refused with its size, not a C++ backtrace mid-run.
same_refusal too_large "model: needs at least" model.architecture=resnet \
  "model.shape.widths=[4096, 4096, 4096, 4096]" "model.shape.blocks=[64, 64, 64, 64]"
grep -q "billion parameters" "$work/too_large.log" || fail "too_large: the size is not said"

# Slurm's variables left over from another job (no Slurm here): the config is checked before
# anything waits, bad variables are named at once, and a rank says what it waits for and how long;
# a timeout is one line, no C++ backtrace.
slurm=(SLURM_PROCID=0 SLURM_STEP_NUM_TASKS=2 SLURM_STEP_NODELIST=localhost)
status=0
env "${slurm[@]}" timeout 60 "$runner" --config "$work/none.pbtxt" >"$work/slurm_missing.log" 2>&1 ||
  status=$?
cat "$work/slurm_missing.log"
[[ $status -eq 2 ]] || fail "slurm_missing: exit status $status, expected 2 at once"
grep -qF "$work/none.pbtxt does not exist" "$work/slurm_missing.log" || fail "slurm_missing: not named"
status=0
env "${slurm[@]}" MASTER_PORT=70000 timeout 60 "$runner" --config "$config" \
  >"$work/slurm_port.log" 2>&1 || status=$?
cat "$work/slurm_port.log"
[[ $status -eq 2 ]] && grep -qF "MASTER_PORT=70000 is not a TCP port" "$work/slurm_port.log" ||
  fail "slurm_port: exit $status"
status=0
env SLURM_PROCID=0 SLURM_STEP_NUM_TASKS=2 'SLURM_STEP_NODELIST=n[0-2000000000]' timeout 60 \
  "$runner" --config "$config" >"$work/slurm_hosts.log" 2>&1 || status=$?
cat "$work/slurm_hosts.log"
[[ $status -eq 2 ]] && grep -qF "more than 65536 hosts" "$work/slurm_hosts.log" ||
  fail "slurm_hosts: exit $status"
# Rank 1 alone: it says whom it waits for and how long, then fails in one line.
port=$((20000 + RANDOM % 20000))
status=0
env SLURM_PROCID=1 SLURM_STEP_NUM_TASKS=2 SLURM_STEP_NODELIST=localhost MASTER_PORT=$port \
  MALARIA_DIST_TIMEOUT_S=2 timeout 120 "$runner" --config "$config" --runs_dir "$runs" \
  >"$work/slurm_alone.log" 2>&1 || status=$?
cat "$work/slurm_alone.log"
[[ $status -eq 2 ]] || fail "slurm_alone: exit status $status, expected 2"
grep -qF "rank 1 of 2: joining the data-parallel job at localhost:$port (rank 0's store); waiting up to 2 s" \
  "$work/slurm_alone.log" || fail "slurm_alone: the wait is not announced"
grep -q "ERROR: rank 1 of 2: cannot join the process group at localhost:$port within 2 s" \
  "$work/slurm_alone.log" || fail "slurm_alone: the failure is not named"
! grep -qE "frame #|Exception raised from" "$work/slurm_alone.log" || fail "slurm_alone: a backtrace"
[[ $(wc -l <"$work/slurm_alone.log") -le 4 ]] || fail "slurm_alone: more than 4 lines"
[[ ! -e "$runs" ]] || fail "slurm_alone: a run directory was created"
echo "ok: slurm_leftovers"

# A failure once the run directory exists (a full disk; here a file-size limit, which the
# programs take as a full disk rather than dying of SIGXFSZ): the run is recorded FAILED with the
# reason, not left RUNNING, no temporary file is left, and the exit status is 1 ("failed,
# recorded in the run"). --resume then finishes it. First the split's listing does not fit.
for i in $(seq 1 60); do
  write_png "$work/many/Parasitized/C10P5ThinF_IMG_20150000_a_long_name_for_the_listing_cell_$i.png"
  write_png "$work/many/Uninfected/C11_thinF_IMG_20150000_a_long_name_for_the_listing_cell_$i.png"
done
# limited_run NAME KIB FILE: the runner under a file-size limit of KIB KiB into $work/NAME must exit
# 1, leave the run FAILED with a reason naming FILE and the limit, and no temporary file; sets
# $limited to the run directory.
limited_run() {
  local name="$1" kib="$2" file="$3" status=0
  (
    ulimit -f "$kib"
    exec "$runner" --config "$config" --runs_dir "$work/$name" --set "data.path=$work/many" \
      --set "training.stage[1].epochs=1" --set training.stage[0].lr_find=false
  ) >"$work/$name.log" 2>&1 || status=$?
  cat "$work/$name.log"
  [[ $status -eq 1 ]] || fail "$name: a failure after the run directory existed exited $status, not 1"
  limited=$(one_run "$work/$name")
  grep -q "status: FAILED" "$limited/run_info.pbtxt" || fail "$name: the run is not recorded as FAILED"
  grep -q "reason: \".*$file.*file-size limit" "$limited/run_info.pbtxt" ||
    fail "$name: the reason does not name $file and the limit"
  grep -q "FAILED: .*$file" "$work/$name.log" || fail "$name: the failure was not reported"
  [[ -z "$(find "$limited" -name '*.tmp.*')" ]] || fail "$name: temporary files were left"
}

# 8 KiB: config.pbtxt and run_info.pbtxt fit, split/train.txt does not.
limited_run full 8 split/train.txt
"$runner" --resume "$limited" >"$work/full_resume.log" 2>&1 ||
  { cat "$work/full_resume.log"; fail "--resume of the run that failed before training"; }
grep -q "status: COMPLETED" "$limited/run_info.pbtxt" || fail "the resumed run did not complete"
[[ $(wc -l <"$limited/split/train.txt") -eq 96 ]] || fail "the resume did not record the split"
echo "ok: failure_after_the_run_directory"

# 1 MiB: the first checkpoint does not fit (a ResNet-18 checkpoint is about 45 MB); FAILED after its
# first epoch's row. A temporary file a killed writer left behind is swept by --resume.
limited_run ckpt 1024 frozen_last.pt
head -c 1000 /dev/zero >"$limited/checkpoints/frozen_last.pt.tmp.12345.0"
"$runner" --resume "$limited" >"$work/ckpt_resume.log" 2>&1 ||
  { cat "$work/ckpt_resume.log"; fail "--resume after the checkpoint failure"; }
grep -q "Removed 1 unfinished temporary file" "$work/ckpt_resume.log" || fail "the stale temporary file was not swept"
grep -q "status: COMPLETED" "$limited/run_info.pbtxt" || fail "the resumed run did not complete"
[[ -z "$(find "$limited" -name '*.tmp.*')" ]] || fail "temporary files after --resume"
echo "ok: checkpoint_past_the_file_size_limit"

echo "PASS"
