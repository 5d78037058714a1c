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

def _runfiles_path(label):
    """The runfiles path of a main-repository label: //a/b:c -> a/b/c."""
    package, _, target = label[2:].partition(":")
    return package + "/" + target

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

def runnable_config(name, config, program, flag, validator, test_script, data = [], extra_args = "", tags = []):
    """`name` runs `program` (a label) with `flag` `config`; `name`_config_test runs `test_script` on the config with `validator` (a label). `data`: other files both need."""
    launcher(name, _runfiles_path(program), flag, native.package_name() + "/" + config, extra_args)
    native.sh_binary(
        name = name,
        srcs = [name + ".sh"],
        data = [config] + data + [program],
        tags = tags,
    )
    native.sh_test(
        name = name + "_config_test",
        size = "small",
        srcs = [test_script],
        args = ["$(rootpath %s)" % config],
        data = [config] + data + [validator],
        tags = tags,
    )

def experiment(name, config, tags = [], all_folds = False):
    runnable_config(
        name,
        config,
        program = "//experiments:run_experiment",
        flag = "--config",
        validator = "//experiments:validate_config",
        test_script = "//experiments:validate_config_test.sh",
        extra_args = "--all_folds" if all_folds else "",
        tags = tags,
    )
