#!/usr/bin/python3
"""Checks an exported model in PyTorch (inference/export_pth_test.cc):

    /usr/bin/python3 check_export.py TOOLS_DIR DIR

DIR holds model.pth and model.json (ExportPth), input.bin (float32 [2, 3, S, S]) and logits_<i>.bin
(the platform's eval-mode logits of network i). Each network tools/malaria_torch.py rebuilds must
give the same logits, to 1e-4 of the largest; a torchvision architecture's body must load into
torchvision.models.<arch>() leaving only fc.weight and fc.bias, and compute the same features.
Exit status 0 when all agree.
"""

import json
import os
import sys

import numpy as np
import torch
import torchvision


def main(tools_dir, d):
    sys.path.insert(0, tools_dir)
    import malaria_torch

    nets, meta = malaria_torch.load(os.path.join(d, "model.pth"))
    size = meta["input"]["size"]
    x = torch.from_numpy(np.fromfile(os.path.join(d, "input.bin"), "<f4").reshape(2, 3, size, size))
    ok = True
    for i, net in enumerate(nets):
        want = torch.from_numpy(np.fromfile(os.path.join(d, "logits_%d.bin" % i), "<f4").reshape(2, -1))
        with torch.no_grad():
            got = net(x)
        scale = want.abs().max().item()
        err = (got - want).abs().max().item()
        print("network %d (%s): max |difference| %.3g of %.3g" % (i, meta["networks"][i]["architecture"], err, scale))
        ok = ok and err <= 1e-4 * max(scale, 1.0)
        arch = meta["networks"][i]["architecture"]
        if arch.startswith("resnet") and arch != "resnet":
            state = torch.load(os.path.join(d, "model.pth"), map_location="cpu")
            prefix = meta["networks"][i]["prefix"] + "body."
            body = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            tv = getattr(torchvision.models, arch)(weights=None)
            result = tv.load_state_dict(body, strict=False)
            print("torchvision.models.%s: missing %s, unexpected %s" % (arch, result.missing_keys, result.unexpected_keys))
            ok = ok and sorted(result.missing_keys) == ["fc.bias", "fc.weight"] and not result.unexpected_keys
            tv.eval()
            features = torch.nn.Sequential(*list(tv.children())[:-2])
            with torch.no_grad():
                diff = (features(x) - net.body(x)).abs().max().item()
            print("torchvision's features against the rebuilt body: max |difference| %.3g" % diff)
            ok = ok and diff <= 1e-5
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
