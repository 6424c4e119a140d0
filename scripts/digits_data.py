#!/usr/bin/python3
"""The digits training split for slimc's training tests and benchmark, written at test time.

    /usr/bin/python3 scripts/digits_data.py OUTDIR

Writes OUTDIR/train_x.npy (f32 [1347, 1, 28, 28]), OUTDIR/train_y.npy (i64 [1347]),
OUTDIR/test_x.npy (f32 [450, 1, 28, 28]) and OUTDIR/test_y.npy (i64 [450]): scikit-learn's
digits, 8x8 -> 28x28 bilinear, / 16, split and normalised exactly as samples/make_samples.py
does for samples/lenet (train_test_split(test_size=450, random_state=0, stratify=y); the
mean and std of the training pixels in float64, rounded to float32), so that test_x.npy
equals samples/lenet/test_x.npy. Needs Debian's python3-torch, python3-sklearn and
python3-numpy (scripts/install-deps.sh --train); exits 77 when one is missing.
"""
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
except ImportError as e:
    print("skip: %s" % e)
    sys.exit(77)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32)).unsqueeze(1)
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False) / 16.0
    y = d.target.astype(np.int64)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=450, random_state=0, stratify=y)
    x_tr, x_te = x[tr], x[te]
    xtr64 = x_tr.numpy().astype(np.float64)
    mean, std = np.float32(xtr64.mean()), np.float32(xtr64.std())
    x_tr = (x_tr - float(mean)) / float(std)
    x_te = (x_te - float(mean)) / float(std)
    np.save(os.path.join(out, "train_x.npy"), np.ascontiguousarray(x_tr.numpy(), "<f4"))
    np.save(os.path.join(out, "train_y.npy"), y[tr].astype("<i8"))
    np.save(os.path.join(out, "test_x.npy"), np.ascontiguousarray(x_te.numpy(), "<f4"))
    np.save(os.path.join(out, "test_y.npy"), y[te].astype("<i8"))


if __name__ == "__main__":
    main()
