"""Repository rule for a CUDA-enabled LibTorch, used by `bazel build --config=cuda`.

Debian's LibTorch is CPU-only. For GPUs, unpack the official cxx11-ABI LibTorch zip built with CUDA
(same version as Debian's, 1.13.x) and point LIBTORCH_CUDA_HOME at its `libtorch/` folder:

    export LIBTORCH_CUDA_HOME=/opt/libtorch
    bazel run --config=cuda //experiments:resnet34_two_stage

The folder is checked by third_party/dep_check.py (version, CUDA libraries, cxx11 ABI). Without the
variable this repository still loads, but building its `torch` target fails with that advice, so the
default CPU build never needs it.

c10d's NCCL process group (training/distributed.cc) compiles against CUDA's and NCCL's headers,
which the LibTorch zip does not carry: the rule takes them from CUDA_HOME (default /usr/local/cuda)
and NCCL_HOME/include (default: /usr/include, Debian's libnccl-dev) and then defines
USE_C10D_NCCL; without them it builds without NCCL and data-parallel GPU training uses Gloo.
"""

_ENV = "LIBTORCH_CUDA_HOME"

_MISSING_BUILD = """
package(default_visibility = ["//visibility:public"])

genrule(
    name = "missing",
    outs = ["libtorch_cuda_missing.h"],
    cmd = "echo {message} >&2; exit 1",
)

cc_library(
    name = "torch",
    hdrs = [":missing"],
)
"""

_BUILD = """
package(default_visibility = ["//visibility:public"])

# LibTorch {version} with CUDA {cuda}, from {root}.
cc_library(
    name = "torch",
    hdrs = glob(["include/**/*.h", "include/**/*.cuh", "include/**/*.hpp"]) + {extra_hdrs},
    includes = ["include", "include/torch/csrc/api/include"] + {extra_includes},
    defines = ["_GLIBCXX_USE_CXX11_ABI=1", "MALARIA_TORCH_CUDA=1"] + {extra_defines},
    linkopts = [
        "-L{root}/lib",
        "-Wl,-rpath,{root}/lib",
        "-Wl,--no-as-needed",
        "-ltorch",
        "-ltorch_cuda",
        "-ltorch_cpu",
        "-lc10_cuda",
        "-lc10",
        "-Wl,--as-needed",
    ],
)
"""

def _libtorch_cuda_impl(rctx):
    root = rctx.os.environ.get(_ENV, "")
    if not root:
        message = ("'--config=cuda needs " + _ENV + " set to an unpacked CUDA LibTorch " +
                   rctx.attr.version + ".x (official cxx11-ABI zip); see docs/gpu.md'")
        rctx.file("BUILD.bazel", _MISSING_BUILD.format(message = message))
        return
    python = rctx.which("python3")
    result = rctx.execute([
        python,
        rctx.path(rctx.attr._dep_check),
        "libtorch-dist",
        root,
        "--expect",
        rctx.attr.version,
    ])
    if result.return_code != 0:
        fail("\n" + result.stderr.strip())
    version, cuda = result.stdout.strip().split(" ")
    rctx.symlink(root + "/include", "include")

    # CUDA's and NCCL's headers, for c10d's ProcessGroupNCCL.hpp.
    cuda_home = rctx.os.environ.get("CUDA_HOME", "/usr/local/cuda")
    nccl_include = rctx.os.environ.get("NCCL_HOME", "/usr") + "/include"
    extra_hdrs, extra_includes, extra_defines = [], [], []
    if rctx.path(cuda_home + "/include/cuda_runtime.h").exists and rctx.path(nccl_include + "/nccl.h").exists:
        rctx.symlink(cuda_home + "/include", "cuda/include")
        for header in ["nccl.h", "nccl_net.h"]:
            if rctx.path(nccl_include + "/" + header).exists:
                rctx.symlink(nccl_include + "/" + header, "nccl/include/" + header)
        extra_hdrs = ["glob([\"cuda/include/**\", \"nccl/include/*.h\"])"]
        extra_includes = ["cuda/include", "cuda/include/cccl", "nccl/include"]
        extra_defines = ["USE_C10D_NCCL"]
    else:
        print("LibTorch CUDA: no cuda_runtime.h under %s/include or nccl.h in %s: building without " % (cuda_home, nccl_include) +
              "c10d's NCCL group (set CUDA_HOME and NCCL_HOME; data-parallel GPU training uses Gloo)")
    rctx.file("BUILD.bazel", _BUILD.format(
        version = version,
        cuda = cuda,
        root = root,
        extra_hdrs = " + ".join(extra_hdrs) if extra_hdrs else "[]",
        extra_includes = repr(extra_includes),
        extra_defines = repr(extra_defines),
    ))

libtorch_cuda_repository = repository_rule(
    implementation = _libtorch_cuda_impl,
    environ = [_ENV, "CUDA_HOME", "NCCL_HOME"],
    local = True,
    attrs = {
        "version": attr.string(mandatory = True),
        "_dep_check": attr.label(default = "//third_party:dep_check.py"),
    },
)
