#!/usr/bin/python3
"""Reference numbers for tests/unit/test_train_optim.c, from torch.optim itself.

Run with Debian's Python (/usr/bin/python3 has python3-torch). Prints, one per line:

    optim K v0 v1 ... v6   the parameter after 5 steps of optimizer config K
    lr NAME l0 l1 ... l9   a scheduler's learning rate for epochs 0..9

The parameter starts at p[i] = sin(i + 1); the gradient of step s (1-based) is
g[i] = cos(0.7 i + 1.3 s) * (1 + 0.1 s), independent of p, so that only the
optimizer's update is tested. The configs are those of the C test's table, in order.
Prints "skip" when torch is missing.
"""
import math
import sys

try:
    import torch
except ImportError:
    print("skip")
    sys.exit(0)

N, STEPS = 7, 5
CONFIGS = [
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("sgd", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("sgd", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("adam", dict(lr=1e-2)),
    ("adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("adamw", dict(lr=1e-2, weight_decay=0.05)),
    ("adamw", dict(lr=3e-2)),  # torch's default weight_decay, 0.01
]

torch.set_num_threads(1)
for k, (name, kw) in enumerate(CONFIGS):
    p = torch.tensor([math.sin(i + 1) for i in range(N)], dtype=torch.float32,
                     requires_grad=True)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    opt = cls([p], foreach=False, **kw) if name != "sgd" else cls([p], **kw)
    for s in range(1, STEPS + 1):
        p.grad = torch.tensor([math.cos(0.7 * i + 1.3 * s) * (1 + 0.1 * s) for i in range(N)],
                              dtype=torch.float32)
        opt.step()
    print("optim %d %s" % (k, " ".join("%.9g" % v for v in p.detach().tolist())))


def lrs(make, epochs=10):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


S = torch.optim.lr_scheduler
for name, make in [
    ("step", lambda o: S.StepLR(o, step_size=3, gamma=0.5)),
    ("cosine", lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=1e-3)),
    ("warmup", lambda o: S.LinearLR(o, start_factor=1.0 / 3, total_iters=4)),
    ("step_warmup", lambda o: S.ChainedScheduler(
        [S.LinearLR(o, start_factor=0.25, total_iters=2), S.StepLR(o, step_size=3, gamma=0.5)])),
]:
    print("lr %s %s" % (name, " ".join("%.9g" % v for v in lrs(make))))
