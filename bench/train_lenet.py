#!/usr/bin/python3
"""Training benchmark (issue 18): slimc train against PyTorch on the digits LeNet.

    /usr/bin/python3 bench/train_lenet.py [--slimc build/slimc] [--seeds 5] [--epochs 15]
                                          [--step-only] [--work DIR]

Not part of the tests (it takes minutes). Run with Debian's Python: it has torch 1.13,
scikit-learn and numpy (scripts/install-deps.sh --train).

1. Accuracy: LeNet (samples/lenet/lenet.slim without its weights line, so slimc starts
   from PyTorch's default initialisation seeded by --seed) trained from scratch on the
   1,347-image digits training split (scripts/digits_data.py, the split and normalisation
   of samples/make_samples.py) with PyTorch's recipe: Adam, lr 1e-3, batch 64, 15 epochs,
   reshuffled each epoch, the last partial batch kept; cross entropy on the model's
   log_softmax output (the same gradients as nll_loss). Seeds 0..4 on both sides; the
   median test accuracy (450 images) of each. The issue asks slimc's median to be within
   0.5 point of PyTorch's.
2. Speed: one training step (forward, loss, backward, Adam update) at batch 64, one
   thread: PyTorch's median over 60 timed steps after 10 warm-up steps; slimc's from
   `slimc train`'s per-epoch "ms/step" (the mean step time of an epoch: batch gathering,
   step and update), the median of epochs 2..4 of a --threads 1 run (the first is left
   out as warm-up). The issue asks for at least 2x faster than PyTorch.

Prints a Markdown table.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class LeNet(nn.Module):  # samples/make_samples.py's, as samples/lenet/lenet.slim writes it
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(4 * 4 * 50, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 4 * 4 * 50)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def torch_accuracy(seed, epochs, d):
    torch.manual_seed(seed)
    model = LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(d["train_x"]), torch.from_numpy(d["train_y"])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64,
                                         shuffle=True)
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            F.nll_loss(model(xb), yb).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(d["test_x"])).argmax(1).numpy()
    return 100.0 * float((pred == d["test_y"]).mean())


def torch_step_ms(d):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(d["train_x"][:64]), torch.from_numpy(d["train_y"][:64])
    times = []
    for i in range(70):
        t0 = time.perf_counter()
        opt.zero_grad()
        F.nll_loss(model(x), y).backward()
        opt.step()
        if i >= 10:
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


EPOCH = re.compile(r"^epoch (\d+)/\d+: loss [0-9.eE+-]+(?:, val accuracy ([0-9.]+)%)?.*\(([0-9.]+) ms/step\)")


def slimc_train(slimc, model, work, seed, epochs, threads, val=True):
    cmd = [slimc, "train", model, "--data", os.path.join(work, "train_x.npy"),
           "--labels", os.path.join(work, "train_y.npy"), "--epochs", str(epochs),
           "--batch", "64", "--optimizer", "adam", "--lr", "1e-3", "--seed", str(seed),
           "--threads", str(threads), "-o", os.path.join(work, "out_%d.safetensors" % seed)]
    if val:
        cmd += ["--val", os.path.join(work, "test_x.npy"),
                "--val-labels", os.path.join(work, "test_y.npy")]
    env = dict(os.environ, SLIMC_CACHE_DIR=os.path.join(work, "cache"))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit("slimc train failed:\n%s%s" % (r.stdout, r.stderr))
    acc, steps = None, []
    for line in r.stdout.splitlines():
        m = EPOCH.match(line)
        if m:
            if m.group(2):
                acc = float(m.group(2))
            steps.append(float(m.group(3)))
    return acc, steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build", "slimc"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--step-only", action="store_true", help="only the step timings")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench_train"))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "digits_data.py"), a.work],
                   check=True)
    d = {k: np.load(os.path.join(a.work, k + ".npy"))
         for k in ("train_x", "train_y", "test_x", "test_y")}
    model = os.path.join(a.work, "lenet_init.slim")
    with open(os.path.join(ROOT, "samples", "lenet", "lenet.slim")) as f:
        text = "".join(line for line in f if not line.strip().startswith("weights "))
    with open(model, "w") as f:
        f.write(text)

    rows = []
    if not a.step_only:
        t_acc = [torch_accuracy(s, a.epochs, d) for s in range(a.seeds)]
        s_acc = [slimc_train(a.slimc, model, a.work, s, a.epochs, 1)[0] for s in range(a.seeds)]
        rows.append(("test accuracy, median of %d seeds (%%)" % a.seeds,
                     "%.2f" % statistics.median(s_acc), "%.2f" % statistics.median(t_acc),
                     "%+.2f points" % (statistics.median(s_acc) - statistics.median(t_acc))))
        rows.append(("  per seed", " ".join("%.2f" % v for v in s_acc),
                     " ".join("%.2f" % v for v in t_acc), ""))
    t_ms = torch_step_ms(d)
    _, steps = slimc_train(a.slimc, model, a.work, 0, 4, 1, val=False)
    s_ms = statistics.median(steps[1:]) if len(steps) > 1 else steps[0]
    rows.append(("one step, batch 64, 1 thread (ms)", "%.2f" % s_ms, "%.2f" % t_ms,
                 "%.2fx" % (t_ms / s_ms)))
    print("| LeNet, digits, Adam 1e-3, batch 64 | slimc | PyTorch %s | slimc vs PyTorch |"
          % torch.__version__)
    print("|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s |" % r)


if __name__ == "__main__":
    main()
