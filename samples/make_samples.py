#!/usr/bin/python3
"""Regenerate slimc's sample models: weights, inputs and PyTorch reference outputs.

Run with Debian's Python 3, which has python3-torch, python3-sklearn and
python3-numpy installed:

    /usr/bin/python3 samples/make_samples.py            # all samples
    /usr/bin/python3 samples/make_samples.py mlp lenet  # only some
    /usr/bin/python3 samples/make_samples.py resnet18 --full   # full-size weights

For every sample NAME it writes, next to the hand-written NAME.slim and
README.md in samples/NAME/:

    NAME.safetensors   the parameters, under their PyTorch state_dict names (F32)
    input.npy          an input batch
    expected.npy       PyTorch's output for input.npy, eval mode

lenet also gets test_x.npy / test_y.npy (the whole test split) and calib.npy
(64 training digits, for calibrating quantization).

The output is deterministic: fixed seeds, one thread, deterministic
algorithms; running the script twice gives byte-identical files.
"""

import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def setup_determinism():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False


# ---------------------------------------------------------------- file writers

def write_safetensors(path, tensors, metadata=None):
    """Write an ordered {name: tensor} dict as safetensors, every tensor F32.

    Layout: u64 little-endian header length, JSON header padded with spaces to
    a multiple of 8, then the raw little-endian data in the order given.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4", copy=False))
        raw = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)


def save_npy(path, array, dtype):
    a = np.ascontiguousarray(np.asarray(array).astype(dtype, copy=False))
    np.save(path, a, allow_pickle=False)


def state_f32(model):
    """state_dict minus BatchNorm's num_batches_tracked (slimc ignores it)."""
    return {k: v for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def outdir(name):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    return d


# ----------------------------------------------------------------------- lenet

class LeNet(nn.Module):
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


def digits_28x28():
    """scikit-learn's digits: 8x8 images, values 0..16 -> [N,1,28,28] in [0,1]."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32)).unsqueeze(1)   # [1797,1,8,8]
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
    x = x / 16.0
    return x.contiguous(), d.target.astype(np.int64)


def accuracy(model, x, y):
    with torch.no_grad():
        pred = model(x).argmax(dim=1).numpy()
    return float((pred == y).mean())


def make_lenet():
    from sklearn.model_selection import train_test_split
    d = outdir("lenet")
    x_all, y_all = digits_28x28()
    idx = np.arange(len(y_all))
    tr, te = train_test_split(idx, test_size=450, random_state=0, stratify=y_all)
    x_tr, x_te = x_all[tr], x_all[te]
    y_tr, y_te = y_all[tr], y_all[te]

    # Normalization constants from the training set, all pixels pooled,
    # computed in float64 and rounded to float32.
    xtr64 = x_tr.numpy().astype(np.float64)
    mean = np.float32(xtr64.mean())
    std = np.float32(xtr64.std())
    x_tr = (x_tr - float(mean)) / float(std)
    x_te = (x_te - float(mean)) / float(std)

    torch.manual_seed(0)
    model = LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    y_tr_t = torch.from_numpy(y_tr)
    epochs, batch = 10, 32
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(y_tr), generator=gen)
        total = 0.0
        for i in range(0, len(perm), batch):
            b = perm[i:i + batch]
            opt.zero_grad()
            loss = F.nll_loss(model(x_tr[b]), y_tr_t[b])
            loss.backward()
            opt.step()
            total += float(loss) * len(b)
        model.eval()
        print("lenet: epoch %d  loss %.4f  test acc %.4f"
              % (epoch + 1, total / len(y_tr), accuracy(model, x_te, y_te)))
    model.eval()
    train_acc = accuracy(model, x_tr, y_tr)
    test_acc = accuracy(model, x_te, y_te)
    print("lenet: train accuracy %.4f (%d/%d), test accuracy %.4f (%d/%d)"
          % (train_acc, round(train_acc * len(y_tr)), len(y_tr),
             test_acc, round(test_acc * len(y_te)), len(y_te)))
    print("lenet: normalization mean %r std %r" % (float(mean), float(std)))
    if test_acc < 0.97:
        raise SystemExit("lenet: test accuracy below 97%")

    inp = x_te[:8].contiguous()
    with torch.no_grad():
        exp = model(inp)
    write_safetensors(os.path.join(d, "lenet.safetensors"), state_f32(model), {
        "format": "pt",
        "model": "lenet",
        "source": "samples/make_samples.py",
        "dataset": "sklearn load_digits, 8x8 -> 28x28 bilinear",
        "normalize_mean": repr(float(mean)),
        "normalize_std": repr(float(std)),
        "test_accuracy": "%.4f" % test_acc,
    })
    save_npy(os.path.join(d, "input.npy"), inp.numpy(), "<f4")
    save_npy(os.path.join(d, "expected.npy"), exp.numpy(), "<f4")
    save_npy(os.path.join(d, "test_x.npy"), x_te.numpy(), "<f4")
    save_npy(os.path.join(d, "test_y.npy"), y_te, "<i8")
    save_npy(os.path.join(d, "calib.npy"), x_tr[:64].numpy(), "<f4")


# ------------------------------------------------------------------------- mlp

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 512)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, 10)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def make_mlp():
    d = outdir("mlp")
    torch.manual_seed(0)
    model = MLP().eval()
    inp = torch.randn(4, 784, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        exp = model(inp)
    write_safetensors(os.path.join(d, "mlp.safetensors"), state_f32(model), {
        "format": "pt", "model": "mlp", "source": "samples/make_samples.py",
        "init": "torch.manual_seed(0), PyTorch default init"})
    save_npy(os.path.join(d, "input.npy"), inp.numpy(), "<f4")
    save_npy(os.path.join(d, "expected.npy"), exp.numpy(), "<f4")


# ----------------------------------------------------------------- resnet_tiny

def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock, same module names."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(conv1x1(inplanes, planes, stride),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNetTiny(nn.Module):
    """ResNet-18's layout (torchvision names), widths 8-16-32-64, 32x32 inputs,
    3x3 stride-1 stem, no max pool."""

    def __init__(self, widths=(8, 16, 32, 64), num_classes=10):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(widths[0], 1)
        self.layer2 = self._make_layer(widths[1], 2)
        self.layer3 = self._make_layer(widths[2], 2)
        self.layer4 = self._make_layer(widths[3], 2)
        self.fc = nn.Linear(widths[3], num_classes)

    def _make_layer(self, planes, stride):
        layers = [BasicBlock(self.inplanes, planes, stride), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = F.avg_pool2d(x, 4)
        return self.fc(torch.flatten(x, 1))


def make_resnet_tiny():
    d = outdir("resnet_tiny")
    torch.manual_seed(0)
    model = ResNetTiny()
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                # Non-trivial statistics and affine parameters, so that folding
                # batch norm into the convolutions is really exercised.
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))           # [0.5, 1.5)
                m.bias.copy_(0.2 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.3 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=g))  # [0.5, 2)
    model.eval()
    inp = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        exp = model(inp)
    write_safetensors(os.path.join(d, "resnet_tiny.safetensors"), state_f32(model), {
        "format": "pt", "model": "resnet_tiny", "source": "samples/make_samples.py",
        "init": "torch.manual_seed(0); kaiming_normal_ convs; random BatchNorm stats"})
    save_npy(os.path.join(d, "input.npy"), inp.numpy(), "<f4")
    save_npy(os.path.join(d, "expected.npy"), exp.numpy(), "<f4")


# --------------------------------------------------------------------- textcls

class TextCls(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        self.norm = nn.LayerNorm(32)
        self.fc1 = nn.Linear(16 * 32, 64)
        self.fc2 = nn.Linear(64, 4)

    def forward(self, tokens):
        h = self.norm(self.emb(tokens))
        h = self.fc1(torch.flatten(h, 1))
        h = torch.tanh(h) * torch.sigmoid(h) - h / 2.0
        return torch.softmax(self.fc2(h), dim=-1)


def make_textcls():
    d = outdir("textcls")
    torch.manual_seed(0)
    model = TextCls()
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        model.norm.weight.copy_(1.0 + 0.5 * torch.randn(32, generator=g))
        model.norm.bias.copy_(0.5 * torch.randn(32, generator=g))
    model.eval()
    tokens = torch.randint(0, 100, (3, 16), generator=torch.Generator().manual_seed(5),
                           dtype=torch.int64)
    with torch.no_grad():
        exp = model(tokens)
    write_safetensors(os.path.join(d, "textcls.safetensors"), state_f32(model), {
        "format": "pt", "model": "textcls", "source": "samples/make_samples.py",
        "init": "torch.manual_seed(0) default init; random LayerNorm affine"})
    save_npy(os.path.join(d, "input.npy"), tokens.numpy(), "<i8")
    save_npy(os.path.join(d, "expected.npy"), exp.numpy(), "<f4")


# ------------------------------------------------- issue 3: torchvision models
#
# resnet18, mobilenet_v2 and transformer each come in two sizes:
#
#   narrow (default; committed, run by the tests): NAME_narrow.safetensors,
#       input.npy, expected.npy -- few channels, small inputs, 10 classes;
#   full (--full; for the benchmark, git-ignored): NAME.safetensors,
#       full_input.npy, full_expected.npy -- the real architecture at its real
#       size (1x3x224x224, 1000 classes; the transformer at d 256, seq 128).
#
# The architectures are torchvision's own classes (or torch.nn's
# TransformerEncoderLayer), so the state_dict names are exactly theirs. The
# weights are random (seeded), not trained; BatchNorm affine parameters are
# randomised and its running statistics calibrated by forward passes in
# training mode over random inputs, so that activations stay well scaled and
# batch-norm folding is really exercised.

def randomize_and_calibrate_bn(model, shape, gen, batches=2):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                m.momentum = None            # cumulative average over the batches
                m.reset_running_stats()
        model.train()
        for _ in range(batches):
            model(torch.randn(*shape, generator=gen))
    model.eval()


def write_model_sample(name, model, inp, full, meta):
    d = outdir(name)
    with torch.no_grad():
        exp = model(inp)
    stem = name if full else name + "_narrow"
    write_safetensors(os.path.join(d, stem + ".safetensors"), state_f32(model), dict(
        {"format": "pt", "model": stem, "source": "samples/make_samples.py"}, **meta))
    pre = "full_" if full else ""
    save_npy(os.path.join(d, pre + "input.npy"), inp.numpy(), "<f4")
    save_npy(os.path.join(d, pre + "expected.npy"), exp.numpy(), "<f4")


class NarrowResNet(nn.Module):
    """torchvision's ResNet-18 layout and names with other stage widths (torchvision's
    own class fixes them at 64-128-256-512). With the default widths its state_dict
    has exactly the names and shapes of torchvision.models.resnet18()."""

    def __init__(self, widths=(64, 128, 256, 512), num_classes=1000):
        from torchvision.models.resnet import BasicBlock as TvBasicBlock
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        layers = []
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or self.inplanes != w:
                down = nn.Sequential(conv1x1(self.inplanes, w, stride), nn.BatchNorm2d(w))
            layers.append(nn.Sequential(TvBasicBlock(self.inplanes, w, stride, down),
                                        TvBasicBlock(w, w)))
            self.inplanes = w
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def same_layout(a, b):
    sa, sb = state_f32(a), state_f32(b)
    return list(sa) == list(sb) and all(sa[k].shape == sb[k].shape for k in sa)


def make_resnet18(full=False):
    import torchvision
    torch.manual_seed(0)
    if full:
        model = torchvision.models.resnet18(weights=None)
        assert same_layout(model, NarrowResNet())
        shape = (1, 3, 224, 224)
    else:
        model = NarrowResNet(widths=(8, 16, 32, 64), num_classes=10)
        shape = (2, 3, 64, 64)
    g = torch.Generator().manual_seed(10)
    randomize_and_calibrate_bn(model, (4,) + shape[1:], g)
    inp = torch.randn(*shape, generator=torch.Generator().manual_seed(11))
    write_model_sample("resnet18", model, inp, full, {
        "architecture": "torchvision.models.resnet18" + ("" if full else
                        " layout, widths 8-16-32-64, 10 classes"),
        "init": "torch.manual_seed(0) torchvision init; random BN affine, "
                "BN statistics calibrated on random inputs"})


def make_mobilenet_v2(full=False):
    import torchvision
    torch.manual_seed(0)
    if full:
        model = torchvision.models.mobilenet_v2(weights=None)
        shape = (1, 3, 224, 224)
    else:
        model = torchvision.models.mobilenet_v2(weights=None, width_mult=0.25, num_classes=10)
        shape = (2, 3, 64, 64)
    g = torch.Generator().manual_seed(20)
    randomize_and_calibrate_bn(model, (4,) + shape[1:], g)
    inp = torch.randn(*shape, generator=torch.Generator().manual_seed(21))
    write_model_sample("mobilenet_v2", model, inp, full, {
        "architecture": "torchvision.models.mobilenet_v2" + ("" if full else
                        "(width_mult=0.25, num_classes=10)"),
        "init": "torch.manual_seed(0) torchvision init; random BN affine, "
                "BN statistics calibrated on random inputs"})


def make_transformer(full=False):
    torch.manual_seed(0)
    if full:
        d, heads, ffn, shape = 256, 4, 1024, (1, 128, 256)
    else:
        d, heads, ffn, shape = 64, 4, 128, (2, 16, 64)
    model = nn.TransformerEncoderLayer(d_model=d, nhead=heads, dim_feedforward=ffn,
                                       dropout=0.0, activation="relu",
                                       batch_first=True, norm_first=False)
    g = torch.Generator().manual_seed(30)
    with torch.no_grad():
        # Non-zero biases and LayerNorm affine, so that every parameter matters.
        model.self_attn.in_proj_bias.copy_(0.1 * torch.randn(3 * d, generator=g))
        model.self_attn.out_proj.bias.copy_(0.1 * torch.randn(d, generator=g))
        for n in (model.norm1, model.norm2):
            n.weight.copy_(1.0 + 0.2 * torch.randn(d, generator=g))
            n.bias.copy_(0.1 * torch.randn(d, generator=g))
    model.eval()
    inp = torch.randn(*shape, generator=torch.Generator().manual_seed(31))
    write_model_sample("transformer", model, inp, full, {
        "architecture": "torch.nn.TransformerEncoderLayer(d_model=%d, nhead=%d, "
                        "dim_feedforward=%d, dropout=0, batch_first=True, post-norm, relu)"
                        % (d, heads, ffn),
        "init": "torch.manual_seed(0) default init; random attention biases and "
                "LayerNorm affine"})


SAMPLES = {
    "lenet": make_lenet,
    "mlp": make_mlp,
    "resnet_tiny": make_resnet_tiny,
    "textcls": make_textcls,
    "resnet18": make_resnet18,
    "mobilenet_v2": make_mobilenet_v2,
    "transformer": make_transformer,
}
FULL = ("resnet18", "mobilenet_v2", "transformer")


def main(argv):
    full = "--full" in argv
    argv = [a for a in argv if a != "--full"]
    names = argv or (list(FULL) if full else list(SAMPLES))
    for n in names:
        if n not in SAMPLES:
            raise SystemExit("unknown sample %r (have: %s)" % (n, ", ".join(SAMPLES)))
        if full and n not in FULL:
            raise SystemExit("--full applies to %s only" % ", ".join(FULL))
    setup_determinism()
    for n in names:
        if full:
            SAMPLES[n](full=True)
            print("%s: full-size weights, full_input.npy, full_expected.npy written to "
                  "samples/%s/" % (n, n))
        else:
            SAMPLES[n]()
            print("%s: written to samples/%s/" % (n, n))


if __name__ == "__main__":
    main(sys.argv[1:])
