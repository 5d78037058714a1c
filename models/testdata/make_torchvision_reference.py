#!/usr/bin/python3
"""Writes torchvision reference outputs for the model zoo's parity test (models/parity_test.cc).

Run with Debian's python3 (python3-torch, python3-torchvision):
    /usr/bin/python3 make_torchvision_reference.py OUT_DIR [ARCH...]

For each architecture (default resnet18 resnet34 resnet50) it builds the randomly initialised
torchvision model, gives every BatchNorm layer random statistics and affine parameters (so eval mode
is not an identity), and writes OUT_DIR/<arch>.pth (torch.save of the state_dict, as torchvision
publishes weights) and OUT_DIR/<arch>_logits.bin (eval-mode logits of the fixed input, float32
little-endian). The input is OUT_DIR/input.bin: float32 [2, 3, 64, 64].
"""

import os
import sys

import torch
import torchvision


def main(out, archs):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1234)
    x = torch.randn(2, 3, 64, 64)
    x.numpy().astype("<f4").tofile(os.path.join(out, "input.bin"))
    for arch in archs:
        model = getattr(torchvision.models, arch)(weights=None)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.2, 0.2)
                m.num_batches_tracked.fill_(7)
        model.eval()
        torch.save(model.state_dict(), os.path.join(out, arch + ".pth"))
        with torch.no_grad():
            logits = model(x)
        logits.numpy().astype("<f4").tofile(os.path.join(out, arch + "_logits.bin"))
    print("torch", torch.__version__, "torchvision", torchvision.__version__)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or ["resnet18", "resnet34", "resnet50"])
