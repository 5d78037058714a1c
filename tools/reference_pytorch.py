#!/usr/bin/python3
"""The PyTorch reference for //tools:benchmark_vs_pytorch: plain, idiomatic PyTorch and torchvision,
written as a user would write the study's recipe, doing the same work as the C++ platform.

Run with Debian's python3 (python3-torch, python3-torchvision). Each mode prints one JSON line.

    reference_pytorch.py train-step --arch resnet34 --size 64 --batch 32 --frozen 1 --threads 2
    reference_pytorch.py inference --arch resnet34 --size 128 --batch 64 --threads 2
    reference_pytorch.py epoch --data DIR --size 64 --batch 64 --threads 2 --epochs 2
    reference_pytorch.py train-step $(perf_probe reference-flags --config experiments/nih50_speedrun.pbtxt)

The model is torchvision's ResNet body with fastai's head (concat pooling, BatchNorm, dropout,
Linear 512); --frozen 1 freezes the body except its BatchNorm layers (fastai's train_bn), --frozen 2
freezes all of it. Training uses AdamW with OneCycleLR; data comes from ImageFolder + DataLoader
with torchvision transforms (resize, random crop, flip, rotation, perspective warp, brightness and
contrast), as many worker processes as threads.

Best practice, as a performance-minded user runs it (//tools:benchmark_vs_pytorch does): TCMalloc
preloaded (LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4, Debian's
libtcmalloc-minimal4, the allocator the platform links; without it glibc's malloc makes the step's
speed vary two-fold from run to run), channels-last tensors (--channels_last 1, the default), and
optionally bfloat16 autocast on the forward pass (--bf16 1: torch.autocast("cpu",
dtype=torch.bfloat16), float32 master weights, the loss in float32). Each JSON line says which
allocator the process ran with ("allocator").
"""

import argparse
import contextlib
import json
import os
import resource
import time

import torch
import torch.nn as nn
import torchvision
from torchvision import transforms


class ConcatPool(nn.Module):
    def forward(self, x):
        return torch.cat([nn.functional.adaptive_max_pool2d(x, 1), nn.functional.adaptive_avg_pool2d(x, 1)], 1)


def shaped_body(args):
    """A BasicBlock ResNet of the given stages (the platform's architecture "resnet"), from
    torchvision's own BasicBlock."""
    from torchvision.models.resnet import BasicBlock
    widths = [int(w) for w in args.widths.split(",")]
    blocks = [int(b) for b in args.blocks.split(",")]
    kernel, stride, max_pool = (int(v) for v in args.stem.split(","))
    layers = [nn.Conv2d(args.in_channels, widths[0], kernel, stride, kernel // 2, bias=False),
              nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
    if max_pool:
        layers.append(nn.MaxPool2d(3, 2, 1))
    inplanes = widths[0]
    for i, (width, count) in enumerate(zip(widths, blocks)):
        for j in range(count):
            s = (1 if i == 0 else 2) if j == 0 else 1
            down = None
            if s != 1 or inplanes != width:
                down = nn.Sequential(nn.Conv2d(inplanes, width, 1, s, bias=False), nn.BatchNorm2d(width))
            layers.append(BasicBlock(inplanes, width, s, down))
            inplanes = width
    return nn.Sequential(*layers), inplanes


def make_model(args, frozen):
    if args.arch == "resnet":
        body, features = shaped_body(args)
    else:
        resnet = getattr(torchvision.models, args.arch)(weights=None)
        kernel, stride, max_pool = (int(v) for v in args.stem.split(","))
        if (kernel, stride, max_pool) != (7, 2, 1) or args.in_channels != 3:
            resnet.conv1 = nn.Conv2d(args.in_channels, 64, kernel, stride, kernel // 2, bias=False)
            if not max_pool:
                resnet.maxpool = nn.Identity()
        body = nn.Sequential(*list(resnet.children())[:-2])
        features = resnet.fc.in_features
    pool = [ConcatPool(), nn.Flatten()] if args.concat_pool else [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    pooled = 2 * features if args.concat_pool else features
    if args.head == "linear":
        head = nn.Sequential(*pool, nn.Linear(pooled, 2))
    else:
        head = nn.Sequential(
            *pool,
            nn.BatchNorm1d(pooled), nn.Dropout(0.25), nn.Linear(pooled, 512), nn.ReLU(inplace=True),
            nn.BatchNorm1d(512), nn.Dropout(0.5), nn.Linear(512, 2))
    model = nn.Sequential(body, head)
    if frozen:
        for module in body.modules():
            if frozen == 2 or not isinstance(module, nn.BatchNorm2d):
                for p in module.parameters(recurse=False):
                    p.requires_grad_(False)
    return model


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def allocator():
    return "tcmalloc" if "tcmalloc" in os.environ.get("LD_PRELOAD", "") else "glibc"


def to_memory_format(args, t):
    """A tensor or a module in channels-last memory format when asked."""
    if not args.channels_last:
        return t
    if isinstance(t, nn.Module):
        return t.to(memory_format=torch.channels_last)
    return t.contiguous(memory_format=torch.channels_last)


def forward_context(args):
    """bfloat16 autocast of the forward pass when asked (float32 weights and loss stay)."""
    if args.bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def result(args, values):
    values.update({"peak_rss_mb": peak_rss_mb(), "allocator": allocator(),
                   "channels_last": args.channels_last, "bf16": args.bf16})
    return values


def train_step(args):
    model = to_memory_format(args, make_model(args, args.frozen)).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=3e-3, betas=(0.9, 0.99), weight_decay=1e-2)
    total = args.warmup + args.steps
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=total)
    loss_fn = nn.CrossEntropyLoss()
    x = to_memory_format(args, torch.randn(args.batch, args.in_channels, args.size, args.size))
    y = torch.randint(0, 2, (args.batch,))
    for i in range(total):
        if i == args.warmup:
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with forward_context(args):
            logits = model(x)
        loss = loss_fn(logits.float(), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
    seconds = time.perf_counter() - start
    return result(args, {"images_per_second": args.steps * args.batch / seconds})


def inference(args):
    model = to_memory_format(args, make_model(args, False)).eval()
    x = to_memory_format(args, torch.randn(args.batch, args.in_channels, args.size, args.size))
    trace = torch.autograd.profiler.profile(enabled=bool(args.trace))
    with torch.no_grad(), forward_context(args), trace:
        for _ in range(args.warmup):
            model(x)
        start = time.perf_counter()
        for _ in range(args.steps):
            model(x)
        seconds = time.perf_counter() - start
    if args.trace:
        trace.export_chrome_trace(args.trace)
    return result(args, {"images_per_second": args.steps * args.batch / seconds,
                         "latency_ms": 1000.0 * seconds / args.steps})


def epoch(args):
    normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    if args.in_channels == 1:
        normalize = transforms.Compose([transforms.Grayscale(1), transforms.Normalize([0.449], [0.226])])
    train_tfms = transforms.Compose([
        transforms.Resize(args.size),
        transforms.RandomCrop(args.size),
        transforms.RandomHorizontalFlip(),
        transforms.RandomApply([transforms.RandomRotation(10)], p=0.75),
        transforms.RandomPerspective(distortion_scale=0.2, p=0.75),
        transforms.ColorJitter(brightness=0.2, contrast=0.2),
        transforms.ToTensor(),
        normalize,
    ])
    dataset = torchvision.datasets.ImageFolder(args.data, transform=train_tfms)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, shuffle=True, drop_last=True,
                                         num_workers=args.workers, persistent_workers=args.workers > 0)
    model = to_memory_format(args, make_model(args, args.frozen)).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=3e-3, betas=(0.9, 0.99), weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=args.epochs * len(loader))
    loss_fn = nn.CrossEntropyLoss()
    seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            with forward_context(args):
                logits = model(to_memory_format(args, x))
            loss = loss_fn(logits.float(), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
        seconds.append(time.perf_counter() - start)
    return result(args, {"epoch_seconds": seconds, "images": len(loader) * args.batch})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["train-step", "inference", "epoch"])
    parser.add_argument("--arch", default="resnet34")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frozen", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=-1)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data", default="")
    # The network (perf_probe reference-flags --config FILE prints these for any recipe).
    parser.add_argument("--widths", default="64,128,256,512")
    parser.add_argument("--blocks", default="2,2,2,2")
    parser.add_argument("--stem", default="7,2,1", help="kernel,stride,max_pool")
    parser.add_argument("--in_channels", type=int, default=3)
    parser.add_argument("--head", choices=["fastai", "linear"], default="fastai")
    parser.add_argument("--concat_pool", type=int, default=1)
    # Best practice (see the module's docstring); --channels_last 0 for the plain NCHW program.
    parser.add_argument("--channels_last", type=int, choices=[0, 1], default=1)
    parser.add_argument("--bf16", type=int, choices=[0, 1], default=0)
    parser.add_argument("--trace", default="",
                        help="inference: write every operator's time as a Chrome trace here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.workers < 0:
        args.workers = args.threads
    torch.manual_seed(0)
    result = {"train-step": train_step, "inference": inference, "epoch": epoch}[args.mode](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
