"""Repository rule that wraps one Debian-packaged C++ library as a Bazel repository.

Nothing is downloaded: the rule links the library's own header folder into the repository, checks
the installed version when the workspace loads (third_party/dep_check.py), and installs a BUILD
file from third_party/. A machine with another version fails with a message naming the package,
the version found and the one expected.

Example (WORKSPACE):

    debian_library(
        name = "glog",
        build_file = "//third_party:glog.BUILD",
        headers = {"/usr/include/glog": "include/glog"},
        version = "0.6",
        version_dpkg = "libgoogle-glog-dev",
    )
"""

def _multiarch_libdir(rctx):
    result = rctx.execute(["gcc", "-print-multiarch"])
    triple = result.stdout.strip() if result.return_code == 0 else ""
    return "/usr/lib/" + triple if triple else "/usr/lib"

def check_version(rctx, name, version, header = None, macros = None, packed = False, dpkg = None):
    """Runs dep_check.py for one library; fails the workspace load on a mismatch.

    Returns the version found.
    """
    python = rctx.which("python3")
    if python == None:
        fail("%s: python3 is needed to check library versions; run tools/setup.sh" % name)
    args = [python, rctx.path(rctx.attr._dep_check), "version", "--name", name, "--expect", version]
    if header:
        args += ["--header", header, "--macros", ",".join(macros)]
        if packed:
            args.append("--packed")
    elif dpkg:
        args += ["--dpkg", dpkg]
    result = rctx.execute(args)
    if result.return_code != 0:
        fail("\n" + result.stderr.strip())
    return result.stdout.strip()

def _debian_library_impl(rctx):
    name = rctx.attr.display_name or rctx.name
    found = None
    if rctx.attr.version_header:
        found = check_version(
            rctx,
            name,
            rctx.attr.version,
            header = rctx.attr.version_header,
            macros = rctx.attr.version_macros,
            packed = rctx.attr.version_packed,
        )
    if rctx.attr.version_dpkg:
        # Also checked when a header was: a package's tools (protoc) must match its headers.
        dpkg_found = check_version(
            rctx,
            rctx.attr.version_dpkg,
            rctx.attr.version,
            dpkg = rctx.attr.version_dpkg,
        )
        found = found or dpkg_found
    if not found:
        fail("%s: give version_header or version_dpkg" % name)
    for source, dest in rctx.attr.headers.items():
        if not rctx.path(source).exists:
            fail("%s: %s not found; run tools/setup.sh" % (rctx.name, source))
        rctx.symlink(source, dest)

    # Libraries that ship as many small .so files (Abseil) are listed by prefix.
    libdir = _multiarch_libdir(rctx)
    linkopts = []
    if rctx.attr.link_prefix:
        names = []
        for entry in rctx.path(libdir).readdir():
            base = entry.basename
            if base.startswith(rctx.attr.link_prefix) and base.endswith(".so"):
                names.append(base[len("lib"):-len(".so")])
        if not names:
            fail("%s: no %s*.so in %s; run tools/setup.sh" % (rctx.name, rctx.attr.link_prefix, libdir))
        linkopts = ["-l" + n for n in sorted(names)]
    rctx.template("BUILD.bazel", rctx.attr.build_file, substitutions = {
        "%{LINKOPTS}": repr(linkopts),
        "%{VERSION}": found,
    }, executable = False)
    for source, dest in rctx.attr.files.items():
        rctx.template(dest, source, substitutions = {"%{VERSION}": found})

debian_library = repository_rule(
    implementation = _debian_library_impl,
    local = True,
    attrs = {
        "build_file": attr.label(mandatory = True, allow_single_file = True),
        "display_name": attr.string(doc = "Name used in error messages."),
        "files": attr.label_keyed_string_dict(
            allow_files = True,
            doc = "Extra files copied into the repository: label -> path.",
        ),
        "headers": attr.string_dict(doc = "System folder -> path inside the repository."),
        "link_prefix": attr.string(doc = "Link every lib<prefix>*.so (%{LINKOPTS} in the BUILD file)."),
        "version": attr.string(mandatory = True, doc = "Expected version prefix, e.g. 1.13."),
        "version_dpkg": attr.string(doc = "Debian package whose version is checked (too)."),
        "version_header": attr.string(doc = "Header holding version macros."),
        "version_macros": attr.string_list(doc = "Integer macros joined with dots."),
        "version_packed": attr.bool(doc = "One macro holding major*1e6 + minor*1e3 + patch."),
        "_dep_check": attr.label(default = "//third_party:dep_check.py"),
    },
)
