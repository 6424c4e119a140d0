#!/usr/bin/python3
"""Checks that slimc's ln_structured pruning removes channels for real, against PyTorch.

For each case slimc prunes a sample (its ln_structured step removes the zero channels,
docs/pruning.md "Removing channels") and runs it; PyTorch, on its own, applies
torch.nn.utils.prune.ln_structured to the same layers of the dense model, zeros the other
members of each pruned channel (the conv's bias, the batch norms after it), and runs the
dense model. The outputs must agree (max|a - b| <= 1e-4 max|b|), and the removed shapes
must be the expected ones:

  lenet        compress 'prune(conv1, conv2, method=ln_structured, n=2, amount=50%)':
               conv1 [10, 1, 5, 5], conv2 [25, 10, 5, 5], fc1 [500, 400] in the saved
               safetensors, each kept channel equal to PyTorch's weights bit for bit
  resnet_tiny  run --passes 'prune(<every block's conv1>, method=ln_structured, amount=50%),
               fold,...': batch norms unfolded (their four tensors follow the channels)
  resnet_tiny  compress (batch norms folded first, by compress's own fold,bn_fold): the
               masks are chosen on the folded weights, as PyTorch does on the folded conv
  mobilenet_v2 run --passes 'prune(<every expansion conv>, ...)': the channels leave the
               expansion conv, two batch norms and the depthwise conv between them
  transformer  run --passes 'prune(linear1, ...)': the feed-forward's hidden features
               ([N, 16, 128] -> [N, 16, 64]) leave linear1's rows and linear2's columns

Run with Debian's /usr/bin/python3 (it has torch): tests/cli/prune_channels.sh does. Exit
status 0: all agree; 1: a difference; 2: torch is missing ("skip:").

  /usr/bin/python3 scripts/prune_channels_torch.py --slimc build/slimc --tmp /tmp/x
"""
import argparse
import importlib.util
import json
import os
import struct
import subprocess
import sys

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.nn.utils.prune as prune
except ImportError:
    print("skip: this python has no torch (%s)" % sys.executable)
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "samples")
OPT = "fold,dce,cse,layout,fuse,dce,memplan"
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b : 8 + n + e], dtype="<f4").reshape(t["shape"]).copy()
    return out


def slimc(args, what):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        fail("%s: slimc exit %d: %s" % (what, r.returncode, r.stderr.strip()))
        return False
    return True


def slimc_output(exe, model, x, tmp, tag, passes=None):
    xin = os.path.join(tmp, tag + "_x.npy")
    np.save(xin, x)
    od = os.path.join(tmp, tag + "_out")
    args = [exe, "run", model, "--input", "x=" + xin, "--output-dir", od]
    if passes:
        args += ["--passes", passes]
    if not slimc(args, tag):
        return None
    return np.load(os.path.join(od, "output0.npy"))


def agree(tag, got, want, tol=1e-4):
    if got is None:
        return
    if got.shape != want.shape:
        fail("%s: shape %s, PyTorch %s" % (tag, got.shape, want.shape))
        return
    err = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    if err <= tol * scale:
        print("ok: %s: outputs agree (max err %.3g, max %.3g)" % (tag, err, scale))
    else:
        fail("%s: max err %.3g > %g x %.3g" % (tag, err, tol, scale))


def pruned_channels(module, amount, n=2):
    """torch's ln_structured on module.weight (dim 0); returns the zeroed channels."""
    prune.ln_structured(module, "weight", amount=amount, n=n, dim=0)
    prune.remove(module, "weight")
    w = module.weight.detach()
    return [c for c in range(w.shape[0]) if not torch.any(w[c] != 0)]


def zero_members(channels, *modules):
    """Zeros entry c of each module's weight and bias (a bias, a batch norm's affine)."""
    with torch.no_grad():
        for m in modules:
            for c in channels:
                if getattr(m, "bias", None) is not None:
                    m.bias[c] = 0
                if isinstance(m, nn.BatchNorm2d):
                    m.weight[c] = 0


# ---------------------------------------------------------------- lenet


class LeNet(nn.Module):
    """samples/lenet/lenet.slim: relu after max_pool."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        h = F.relu(F.max_pool2d(self.conv1(x), 2))
        h = F.relu(F.max_pool2d(self.conv2(h), 2))
        h = F.relu(self.fc1(torch.flatten(h, 1)))
        return F.log_softmax(self.fc2(h), dim=1)


def check_lenet(exe, tmp):
    d = os.path.join(SAMPLES, "lenet")
    w = read_safetensors(os.path.join(d, "lenet.safetensors"))
    net = LeNet()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
    net.eval()
    gone1 = pruned_channels(net.conv1, 0.5)
    gone2 = pruned_channels(net.conv2, 0.5)
    if len(gone1) != 10 or len(gone2) != 25:
        fail("lenet: PyTorch pruned %d and %d channels, not 10 and 25" % (len(gone1), len(gone2)))
    zero_members(gone1, net.conv1)
    zero_members(gone2, net.conv2)
    out = os.path.join(tmp, "lenet_pruned.slim")
    if not slimc([exe, "compress", os.path.join(d, "lenet.slim"), "--passes",
                  "prune(conv1, conv2, method=ln_structured, n=2, amount=50%)", "-o", out], "lenet compress"):
        return
    s = read_safetensors(out.replace(".slim", ".safetensors"))
    shapes = {k: list(v.shape) for k, v in s.items()}
    keep1 = [c for c in range(20) if c not in gone1]
    keep2 = [c for c in range(50) if c not in gone2]
    # find the saved tensors by shape (compress names them after the module)
    c1 = [v for v in s.values() if v.shape == (10, 1, 5, 5)]
    c2 = [v for v in s.values() if v.shape == (25, 10, 5, 5)]
    f1 = [v for v in s.values() if v.shape == (500, 400) or v.shape == (400, 500)]
    if len(c1) != 1 or len(c2) != 1 or len(f1) != 1:
        fail("lenet: saved shapes %s" % shapes)
        return
    print("ok: lenet: saved conv1 [10, 1, 5, 5], conv2 [25, 10, 5, 5], fc1 %s" % list(f1[0].shape))
    w1 = net.conv1.weight.detach().numpy()[keep1]
    w2 = net.conv2.weight.detach().numpy()[keep2][:, keep1]
    if np.array_equal(c1[0], w1) and np.array_equal(c2[0], w2):
        print("ok: lenet: the kept channels are PyTorch's, bit for bit")
    else:
        fail("lenet: the kept channels are not the ones PyTorch keeps")
    x = np.load(os.path.join(d, "test_x.npy"))[:64]
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    agree("lenet compress", slimc_output(exe, out, x, tmp, "lenet"), want)


# ---------------------------------------------------------------- resnet_tiny


def load_resnet_tiny():
    spec = importlib.util.spec_from_file_location("make_samples", os.path.join(SAMPLES, "make_samples.py"))
    ms = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ms)
    net = ms.ResNetTiny()
    w = read_safetensors(os.path.join(SAMPLES, "resnet_tiny", "resnet_tiny.safetensors"))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=False)
    net.eval()
    return net


def blocks(net):
    for li in range(1, 5):
        layer = getattr(net, "layer%d" % li)
        for bi, b in enumerate(layer):
            yield "layer%d.%d" % (li, bi), b


def fold(conv, bn):
    """conv followed by bn in eval mode, as one conv with a bias."""
    f = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                  bias=True)
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    with torch.no_grad():
        f.weight.copy_(conv.weight * s.reshape(-1, 1, 1, 1))
        f.bias.copy_(bn.bias - bn.running_mean * s)
    return f


def check_resnet(exe, tmp, folded):
    net = load_resnet_tiny()
    names = []
    for name, b in blocks(net):
        names.append(name + ".conv1")
        if folded:  # compress folds bn1 into conv1 before pruning: prune the folded conv
            b.conv1 = fold(b.conv1, b.bn1)
            b.bn1 = nn.Identity()
        gone = pruned_channels(b.conv1, 0.5)
        zero_members(gone, b.conv1, b.bn1)
    x = np.random.default_rng(5).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    step = "prune(%s, method=ln_structured, amount=50%%)" % ", ".join(names)
    d = os.path.join(SAMPLES, "resnet_tiny", "resnet_tiny.slim")
    if folded:
        out = os.path.join(tmp, "resnet_pruned.slim")
        if not slimc([exe, "compress", d, "--passes", step, "-o", out], "resnet compress"):
            return
        s = read_safetensors(out.replace(".slim", ".safetensors"))
        shapes = sorted(tuple(v.shape) for v in s.values())
        if shapes.count((4, 8, 3, 3)) == 2 and shapes.count((32, 64, 3, 3)) == 1 \
                and shapes.count((64, 32, 3, 3)) == 2:
            print("ok: resnet_tiny compress: the blocks' conv1 saved with half their channels")
        else:
            fail("resnet_tiny compress: saved shapes %s" % shapes)
        agree("resnet_tiny compress (bn folded first)", slimc_output(exe, out, x, tmp, "rf"), want)
    else:
        got = slimc_output(exe, d, x, tmp, "ru", step + "," + OPT)
        agree("resnet_tiny run (batch norms unfolded)", got, want)
        r = subprocess.run([exe, "inspect", d, "--ir", "--passes", step], capture_output=True, text=True)
        if "layer1.0.conv2.weight: f32[8, 4, 3, 3]" in r.stdout and "layer4.1.bn1.weight: f32[32]" in r.stdout:
            print("ok: resnet_tiny: conv2 reads half the channels, bn1 has half")
        else:
            fail("resnet_tiny: shapes after removal:\n" + r.stdout + r.stderr)


# ---------------------------------------------------------------- mobilenet_v2


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand):
        super().__init__()
        hidden = inp * expand
        layers = []
        if expand != 1:
            layers.append(nn.Sequential(nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                        nn.ReLU6()))
        layers += [nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                                 nn.BatchNorm2d(hidden), nn.ReLU6()),
                   nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)
        self.res = stride == 1 and inp == oup

    def forward(self, x):
        return x + self.conv(x) if self.res else self.conv(x)


MBV2_NARROW = [(8, 8, 1, 1), (8, 8, 2, 6), (8, 8, 1, 6), (8, 8, 2, 6), (8, 8, 1, 6), (8, 8, 1, 6),
               (8, 16, 2, 6), (16, 16, 1, 6), (16, 16, 1, 6), (16, 16, 1, 6), (16, 24, 1, 6),
               (24, 24, 1, 6), (24, 24, 1, 6), (24, 40, 2, 6), (40, 40, 1, 6), (40, 40, 1, 6),
               (40, 80, 1, 6)]


class MobileNetV2Narrow(nn.Module):
    """samples/mobilenet_v2/mobilenet_v2_narrow.slim (torchvision's names)."""

    def __init__(self):
        super().__init__()
        f = [nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())]
        f += [InvertedResidual(*a) for a in MBV2_NARROW]
        f.append(nn.Sequential(nn.Conv2d(80, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6()))
        self.features = nn.Sequential(*f)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 10))

    def forward(self, x):
        h = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(h, 1))


def check_mobilenet(exe, tmp):
    net = MobileNetV2Narrow()
    w = read_safetensors(os.path.join(SAMPLES, "mobilenet_v2", "mobilenet_v2_narrow.safetensors"))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=False)
    net.eval()
    names = []
    for i, blk in enumerate(net.features):
        if not isinstance(blk, InvertedResidual) or len(blk.conv) != 4:
            continue
        names.append("features.%d.conv.0.0" % i)
        expand, dw = blk.conv[0], blk.conv[1]
        gone = pruned_channels(expand[0], 0.5)
        # the channel leaves the expansion's batch norm, the depthwise conv and its batch norm
        zero_members(gone, expand[1], dw[1])
    x = np.random.default_rng(6).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    step = "prune(%s, method=ln_structured, amount=50%%)" % ", ".join(names)
    d = os.path.join(SAMPLES, "mobilenet_v2", "mobilenet_v2_narrow.slim")
    agree("mobilenet_v2_narrow run (depthwise, batch norms unfolded)",
          slimc_output(exe, d, x, tmp, "mu", step + "," + OPT), want)
    r = subprocess.run([exe, "inspect", d, "--ir", "--passes", step], capture_output=True, text=True)
    if "features.2.conv.1.0.weight: f32[24, 1, 3, 3]" in r.stdout and "groups=24" in r.stdout:
        print("ok: mobilenet_v2_narrow: the depthwise conv has half its channels (groups=24)")
    else:
        fail("mobilenet_v2_narrow: shapes after removal:\n" + r.stdout[:3000] + r.stderr)


# ---------------------------------------------------------------- transformer


def check_transformer(exe, tmp):
    d = os.path.join(SAMPLES, "transformer")
    net = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)
    w = read_safetensors(os.path.join(d, "transformer_narrow.safetensors"))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
    net.eval()
    gone = pruned_channels(net.linear1, 0.5)
    zero_members(gone, net.linear1)
    x = np.random.default_rng(7).standard_normal((2, 16, 64)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    step = "prune(linear1, method=ln_structured, amount=50%)"
    model = os.path.join(d, "transformer_narrow.slim")
    agree("transformer_narrow run (linear1 -> relu -> linear2 over [N, 16, 64])",
          slimc_output(exe, model, x, tmp, "tu", step + "," + OPT), want)
    r = subprocess.run([exe, "inspect", model, "--ir", "--passes", step], capture_output=True, text=True)
    if "linear2.weight: f32[64, 64]" in r.stdout and "linear1.weight: f32[64, 64]" in r.stdout:
        print("ok: transformer_narrow: the feed-forward's hidden features halved (128 -> 64)")
    else:
        fail("transformer_narrow: shapes after removal:\n" + r.stdout[:3000] + r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", required=True)
    ap.add_argument("--tmp", required=True)
    a = ap.parse_args()
    os.makedirs(a.tmp, exist_ok=True)
    torch.manual_seed(0)
    check_lenet(a.slimc, a.tmp)
    check_resnet(a.slimc, a.tmp, folded=False)
    check_resnet(a.slimc, a.tmp, folded=True)
    check_mobilenet(a.slimc, a.tmp)
    check_transformer(a.slimc, a.tmp)
    print("all agree" if failures == 0 else "%d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
