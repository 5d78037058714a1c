"""Tests of dep_check.py, the version check the workspace's repository rules run, on fake layouts."""

import os
import tempfile
import unittest

from third_party import dep_check


def write(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


TORCH_VERSION_H = """
#pragma once
#define TORCH_VERSION_MAJOR 1
#define TORCH_VERSION_MINOR 13
#define TORCH_VERSION_PATCH 1
"""


def fake_libtorch(root, build_version="1.13.1+cu117\n", cmake_abi="1", libs=None):
    write(os.path.join(root, "include/torch/csrc/api/include/torch/version.h"), TORCH_VERSION_H)
    for lib in libs or ("libtorch.so", "libtorch_cpu.so", "libtorch_cuda.so", "libc10.so",
                        "libc10_cuda.so"):
        write(os.path.join(root, "lib", lib))
    if build_version is not None:
        write(os.path.join(root, "build-version"), build_version)
    write(os.path.join(root, "share/cmake/Torch/TorchConfig.cmake"),
          'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=%s")\n' % cmake_abi)


class HeaderVersionTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def test_reads_macros_joined_with_dots(self):
        header = os.path.join(self.dir, "version.h")
        write(header, TORCH_VERSION_H)
        self.assertEqual(
            dep_check.read_header_version(
                header, ["TORCH_VERSION_MAJOR", "TORCH_VERSION_MINOR", "TORCH_VERSION_PATCH"]),
            "1.13.1")

    def test_unpacks_protobuf_style_version(self):
        header = os.path.join(self.dir, "port_def.inc")
        write(header, "#define PROTOBUF_VERSION 3021012\n")
        self.assertEqual(dep_check.read_header_version(header, ["PROTOBUF_VERSION"], packed=True),
                         "3.21.12")
        # Abseil's LTS date is one plain number.
        write(header, "#define ABSL_LTS_RELEASE_VERSION 20220623\n")
        self.assertEqual(dep_check.read_header_version(header, ["ABSL_LTS_RELEASE_VERSION"]),
                         "20220623")

    def test_missing_header_or_macro_is_an_error(self):
        with self.assertRaisesRegex(dep_check.CheckError, "not found"):
            dep_check.read_header_version(os.path.join(self.dir, "none.h"), ["X"])
        header = os.path.join(self.dir, "v.h")
        write(header, "#define OTHER 1\n")
        with self.assertRaisesRegex(dep_check.CheckError, "macro X not found in"):
            dep_check.read_header_version(header, ["X"])

    def test_mismatch_names_package_found_and_expected(self):
        header = os.path.join(self.dir, "version.h")
        write(header, TORCH_VERSION_H.replace("MINOR 13", "MINOR 12"))
        status = dep_check.main(["version", "--name", "LibTorch (libtorch-dev)", "--expect", "1.13",
                                 "--header", header, "--macros",
                                 "TORCH_VERSION_MAJOR,TORCH_VERSION_MINOR"])
        self.assertEqual(status, 1)
        with self.assertRaises(dep_check.CheckError) as error:
            dep_check.check_version("LibTorch (libtorch-dev)", "1.13", "1.12", header)
        message = str(error.exception)
        self.assertIn("LibTorch (libtorch-dev)", message)
        self.assertIn("found version 1.12", message)
        self.assertIn("expected 1.13", message)

    def test_version_prefix_matches_on_component_boundaries(self):
        self.assertTrue(dep_check.version_matches("1.13.1", "1.13"))
        self.assertTrue(dep_check.version_matches("1.13", "1.13"))
        self.assertFalse(dep_check.version_matches("1.130.0", "1.13"))
        self.assertFalse(dep_check.version_matches("1.1", "1.13"))


class LibtorchDistTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def test_accepts_a_cuda_cxx11_distribution(self):
        fake_libtorch(self.dir)
        self.assertEqual(dep_check.check_libtorch_dist(self.dir, "1.13"), ("1.13.1", "117"))

    def test_unset_or_missing_root_explains_the_variable(self):
        with self.assertRaisesRegex(dep_check.CheckError, "LIBTORCH_CUDA_HOME is not set"):
            dep_check.check_libtorch_dist("", "1.13")
        with self.assertRaisesRegex(dep_check.CheckError, "is not a directory"):
            dep_check.check_libtorch_dist(os.path.join(self.dir, "none"), "1.13")

    def test_rejects_cpu_builds_wrong_versions_and_old_abi(self):
        cpu = os.path.join(self.dir, "cpu")
        fake_libtorch(cpu, build_version="1.13.1+cpu\n")
        with self.assertRaisesRegex(dep_check.CheckError, "not a CUDA build"):
            dep_check.check_libtorch_dist(cpu, "1.13")
        nolib = os.path.join(self.dir, "nolib")
        fake_libtorch(nolib, libs=("libtorch.so", "libtorch_cpu.so", "libc10.so"))
        with self.assertRaisesRegex(dep_check.CheckError, "libtorch_cuda.so not found"):
            dep_check.check_libtorch_dist(nolib, "1.13")
        old_abi = os.path.join(self.dir, "old_abi")
        fake_libtorch(old_abi, cmake_abi="0")
        with self.assertRaisesRegex(dep_check.CheckError, "pre-cxx11 ABI"):
            dep_check.check_libtorch_dist(old_abi, "1.13")
        good = os.path.join(self.dir, "good")
        fake_libtorch(good)
        with self.assertRaisesRegex(dep_check.CheckError, "found version 1.13.1.*expected 2.1"):
            dep_check.check_libtorch_dist(good, "2.1")


class NpmVersionTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def test_reads_the_installed_package_version(self):
        write(os.path.join(self.dir, "uplot/package.json"), '{"name": "uplot", "version": "1.6.32"}')
        self.assertEqual(dep_check.read_npm_version(self.dir, "uplot"), "1.6.32")
        self.assertEqual(dep_check.main(["npm", self.dir, "uplot", "--expect", "1.6.32"]), 0)
        self.assertEqual(dep_check.main(["npm", self.dir, "uplot", "--expect", "1.6.31"]), 1)

    def test_missing_or_corrupt_package_says_to_run_setup(self):
        with self.assertRaisesRegex(dep_check.CheckError, "not installed.*tools/setup.sh"):
            dep_check.read_npm_version(self.dir, "uplot")
        write(os.path.join(self.dir, "bad/package.json"), "{not json")
        with self.assertRaisesRegex(dep_check.CheckError, "not valid JSON"):
            dep_check.read_npm_version(self.dir, "bad")


if __name__ == "__main__":
    unittest.main()
