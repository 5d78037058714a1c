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

load("//experiments:experiment.bzl", "launcher")

def sweep(name, config, experiment, tags = []):
    launcher(name, "experiments/sweep/run_sweep", "--sweep", native.package_name() + "/" + config)
    native.sh_binary(
        name = name,
        srcs = [name + ".sh"],
        data = [
            config,
            experiment,
            "//experiments/sweep:run_sweep",
        ],
        tags = tags,
    )
    native.sh_test(
        name = name + "_config_test",
        size = "small",
        srcs = ["//experiments/sweep:validate_sweep_test.sh"],
        args = ["$(rootpath %s)" % config],
        data = [
            config,
            experiment,
            "//experiments/sweep:validate_sweep",
        ],
        tags = tags,
    )
