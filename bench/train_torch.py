#!/usr/bin/python3
"""PyTorch peer of `stochopt train` for the throughput benchmark.

Trains the same model (784-256-128-10 MLP with ReLU, He-initialized hidden layers) with
Adam (lr 1e-3) and batch 128 on Fashion-MNIST at a fixed thread count, keeping the
images as uint8 until a batch is gathered, exactly as stochopt does. Prints one line per
epoch and a final line "samples_per_second=X" measured over the training steps only.
Needs Debian's python3-torch (PyTorch 1.13) and python3-numpy.
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find(directory, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    raise SystemExit(f"{directory}: {stem}[.gz] not found")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train = torch.from_numpy(read_idx(find(args.data, "train-images-idx3-ubyte")).copy())
    y_train = torch.from_numpy(read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64))
    x_test = torch.from_numpy(read_idx(find(args.data, "t10k-images-idx3-ubyte")).copy())
    y_test = torch.from_numpy(read_idx(find(args.data, "t10k-labels-idx1-ubyte")).astype(np.int64))
    x_train = x_train.reshape(len(x_train), -1)
    x_test = x_test.reshape(len(x_test), -1)

    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    for layer in (model[0], model[2]):
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    torch.nn.init.xavier_uniform_(model[4].weight)
    torch.nn.init.zeros_(model[4].bias)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()

    train_seconds = 0.0
    samples = 0
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(len(x_train))
        start = time.perf_counter()
        total = 0.0
        for i in range(0, len(perm), args.batch):
            idx = perm[i:i + args.batch]
            xb = x_train[idx].float().mul_(1.0 / 255.0)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item()
            samples += len(idx)
        elapsed = time.perf_counter() - start
        train_seconds += elapsed
        with torch.no_grad():
            logits = model(x_test.float().mul_(1.0 / 255.0))
            acc = (logits.argmax(1) == y_test).float().mean().item()
        steps = (len(perm) + args.batch - 1) // args.batch
        print(f"epoch {epoch} train_loss {total / steps:.4f} test_accuracy {acc:.4f} "
              f"{len(perm) / elapsed:.0f} samples/s", flush=True)
    print(f"samples_per_second={samples / train_seconds:.1f}")


if __name__ == "__main__":
    main()
