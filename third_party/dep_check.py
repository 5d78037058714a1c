#!/usr/bin/env python3
"""Checks the system libraries this workspace builds against.

Bazel's repository rules in third_party/debian.bzl and third_party/libtorch_cuda.bzl run this script
when the workspace loads, so a machine with other library versions fails at once with a message that
names the package, the version found and the one expected, instead of building something subtly
different. Pure standard library, so it runs with any python3.

Usage:
  dep_check.py version --name LibTorch --expect 1.13 \
      --header /usr/include/torch/csrc/api/include/torch/version.h \
      --macros TORCH_VERSION_MAJOR,TORCH_VERSION_MINOR,TORCH_VERSION_PATCH
  dep_check.py version --name glog --expect 0.6 --dpkg libgoogle-glog-dev
  dep_check.py libtorch-dist /opt/libtorch --expect 1.13
  dep_check.py npm third_party/npm/node_modules uplot --expect 1.6.32

On success prints the version found (and for libtorch-dist, `version cuda_version`) and exits 0; on
failure prints one message to stderr and exits 1.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys


class CheckError(Exception):
    """A dependency is missing or has the wrong version; the message says which and where."""


def read_header_version(header, macros, packed=False):
    """Returns the version assembled from integer macros in `header`, joined with dots.

    With `packed`, a single macro holds major*1e6 + minor*1e3 + patch (Protobuf's 3021012).
    """
    if not os.path.isfile(header):
        raise CheckError("header %s not found" % header)
    with open(header, encoding="utf-8", errors="replace") as f:
        text = f.read()
    parts = []
    for macro in macros:
        m = re.search(r"^\s*#\s*define\s+%s\s+(\d+)\b" % re.escape(macro), text, re.MULTILINE)
        if not m:
            raise CheckError("macro %s not found in %s" % (macro, header))
        parts.append(int(m.group(1)))
    if packed:
        if len(parts) != 1:
            raise CheckError("a packed version is one macro, got %s" % ",".join(macros))
        parts = [parts[0] // 1000000, (parts[0] // 1000) % 1000, parts[0] % 1000]
    return ".".join(str(p) for p in parts)


def read_dpkg_version(package):
    """Returns the upstream version of an installed Debian package (epoch and revision removed)."""
    if shutil.which("dpkg-query") is None:
        raise CheckError("dpkg-query not found: cannot tell the version of %s" % package)
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}\t${Version}", package],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    if proc.returncode != 0 or "install ok installed" not in proc.stdout:
        raise CheckError("Debian package %s is not installed" % package)
    version = proc.stdout.split("\t", 1)[1].strip()
    version = version.split(":", 1)[-1]  # epoch
    version = re.split(r"[-+~]", version, maxsplit=1)[0]  # Debian revision, +dfsg, ~rc
    return version


def version_matches(found, expected):
    """True when `expected` is a dot-boundary prefix of `found` ("1.13" matches "1.13.0")."""
    f = found.split(".")
    e = expected.split(".")
    return f[: len(e)] == e


def check_version(name, expected, found, source):
    if not version_matches(found, expected):
        raise CheckError(
            "%s: found version %s (%s), expected %s. This workspace is pinned to the versions in "
            "Debian 12; run tools/setup.sh on Debian 12, or update the pin in WORKSPACE together with "
            "the code." % (name, found, source, expected)
        )


def check_libtorch_dist(root, expected):
    """Validates an unpacked official LibTorch zip (cxx11 ABI, CUDA build) and returns
    (version, cuda_version)."""
    if not root:
        raise CheckError(
            "LIBTORCH_CUDA_HOME is not set: --config=cuda needs the official cxx11-ABI LibTorch "
            "zip with CUDA unpacked, and LIBTORCH_CUDA_HOME pointing at its libtorch/ folder"
        )
    if not os.path.isdir(root):
        raise CheckError("LIBTORCH_CUDA_HOME=%s is not a directory" % root)
    version_header = os.path.join(root, "include/torch/csrc/api/include/torch/version.h")
    version = read_header_version(
        version_header, ["TORCH_VERSION_MAJOR", "TORCH_VERSION_MINOR", "TORCH_VERSION_PATCH"]
    )
    check_version("LibTorch (CUDA, %s)" % root, expected, version, version_header)
    lib = os.path.join(root, "lib")
    for needed in ("libtorch.so", "libtorch_cpu.so", "libtorch_cuda.so", "libc10.so", "libc10_cuda.so"):
        if not os.path.isfile(os.path.join(lib, needed)):
            raise CheckError(
                "%s not found in %s: LIBTORCH_CUDA_HOME must hold a CUDA build of LibTorch" % (needed, lib)
            )
    cuda_version = "unknown"
    build_version = os.path.join(root, "build-version")
    if os.path.isfile(build_version):
        with open(build_version, encoding="utf-8") as f:
            text = f.read().strip()
        m = re.search(r"\+cu(\d+)", text)
        if not m:
            raise CheckError("%s says %r: not a CUDA build of LibTorch" % (build_version, text))
        cuda_version = m.group(1)
    abi_marker = os.path.join(root, "share/cmake/Torch/TorchConfig.cmake")
    if os.path.isfile(abi_marker):
        with open(abi_marker, encoding="utf-8", errors="replace") as f:
            cmake = f.read()
        if "_GLIBCXX_USE_CXX11_ABI=0" in cmake:
            raise CheckError(
                "%s is the pre-cxx11 ABI build; download the cxx11-ABI LibTorch zip instead" % root
            )
    return version, cuda_version


def read_npm_version(node_modules, package):
    """Returns the version of an npm package installed under `node_modules` (its package.json)."""
    manifest = os.path.join(node_modules, package, "package.json")
    if not os.path.isfile(manifest):
        raise CheckError(
            "npm package %s is not installed in %s; run tools/setup.sh" % (package, node_modules)
        )
    with open(manifest, encoding="utf-8") as f:
        try:
            version = json.load(f).get("version", "")
        except ValueError as e:
            raise CheckError("%s is not valid JSON: %s" % (manifest, e))
    if not version:
        raise CheckError("%s has no version" % manifest)
    return version


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("version")
    v.add_argument("--name", required=True)
    v.add_argument("--expect", required=True)
    v.add_argument("--header")
    v.add_argument("--macros")
    v.add_argument("--packed", action="store_true", help="one macro: major*1e6 + minor*1e3 + patch")
    v.add_argument("--dpkg")
    d = sub.add_parser("libtorch-dist")
    d.add_argument("root", nargs="?", default="")
    d.add_argument("--expect", required=True)
    n = sub.add_parser("npm")
    n.add_argument("node_modules")
    n.add_argument("package")
    n.add_argument("--expect", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            if args.header:
                found = read_header_version(args.header, args.macros.split(","), args.packed)
                source = args.header
            elif args.dpkg:
                found = read_dpkg_version(args.dpkg)
                source = "Debian package " + args.dpkg
            else:
                raise CheckError("%s: give --header or --dpkg" % args.name)
            check_version(args.name, args.expect, found, source)
            print(found)
        elif args.command == "npm":
            found = read_npm_version(args.node_modules, args.package)
            if found != args.expect:
                raise CheckError(
                    "npm package %s: found version %s in %s, expected %s; run tools/setup.sh"
                    % (args.package, found, args.node_modules, args.expect)
                )
            print(found)
        else:
            version, cuda = check_libtorch_dist(args.root, args.expect)
            print(version, cuda)
    except CheckError as e:
        print("%s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
