"""The `sweep` macro: one text-format SweepConfig becomes a runnable target and a test.

    load("//experiments/sweep:sweep.bzl", "sweep")

    sweep(
        name = "speedrun_lr_smoothing",
        config = "speedrun_lr_smoothing.pbtxt",
        experiment = "//experiments:nih50_speedrun_kfold.pbtxt",
    )

makes
  //experiments/sweep:speedrun_lr_smoothing              `bazel run` it; arguments after -- go to
                                                         run_sweep (--jobs N, --executor slurm,
                                                         --status, --runs_dir DIR)
  //experiments/sweep:speedrun_lr_smoothing_config_test  the sweep parses and every trial's config
                                                         passes validation
"""

load("//experiments:experiment.bzl", "runnable_config")

def sweep(name, config, experiment, tags = []):
    runnable_config(
        name,
        config,
        program = "//experiments/sweep:run_sweep",
        flag = "--sweep",
        validator = "//experiments/sweep:validate_sweep",
        test_script = "//experiments/sweep:validate_sweep_test.sh",
        data = [experiment],
        tags = tags,
    )
