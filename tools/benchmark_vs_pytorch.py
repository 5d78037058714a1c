#!/usr/bin/python3
"""This platform against plain PyTorch on the same machine, in one invocation, side by side.

    bazel run //tools:benchmark_vs_pytorch [-- --quick] [-- --real DIR]
    bazel run //tools:benchmark_vs_pytorch -- --config $PWD/experiments/nih50_speedrun.pbtxt

Every case runs as a fresh process on each side, with the same threads, batch size and image size
(training and inference cases --repeats times, the two sides alternating, reporting medians):
the platform's tools/perf_probe (its real Learner, loader and model code) and tools/reference_pytorch.py
(torchvision, ImageFolder + DataLoader, AdamW, OneCycleLR, written as a user would). Printed: training
step images/s (ResNet-34 and ResNet-50, 64 and 128 px, body frozen and unfrozen) with the achieved
GFLOP/s against the CPU's fp32 FMA peak (perf_probe peak); inference images/s at batch 64 and latency at batch
1; whole epochs with data loading from PNG files (real 50 px data when present, synthetic 130 px
crops); the peak resident memory of every process; and our / PyTorch ratios.
"""

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile


def run(command):
    """Runs `command`; returns (its last stdout line as JSON, peak RSS in MiB)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    # os.wait4 is not available after communicate(); the child reports its own peak RSS instead.
    if proc.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(command), err[-2000:]))
    lines = [l for l in out.splitlines() if l.startswith("{")]
    return json.loads(lines[-1])


SPREAD = []  # (max - min) / median of every repeated measure


def paired(ours_command, reference_command, repeats):
    """Runs both sides `repeats` times, alternating, so a slow moment of a shared machine hits both;
    returns each side's medians and records how far the repeats spread."""
    sides = ([], [])
    for _ in range(repeats):
        sides[0].append(run(ours_command))
        sides[1].append(run(reference_command))
    medians = []
    for results in sides:
        m = {k: statistics.median(r[k] for r in results) for k in results[0]}
        for k in ("images_per_second", "latency_ms"):
            if k in m and len(results) > 1:
                values = [r[k] for r in results]
                SPREAD.append((max(values) - min(values)) / m[k])
        medians.append(m)
    return medians


BODY = {2: "frozen, BN too", 1: "frozen (fastai)", 0: "unfrozen"}

TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def reference(args, mode, flags):
    """The reference's command: best practice (TCMalloc preloaded, channels-last) unless
    --plain_reference asks for the plain program (glibc malloc, NCHW)."""
    command = ["/usr/bin/python3", args.reference, mode] + flags
    if args.plain_reference:
        return command + ["--channels_last", "0"]
    return ["env", "LD_PRELOAD=" + TCMALLOC] + command


def fmt(v, digits=1):
    return ("%%.%df" % digits) % v


def table(header, rows):
    widths = [max(len(str(r[c])) for r in [header] + rows) for c in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def experiment_epochs(args, config, precision_sets, work):
    """Runs the experiment itself (run_experiment: its loader, augmentation, callbacks, weight
    average and validation) for two epochs on the real cells; returns (trained images per epoch,
    the epoch seconds of metrics.csv)."""
    command = [args.experiment, "--config", config, "--runs_dir", work, "--set",
               "data.path=" + args.real, "--set", "training.stage[0].epochs=2"] + precision_sets
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run_dir = max(os.path.join(root, d) for root, dirs, _ in os.walk(work) for d in dirs
                  if os.path.isfile(os.path.join(root, d, "metrics.csv")))
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        seconds = [float(r["seconds"]) for r in csv.DictReader(f)]
    with open(os.path.join(run_dir, "run_info.pbtxt")) as f:
        images = int(re.search(r"train_images: (\d+)", f.read()).group(1))
    shutil.rmtree(run_dir)
    return images, seconds


def recipe_epochs(args, precisions, repeats):
    """The job itself, epoch against epoch on the real cells: each single-stage --config trained
    two epochs by run_experiment (with its validation) against the reference's epoch mode (its
    DataLoader with --threads workers and torchvision's transforms, training only, every image),
    the second epochs compared (the first also decodes the PNG files on both sides)."""
    rows = []
    work = tempfile.mkdtemp(prefix="benchmark_epochs_")
    try:
        for config in args.config:
            with open(config) as f:
                if len(re.findall(r"^\s*stage\s*\{", f.read(), re.M)) != 1:
                    print("(%s: several stages; its epoch is not compared)" % config)
                    continue
            flags = subprocess.run([args.probe, "reference-flags", "--config", config], check=True,
                                   capture_output=True, text=True).stdout.split()
            for precision, bf16 in precisions:
                # Named on both rows: the config may train in bfloat16 where available.
                sets = ["--set", "training.precision=" + ("BFLOAT16" if bf16 else "FLOAT32")]
                ours, ref = [], []
                for _ in range(repeats):
                    images, seconds = experiment_epochs(args, config, sets, work)
                    ours.append(images / seconds[1])
                    r = run(reference(args, "epoch", flags + ["--data", args.real, "--epochs", "2",
                                                              "--threads", str(args.threads)] + bf16))
                    ref.append(r["images"] / r["epoch_seconds"][1])
                for side in (ours, ref):
                    if len(side) > 1:
                        SPREAD.append((max(side) - min(side)) / statistics.median(side))
                o, p = statistics.median(ours), statistics.median(ref)
                rows.append([os.path.basename(config), precision, fmt(o), fmt(p),
                             fmt(o / p, 2) + "x"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("The job, epoch against epoch on the real cells (trained images/s over the second epoch; "
          "ours includes its validation pass; medians of %d)" % repeats)
    print(table(["config", "precision", "ours (run_experiment)", "PyTorch epoch", "ours/PyTorch"],
                rows))
    print()


def recipes(args, peak, measured_bf16, repeats, steps):
    """The exact networks of experiment configs (--config), each against its plain PyTorch copy:
    training step (everything trains) and inference at the config's image size and batch."""
    t = str(args.threads)
    rows = []
    # float32, and bfloat16 autocast on both sides where the CPU has the units (training.precision
    # BFLOAT16; --bf16 1), each row's rate stated against that unit's peak.
    precisions = [("fp32", [], peak)]
    if not args.plain_reference and measured_bf16 > 0:
        precisions.append(("bf16", ["--bf16", "1"], measured_bf16))
    for config in args.config:
        flags = subprocess.run([args.probe, "reference-flags", "--config", config], check=True,
                               capture_output=True, text=True).stdout.split()
        gflop = run([args.probe, "flops", "--config", config])["forward_gflop"]
        size, batch = flags[flags.index("--size") + 1], flags[flags.index("--batch") + 1]
        common = ["--threads", t, "--steps", steps, "--warmup", "2"]
        # Our step through the whole Learner (loader batches, callbacks, weight average), our bare
        # step (the model and AdamW on one fixed batch: the reference's work), and inference; the
        # reference times a bare step in both training rows.
        for precision, bf16, unit_peak in precisions:
            for label, mode, extra in (("train-step (Learner)", "train-step", []),
                                       ("train-step (bare)", "train-step", ["--bare", "1"]),
                                       ("inference", "inference", [])):
                ours, ref = paired([args.probe, mode, "--config", config] + extra + common + bf16,
                                   reference(args, mode, flags + common + bf16), repeats)
                flops = gflop * (3 if mode == "train-step" else 1)
                rate = lambda side: "%.0f (%.0f %%)" % (
                    flops * side["images_per_second"],
                    100 * flops * side["images_per_second"] / unit_peak)
                rows.append([os.path.basename(config), label, precision, size, batch,
                             "%.4f" % gflop, fmt(ours["images_per_second"]),
                             fmt(ref["images_per_second"]),
                             fmt(ours["images_per_second"] / ref["images_per_second"], 2) + "x",
                             rate(ours), rate(ref)])
    if args.real and os.path.isdir(args.real):
        recipe_epochs(args, [p[:2] for p in precisions], repeats)
    else:
        print("(real 50 px data not found at %r: the recipes' epochs are skipped)" % args.real)
    print("Recipe networks (images/s; GFLOP/s achieved, 3 x forward FLOPs per trained image, and its "
          "% of the peak measured in this run: the fp32 FMA peak for fp32 rows, the bfloat16 "
          "dot-product peak for bf16 rows)")
    print(table(["config", "mode", "precision", "px", "batch", "fwd GFLOP", "ours", "PyTorch",
                 "ours/PyTorch", "ours GFLOP/s", "PyTorch GFLOP/s"], rows))
    if SPREAD:
        print("\nMedians of %d runs per side; the repeats of one case spread by up to %.0f %%."
              % (repeats, 100 * max(SPREAD)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probe", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--make_cells", required=True)
    parser.add_argument("--experiment", required=True, help="the run_experiment binary")
    parser.add_argument("--real", default="")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--quick", action="store_true", help="fewer steps, smaller epochs")
    parser.add_argument("--config", action="append", default=[],
                        help="experiment config whose network to compare (repeatable); only these run")
    parser.add_argument("--plain_reference", action="store_true",
                        help="the plain PyTorch program (glibc malloc, NCHW) instead of best practice")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each training and inference case per side (medians reported)")
    args = parser.parse_args()
    repeats = 1 if args.quick else max(1, args.repeats)
    t = str(args.threads)
    steps = "3" if args.quick else "6"

    # The CPU's limit (its widest FMA unit on every thread) is what achieved rates are stated
    # against; the BLAS matrix product is shown beside it with the OpenBLAS core type it ran.
    measured = run([args.probe, "peak", "--threads", t])
    peak = measured["fp32_peak_gflops"]
    matmul = run([args.probe, "matmul", "--n", "2048", "--threads", t])
    print("Machine: %d threads; fp32 FMA peak %.1f GFLOP/s (%s), bfloat16 dot products %.1f; "
          "float32 matmul (2048 x 2048, OpenBLAS core type %s): %.1f GFLOP/s (%.0f %% of the peak)\n"
          % (args.threads, peak, measured["units"][0]["unit"], measured["bf16_peak_gflops"],
             matmul["openblas_coretype"] or "auto", matmul["gflops"], 100 * matmul["gflops"] / peak))
    print("Reference: %s\n" % ("plain PyTorch (glibc malloc, NCHW)" if args.plain_reference else
                                "best-practice PyTorch (TCMalloc preloaded, channels-last)"))
    if args.config:
        # bfloat16 rows where runs here would train in it (the units, oneDNN not capped below them).
        bf16_peak = measured["bf16_peak_gflops"] if measured.get("bf16_autocast") else 0
        recipes(args, peak, bf16_peak, repeats, "10" if not args.quick else "4")
        return

    rows = []
    for arch in ("resnet34", "resnet50"):
        for size in (64, 128):
            gflop = run([args.probe, "flops", "--arch", arch, "--size", str(size)])["forward_gflop"]
            for frozen in (2, 1, 0):
                common = ["--arch", arch, "--size", str(size), "--batch", "32", "--frozen", str(frozen),
                          "--threads", t, "--steps", steps, "--warmup", "2"]
                ours, ref = paired([args.probe, "train-step"] + common,
                                   reference(args, "train-step", common), repeats)
                # Training FLOPs per image: forward, + input gradients when the body's BatchNorm
                # layers train, + weight gradients when everything trains.
                flops = gflop * {2: 1, 1: 2, 0: 3}[frozen]
                rows.append([arch, size, BODY[frozen], fmt(ours["images_per_second"]),
                             fmt(ref["images_per_second"]),
                             fmt(ours["images_per_second"] / ref["images_per_second"], 2) + "x",
                             "%.0f (%.0f %%)" % (flops * ours["images_per_second"],
                                                 100 * flops * ours["images_per_second"] / peak),
                             fmt(ours["peak_rss_mb"], 0), fmt(ref["peak_rss_mb"], 0)])
    print("Training step, batch 32 (images/s; GFLOP/s achieved by ours, % of the fp32 FMA peak)")
    print(table(["model", "px", "body", "ours", "PyTorch", "ours/PyTorch", "ours GFLOP/s",
                 "ours MiB", "PyTorch MiB"], rows))

    rows = []
    for arch in ("resnet34", "resnet50"):
        for batch in (64, 1):
            common = ["--arch", arch, "--size", "128", "--batch", str(batch), "--threads", t,
                      "--steps", "20" if batch == 1 else steps, "--warmup", "2"]
            ours, ref = paired([args.probe, "inference"] + common,
                               reference(args, "inference", common), repeats)
            if batch == 64:
                rows.append([arch, "batch 64 images/s", fmt(ours["images_per_second"]),
                             fmt(ref["images_per_second"]),
                             fmt(ours["images_per_second"] / ref["images_per_second"], 2) + "x",
                             fmt(ours["peak_rss_mb"], 0), fmt(ref["peak_rss_mb"], 0)])
            else:
                rows.append([arch, "batch 1 latency ms", fmt(ours["latency_ms"]), fmt(ref["latency_ms"]),
                             fmt(ref["latency_ms"] / ours["latency_ms"], 2) + "x",
                             fmt(ours["peak_rss_mb"], 0), fmt(ref["peak_rss_mb"], 0)])
    print("\nInference at 128 px (ratio > 1: ours is faster)")
    print(table(["model", "measure", "ours", "PyTorch", "ours vs PyTorch", "ours MiB", "PyTorch MiB"], rows))
    if SPREAD:
        print("\nMedians of %d runs per side; the repeats of one case spread by up to %.0f %% (median %.0f %%)."
              % (repeats, 100 * max(SPREAD), 100 * statistics.median(SPREAD)))

    rows = []
    work = tempfile.mkdtemp(prefix="benchmark_vs_pytorch_")
    try:
        cells = os.path.join(work, "cells")
        subprocess.run([args.make_cells, "--out", cells, "--count", "800" if args.quick else "2000",
                        "--size", "130", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
        datasets = [("synthetic 130 px RGB", cells, "128")]
        if args.real and os.path.isdir(args.real):
            datasets.insert(0, ("real NIH 50 px", args.real, "64"))
        else:
            print("\n(real 50 px data not found at %r: its epoch is skipped)" % args.real)
        for name, path, size in datasets:
            common = ["--data", path, "--size", size, "--batch", "64", "--threads", t, "--epochs", "2",
                      "--frozen", "1", "--arch", "resnet34"]
            ours = run([args.probe, "epoch"] + common)
            ref = run(reference(args, "epoch", common))
            for e in range(2):
                rows.append([name, size, e + 1, fmt(ours["epoch_seconds"][e]), fmt(ref["epoch_seconds"][e]),
                             fmt(ref["epoch_seconds"][e] / ours["epoch_seconds"][e], 2) + "x",
                             fmt(ours["peak_rss_mb"], 0), fmt(ref["peak_rss_mb"], 0)])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nWhole training epochs from PNG files, ResNet-34 body frozen, batch 64 (seconds; ratio > 1: "
          "ours is faster; PyTorch uses %s DataLoader workers)" % t)
    print(table(["data", "px", "epoch", "ours s", "PyTorch s", "speed-up", "ours MiB", "PyTorch MiB"], rows))
    print("\nPeak MiB of the PyTorch side counts its main process only (not the DataLoader workers).")


if __name__ == "__main__":
    main()
