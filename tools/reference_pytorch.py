#!/usr/bin/python3
"""The PyTorch reference for //tools:benchmark_vs_pytorch: plain, idiomatic PyTorch and torchvision,
written as a user would write the study's recipe, doing the same work as the C++ platform.

Run with Debian's python3 (python3-torch, python3-torchvision). Each mode prints one JSON line.

    reference_pytorch.py train-step --arch resnet34 --size 64 --batch 32 --frozen 1 --threads 2
    reference_pytorch.py inference --arch resnet34 --size 128 --batch 64 --threads 2
    reference_pytorch.py epoch --data DIR --size 64 --batch 64 --threads 2 --epochs 2

The model is torchvision's ResNet body with fastai's head (concat pooling, BatchNorm, dropout,
Linear 512); --frozen 1 freezes the body except its BatchNorm layers (fastai's train_bn), --frozen 2
freezes all of it. Training uses AdamW with OneCycleLR; data comes from ImageFolder + DataLoader
with torchvision transforms (resize, random crop, flip, rotation, perspective warp, brightness and
contrast), as many worker processes as threads.
"""

import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torchvision
from torchvision import transforms


class ConcatPool(nn.Module):
    def forward(self, x):
        return torch.cat([nn.functional.adaptive_max_pool2d(x, 1), nn.functional.adaptive_avg_pool2d(x, 1)], 1)


def make_model(arch, frozen):
    resnet = getattr(torchvision.models, arch)(weights=None)
    body = nn.Sequential(*list(resnet.children())[:-2])
    features = resnet.fc.in_features
    head = nn.Sequential(
        ConcatPool(), nn.Flatten(),
        nn.BatchNorm1d(2 * features), nn.Dropout(0.25), nn.Linear(2 * features, 512), nn.ReLU(inplace=True),
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


def train_step(args):
    model = make_model(args.arch, args.frozen).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=3e-3, betas=(0.9, 0.99), weight_decay=1e-2)
    total = args.warmup + args.steps
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=total)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 2, (args.batch,))
    for i in range(total):
        if i == args.warmup:
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
    seconds = time.perf_counter() - start
    return {"images_per_second": args.steps * args.batch / seconds, "peak_rss_mb": peak_rss_mb()}


def inference(args):
    model = make_model(args.arch, False).eval()
    x = torch.randn(args.batch, 3, args.size, args.size)
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x)
        start = time.perf_counter()
        for _ in range(args.steps):
            model(x)
        seconds = time.perf_counter() - start
    return {"images_per_second": args.steps * args.batch / seconds,
            "latency_ms": 1000.0 * seconds / args.steps, "peak_rss_mb": peak_rss_mb()}


def epoch(args):
    normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
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
    model = make_model(args.arch, args.frozen).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=3e-3, betas=(0.9, 0.99), weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=args.epochs * len(loader))
    loss_fn = nn.CrossEntropyLoss()
    seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
        seconds.append(time.perf_counter() - start)
    return {"epoch_seconds": seconds, "images": len(loader) * args.batch, "peak_rss_mb": peak_rss_mb()}


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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.workers < 0:
        args.workers = args.threads
    torch.manual_seed(0)
    result = {"train-step": train_step, "inference": inference, "epoch": epoch}[args.mode](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
