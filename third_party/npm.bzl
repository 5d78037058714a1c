"""Repository rule for the npm packages tools/setup.sh installs into third_party/npm/node_modules.

Nothing is downloaded here: tools/setup.sh runs `npm ci` against the committed package-lock.json
(the npm registry is the one place besides Debian's archive that packages come from). This rule
checks each pinned package's installed version when the workspace loads, links the node_modules
folder into the repository and installs a BUILD file from third_party/. A machine without the
packages, or with other versions, fails with a message that says to run tools/setup.sh.

Example (WORKSPACE):

    npm_packages(
        name = "npm",
        build_file = "//third_party:npm.BUILD",
        lock = "//third_party/npm:package-lock.json",
        packages = {"uplot": "1.6.32"},
    )
"""

def _npm_packages_impl(rctx):
    lock = rctx.path(rctx.attr.lock)  # a label input: a new lock file refetches the repository
    node_modules = lock.dirname.get_child("node_modules")
    python = rctx.which("python3")
    if python == None:
        fail("%s: python3 is needed to check package versions; run tools/setup.sh" % rctx.name)
    for package, version in rctx.attr.packages.items():
        result = rctx.execute([
            python,
            rctx.path(rctx.attr._dep_check),
            "npm",
            str(node_modules),
            package,
            "--expect",
            version,
        ])
        if result.return_code != 0:
            fail("\n" + result.stderr.strip())
    rctx.symlink(node_modules, "node_modules")
    rctx.template("BUILD.bazel", rctx.attr.build_file, executable = False)

npm_packages = repository_rule(
    implementation = _npm_packages_impl,
    local = True,
    attrs = {
        "build_file": attr.label(mandatory = True, allow_single_file = True),
        "lock": attr.label(mandatory = True, allow_single_file = True),
        "packages": attr.string_dict(doc = "npm package -> exact version expected."),
        "_dep_check": attr.label(default = "//third_party:dep_check.py"),
    },
)
