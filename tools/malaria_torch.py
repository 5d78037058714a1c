#!/usr/bin/python3
"""Loads a model exported by `bazel run //tools:export -- --format pth` into PyTorch.

    import malaria_torch
    nets, meta = malaria_torch.load("model.pth")      # reads model.pth and model.json beside it
    x = ...                                           # [N, 3, size, size], normalised as meta["input"]
    logits = nets[0](x)                               # the network's logits, as the platform's

Each network is the platform's Classifier rebuilt from torchvision's own blocks: a ResNet body
whose parameters keep torchvision's names (so the body of a torchvision architecture loads into
torchvision.models.<arch>() as it is, with only its fc left over) and fastai's head, layer by layer
as model.json lists it. A one-channel network averages the three input channels, as the platform's
does. Several networks (an ensemble or a k-fold model) come back in a list; meta says how they are
combined (each softmax, at its temperature, averaged), the decision threshold and the diagnosis rule.
Needs only torch and torchvision (Debian: python3-torch, python3-torchvision).
"""

import json
import os

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck


class ConcatPool(nn.Module):
    """fastai's AdaptiveConcatPool2d: max and average pooling side by side."""

    def forward(self, x):
        return torch.cat([nn.functional.adaptive_max_pool2d(x, 1),
                          nn.functional.adaptive_avg_pool2d(x, 1)], 1)


class Body(nn.Module):
    """A ResNet without pooling and fc, its stages read from the state dict's keys."""

    def __init__(self, state, prefix, network):
        super().__init__()
        out_channels, in_channels, kernel, _ = state[prefix + "conv1.weight"].shape
        stride = network["stem"]["stride"]
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if network["stem"]["max_pool"] else nn.Identity()
        block = Bottleneck if network["block"] == "bottleneck" else BasicBlock
        inplanes = out_channels
        for stage in range(1, 5):
            name = "layer%d" % stage
            blocks = sorted({int(k[len(prefix + name) + 1:].split(".")[0])
                             for k in state if k.startswith(prefix + name + ".")})
            layers = []
            for b in blocks:
                key = "%s%s.%d." % (prefix, name, b)
                planes = state[key + "conv1.weight"].shape[0]
                s = (1 if stage == 1 else 2) if b == 0 else 1
                down = None
                if key + "downsample.0.weight" in state:
                    down = nn.Sequential(
                        nn.Conv2d(inplanes, planes * block.expansion, 1, s, bias=False),
                        nn.BatchNorm2d(planes * block.expansion))
                layers.append(block(inplanes, planes, s, down))
                inplanes = planes * block.expansion
            setattr(self, name, nn.Sequential(*layers))

    def forward(self, x):
        if self.conv1.in_channels == 1 and x.shape[1] == 3:
            x = x.mean(1, keepdim=True)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def head(state, prefix, kinds):
    layers = []
    for i, kind in enumerate(kinds):
        key = "%shead.%d." % (prefix, i)
        if kind == "concat_pool":
            layers.append(ConcatPool())
        elif kind == "avg_pool":
            layers.append(nn.AdaptiveAvgPool2d(1))
        elif kind == "flatten":
            layers.append(nn.Flatten())
        elif kind == "batch_norm":
            layers.append(nn.BatchNorm1d(state[key + "weight"].shape[0]))
        elif kind.startswith("dropout:"):
            layers.append(nn.Dropout(float(kind.split(":")[1])))
        elif kind == "linear":
            out_features, in_features = state[key + "weight"].shape
            layers.append(nn.Linear(in_features, out_features))
        elif kind == "relu":
            layers.append(nn.ReLU(inplace=True))
        else:
            raise ValueError("unknown head layer %r" % kind)
    return nn.Sequential(*layers)


class Classifier(nn.Module):
    def __init__(self, state, network):
        super().__init__()
        prefix = network["prefix"]
        self.body = Body(state, prefix + "body.", network)
        self.head = head(state, prefix, network["head"])

    def forward(self, x):
        return self.head(self.body(x))


def load(pth_path):
    """Returns ([networks in eval mode], meta) of an exported model."""
    with open(os.path.splitext(pth_path)[0] + ".json") as f:
        meta = json.load(f)
    state = torch.load(pth_path, map_location="cpu")
    nets = []
    for network in meta["networks"]:
        net = Classifier(state, network)
        prefix = network["prefix"]
        own = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        net.load_state_dict(own, strict=True)
        nets.append(net.eval())
    return nets, meta
