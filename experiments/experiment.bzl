"""The `experiment` macro: one text-format ExperimentConfig becomes a runnable target and a test.

    load("//experiments:experiment.bzl", "experiment")

    experiment(
        name = "resnet34_two_stage",
        config = "resnet34_two_stage.pbtxt",
    )

makes
  //experiments:resnet34_two_stage              `bazel run` it; arguments after -- go to the runner
                                                (--set field.path=value, --runs_dir DIR)
  //experiments:resnet34_two_stage_config_test  the config parses and passes validation

With all_folds = True (a config whose data.split is patient_kfold), `bazel run //experiments:NAME`
runs every fold in turn into one tracker folder and prints the folds' mean and standard deviation
(run_experiment --all_folds); `-- --set data.split.patient_kfold.fold=N` runs fold N alone.
"""

def launcher(name, program, flag, config_path, extra_args = ""):
    """`name`.sh: runs `program` (a runfiles path) with `flag` `config_path`, then its arguments."""
    native.genrule(
        name = name + "_launcher",
        srcs = ["//experiments:launch.sh.in"],
        outs = [name + ".sh"],
        cmd = "sed 's|@PROGRAM@|%s|g; s|@FLAG@|%s|g; s|@CONFIG@|%s|g; s|@ARGS@|%s|g' $< > $@" % (
            program,
            flag,
            config_path,
            extra_args,
        ),
        visibility = ["//visibility:private"],
    )

def experiment(name, config, tags = [], all_folds = False):
    config_path = native.package_name() + "/" + config
    launcher(name, "experiments/run_experiment", "--config", config_path, "--all_folds" if all_folds else "")
    native.sh_binary(
        name = name,
        srcs = [name + ".sh"],
        data = [
            config,
            "//experiments:run_experiment",
        ],
        tags = tags,
    )
    native.sh_test(
        name = name + "_config_test",
        size = "small",
        srcs = ["//experiments:validate_config_test.sh"],
        args = ["$(rootpath %s)" % config],
        data = [
            config,
            "//experiments:validate_config",
        ],
        tags = tags,
    )
