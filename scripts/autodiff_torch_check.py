#!/usr/bin/env python3
"""Compares slimc's training step (`slimc grad`: forward, loss, backward compiled to C) with
PyTorch's autograd on the same weights and batch: the loss and every parameter's gradient
must agree to 1e-4 relative (norm-wise) and elementwise (allclose with rtol 1e-3 and an
atol of 1e-4 of the gradient's largest magnitude). PyTorch computes in float64 (the
reference); slimc in float32.

usage: autodiff_torch_check.py SLIMC WORKDIR CASE...
CASE: lenet-ce, lenet-nll, lenet-mse, lenet-distill (samples/lenet), mlp-ce (samples/mlp),
ops-ce (a model written here that uses the other ops with gradient rules), emb-ce (embedding),
textcls-ce (samples/textcls: embedding, layer_norm, softmax), resnet-ce (samples/resnet_tiny:
batch norm in training mode, residual adds, strided convs).
Exit 0 when everything agrees, 1 on a mismatch (printed), 77 when torch is missing."""
import json
import os
import struct
import subprocess
import sys

import numpy as np

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed", file=sys.stderr)
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    head, blobs, at = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype="<f4").tobytes()
        head[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(head).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def lenet(p, x):
    h = F.relu(F.max_pool2d(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]), 2))
    h = F.relu(F.max_pool2d(F.conv2d(h, p["conv2.weight"], p["conv2.bias"]), 2))
    h = F.relu(F.linear(h.flatten(1), p["fc1.weight"], p["fc1.bias"]))
    return F.log_softmax(F.linear(h, p["fc2.weight"], p["fc2.bias"]), dim=1)


def textcls(p, x):
    h = F.layer_norm(F.embedding(x, p["emb.weight"]), (32,), p["norm.weight"], p["norm.bias"])
    h = F.linear(h.flatten(1), p["fc1.weight"], p["fc1.bias"])
    h = torch.tanh(h) * torch.sigmoid(h) - h / 2.0
    return torch.softmax(F.linear(h, p["fc2.weight"], p["fc2.bias"]), -1)


BN_STATS = {}  # the batch statistics each training-mode batch norm saw, by running name


def bn_train(p, name, h):
    dims = [0] + list(range(2, h.dim()))
    BN_STATS[name + ".running_mean"] = h.detach().mean(dims)
    BN_STATS[name + ".running_var"] = h.detach().var(dims, unbiased=False)
    return F.batch_norm(h, p[name + ".running_mean"].detach().clone(),
                        p[name + ".running_var"].detach().clone(), p[name + ".weight"],
                        p[name + ".bias"], training=True)


def resnet_tiny(p, x):
    h = F.relu(bn_train(p, "bn1", F.conv2d(x, p["conv1.weight"], padding=1)))
    inplanes = 8
    for layer, planes in ((1, 8), (2, 16), (3, 32), (4, 64)):
        for blk in range(2):
            pre = f"layer{layer}.{blk}."
            stride = 2 if layer > 1 and blk == 0 else 1
            o = F.relu(bn_train(p, pre + "bn1", F.conv2d(h, p[pre + "conv1.weight"],
                                                         stride=stride, padding=1)))
            o = bn_train(p, pre + "bn2", F.conv2d(o, p[pre + "conv2.weight"], padding=1))
            idt = h
            if stride != 1 or inplanes != planes:
                idt = bn_train(p, pre + "downsample.1",
                               F.conv2d(h, p[pre + "downsample.0.weight"], stride=stride))
            h = F.relu(o + idt)
            inplanes = planes
    return F.linear(F.avg_pool2d(h, 4).flatten(1), p["fc.weight"], p["fc.bias"])


def mlp(p, x):
    h = F.relu(F.linear(x, p["fc1.weight"], p["fc1.bias"]))
    h = F.relu(F.linear(h, p["fc2.weight"], p["fc2.bias"]))
    return F.linear(h, p["fc3.weight"], p["fc3.bias"])


# The other ops with gradient rules, in one model: grouped, strided, dilated, padded
# convolution, batch norm (training mode), group norm, pools, activations, transpose, concat,
# slice (with steps), constant pad, softmax, matmul, broadcasting arithmetic, reductions, maximum, clip, where.
OPS_SLIM = """model ops(x: f32[N, 3, 12, 12]) -> f32[N, 6]
    weights "ops.safetensors"

    conv1 = Conv2d(3, 8, 3, padding=1)
    conv2 = Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=4)
    fc1   = Linear(32, 16)
    fc2   = Linear(32, 6, bias=false)
    gn    = GroupNorm(4, 8)
    bn    = BatchNorm2d(8)

    h = silu(bn(conv1(x)))
    h = avg_pool2d(h, 2)
    h = gn(hardswish(conv2(h)))
    h = max_pool2d(h, 3, stride=1, padding=1) + gelu(h) * 0.5
    a = flatten(adaptive_avg_pool2d(pad(h, [1, 0, 0, 1], value=0.25), 2))
    u = fc1(a)
    c = cat([relu6(tanh(u) * 7.0), leaky_relu(sigmoid(u) - 0.5, 0.2)], dim=1)
    r = reshape(c, -1, 4, 8)
    m = softmax(matmul(transpose(r, 1, 2), r), axis=-1)
    s = slice(flatten(m), 1, 8, 40) + slice(flatten(m), 1, 1, 64, 2) * slice(flatten(m), 1, 0, 63, 2)
    t = s - mean(s, dim=1, keepdim=true) + sum(a, dim=1, keepdim=true) / exp(slice(u, 1, 0, 1))
    t = maximum(t, clip(t * 0.5, min=-0.1, max=0.2)) + where(gt(t, 0.0), t, t * 0.1)
    return fc2(t)
"""


def ops(p, x):
    h = F.conv2d(x, p["conv1.weight"], p["conv1.bias"], padding=1)
    h = F.silu(bn_train(p, "bn", h))
    h = F.avg_pool2d(h, 2)
    h = F.hardswish(F.conv2d(h, p["conv2.weight"], p["conv2.bias"], stride=2, padding=2,
                             dilation=2, groups=4))
    h = F.group_norm(h, 4, p["gn.weight"], p["gn.bias"])
    h = F.max_pool2d(h, 3, stride=1, padding=1) + F.gelu(h) * 0.5
    a = F.adaptive_avg_pool2d(F.pad(h, [1, 0, 0, 1], value=0.25), 2).flatten(1)
    u = F.linear(a, p["fc1.weight"], p["fc1.bias"])
    c = torch.cat([F.relu6(torch.tanh(u) * 7.0), F.leaky_relu(torch.sigmoid(u) - 0.5, 0.2)], 1)
    r = c.reshape(-1, 4, 8)
    m = torch.softmax(torch.matmul(r.transpose(1, 2), r), -1)
    s = m.flatten(1)[:, 8:40] + m.flatten(1)[:, 1:64:2] * m.flatten(1)[:, 0:63:2]
    t = s - s.mean(1, keepdim=True) + a.sum(1, keepdim=True) / torch.exp(u[:, 0:1])
    t = torch.maximum(t, torch.clamp(t * 0.5, -0.1, 0.2)) + torch.where(t > 0, t, t * 0.1)
    return F.linear(t, p["fc2.weight"])


EMB_SLIM = """model emb(tokens: i64[N, 5]) -> f32[N, 3]
    weights "emb.safetensors"

    emb = Embedding(7, 4)
    fc  = Linear(20, 3)

    return fc(flatten(tanh(emb(tokens))))
"""


def emb(p, x):
    return F.linear(torch.tanh(F.embedding(x, p["emb.weight"])).flatten(1), p["fc.weight"],
                    p["fc.bias"])


def loss_of(kind, out, y, t, temperature, alpha):
    if kind == "ce":
        return F.cross_entropy(out, y, ignore_index=-100)
    if kind == "nll":
        return F.nll_loss(out, y, ignore_index=-100)
    if kind == "mse":
        return F.mse_loss(out, t)
    T = temperature
    kl = F.kl_div(F.log_softmax(out / T, 1), F.softmax(t / T, 1), reduction="batchmean")
    hard = F.cross_entropy(out, y, ignore_index=-100) if (y != -100).any() else out.sum() * 0
    return alpha * T * T * kl + (1 - alpha) * hard


def check(slimc, case, work):
    os.makedirs(work, exist_ok=True)
    BN_STATS.clear()
    model_kind, loss_kind = case.split("-")
    rng = np.random.default_rng(18)
    n = 16
    if model_kind == "lenet":
        model, fwd = os.path.join(ROOT, "samples/lenet/lenet.slim"), lenet
        params = read_safetensors(os.path.join(ROOT, "samples/lenet/lenet.safetensors"))
        x = np.load(os.path.join(ROOT, "samples/lenet/test_x.npy"))[:n].astype(np.float32)
        x += rng.normal(0, 0.3, x.shape).astype(np.float32)  # a batch the model is unsure of
        classes = 10
    elif model_kind == "mlp":
        model, fwd = os.path.join(ROOT, "samples/mlp/mlp.slim"), mlp
        params = read_safetensors(os.path.join(ROOT, "samples/mlp/mlp.safetensors"))
        x = rng.normal(0, 1, (n, 784)).astype(np.float32)
        classes = 10
    elif model_kind == "resnet":
        model, fwd = os.path.join(ROOT, "samples/resnet_tiny/resnet_tiny.slim"), resnet_tiny
        params = read_safetensors(os.path.join(ROOT, "samples/resnet_tiny/resnet_tiny.safetensors"))
        x = rng.normal(0, 1, (n, 3, 32, 32)).astype(np.float32)
        classes = 10
    elif model_kind == "textcls":
        model, fwd = os.path.join(ROOT, "samples/textcls/textcls.slim"), textcls
        params = read_safetensors(os.path.join(ROOT, "samples/textcls/textcls.safetensors"))
        x = rng.integers(0, 100, (n, 16)).astype(np.int64)
        classes = 4
    elif model_kind == "ops":
        model, fwd, classes = os.path.join(work, "ops.slim"), ops, 6
        with open(model, "w") as f:
            f.write(OPS_SLIM)
        shapes = {"conv1.weight": (8, 3, 3, 3), "conv1.bias": (8,), "conv2.weight": (8, 2, 3, 3),
                  "conv2.bias": (8,), "fc1.weight": (16, 32), "fc1.bias": (16,),
                  "fc2.weight": (6, 32), "gn.weight": (8,), "gn.bias": (8,),
                  "bn.weight": (8,), "bn.bias": (8,), "bn.running_mean": (8,),
                  "bn.running_var": (8,)}
        params = {k: rng.normal(0, 0.5, s).astype(np.float32) for k, s in shapes.items()}
        params["bn.running_var"] = np.abs(params["bn.running_var"]) + 0.5
        write_safetensors(os.path.join(work, "ops.safetensors"), params)
        x = rng.normal(0, 1, (n, 3, 12, 12)).astype(np.float32)
    elif model_kind == "emb":
        model, fwd, classes = os.path.join(work, "emb.slim"), emb, 3
        with open(model, "w") as f:
            f.write(EMB_SLIM)
        params = {"emb.weight": rng.normal(0, 1, (7, 4)).astype(np.float32),
                  "fc.weight": rng.normal(0, 0.5, (3, 20)).astype(np.float32),
                  "fc.bias": rng.normal(0, 0.5, (3,)).astype(np.float32)}
        write_safetensors(os.path.join(work, "emb.safetensors"), params)
        x = rng.integers(0, 7, (n, 5)).astype(np.int64)  # repeated indices: rows add up
    else:
        sys.exit(f"unknown case {case}")
    y = rng.integers(0, classes, n).astype(np.int64)
    y[::5] = -100  # unlabeled samples
    t = rng.normal(0, 2, (n, classes)).astype(np.float32)
    temperature, alpha = 4.0, 0.7
    np.save(os.path.join(work, "x.npy"), x)
    np.save(os.path.join(work, "y.npy"), y)
    np.save(os.path.join(work, "t.npy"), t)
    cmd = [slimc, "grad", model, "--input", os.path.join(work, "x.npy"), "--loss", loss_kind,
           "-o", os.path.join(work, "out")]
    if loss_kind != "mse":
        cmd += ["--labels", os.path.join(work, "y.npy")]
    if loss_kind in ("mse", "distill"):
        cmd += ["--target", os.path.join(work, "t.npy")]
    if loss_kind == "distill":
        cmd += ["--temperature", str(temperature), "--alpha", str(alpha)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{case}: slimc grad failed:\n{r.stdout}{r.stderr}")
        return 1

    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    xt = torch.tensor(x) if x.dtype == np.int64 else torch.tensor(x, dtype=torch.float64)
    loss = loss_of(loss_kind, fwd(tp, xt), torch.tensor(y), torch.tensor(t, dtype=torch.float64),
                   temperature, alpha)
    loss.backward()
    bad = 0
    want_loss = loss.item()
    got_loss = float(np.load(os.path.join(work, "out", "loss.npy")))
    if abs(got_loss - want_loss) > 1e-4 * max(abs(want_loss), 1e-3):
        print(f"{case}: loss {got_loss!r}, torch {want_loss!r}")
        bad += 1
    grads = {k: v.grad.numpy() for k, v in tp.items()
             if not (k.endswith("running_mean") or k.endswith("running_var"))}  # buffers
    # A gradient that is 0 in exact arithmetic (a bias before a batch norm) is float32 noise
    # in slimc: it is compared against the largest gradient's scale instead of its own.
    floor = 1e-3 * max(np.linalg.norm(g) for g in grads.values())
    for k, want in grads.items():
        got = np.load(os.path.join(work, "out", k + ".grad.npy")).astype(np.float64)
        scale = max(np.linalg.norm(want), floor, 1e-12)
        rel = np.linalg.norm(got - want) / scale
        atol = max(1e-4 * np.abs(want).max(), 1e-4 * floor / np.sqrt(want.size), 1e-12)
        close = np.allclose(got, want, rtol=1e-3, atol=atol)
        if got.shape != want.shape or rel > 1e-4 or not close:
            worst = np.unravel_index(np.argmax(np.abs(got - want)), want.shape)
            print(f"{case}: {k}.grad: relative error {rel:.3g}, allclose {close}; worst at "
                  f"{worst}: {got[worst]!r} vs torch {want[worst]!r}")
            bad += 1
    for k, want in BN_STATS.items():  # what the loop updates the running statistics from
        got = np.load(os.path.join(work, "out", k + ".batch.npy")).astype(np.float64)
        want = want.numpy()
        rel = np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-12)
        if got.shape != want.shape or rel > 1e-4:
            print(f"{case}: {k}.batch: relative error {rel:.3g}")
            bad += 1
    print(f"{case}: loss {got_loss:.6g} (torch {want_loss:.6g}), {len(grads)} gradients, "
          f"{len(BN_STATS)} batch statistics, {'OK' if not bad else str(bad) + ' MISMATCHES'}")
    return 1 if bad else 0


def main():
    slimc, work = sys.argv[1], sys.argv[2]
    failed = [c for c in sys.argv[3:] if check(slimc, c, os.path.join(work, c))]
    print("all gradients equal" if not failed else "mismatches in " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
