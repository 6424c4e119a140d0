"""slimc.train(..., targets=, val_targets=): regression with the mean squared error (the C
API's SlimcTrainOptions.targets, as `slimc train --targets`). One full-batch SGD step of a
linear layer equals numpy's closed form; a small MLP's validation MSE falls; targets of the
wrong shape are an error naming them."""

import os
import re

import numpy as np
import pytest

import slimc

LINEAR = """model lin(x: f32[N, 5]) -> f32[N, 3]
    weights "%s"
    fc = Linear(5, 3)
    return fc(x)
"""


def _save_linear(path, w, b):
    """fc.weight [3, 5] and fc.bias [3] as safetensors (f32, little-endian)."""
    import json
    import struct
    tensors = {"fc.bias": b, "fc.weight": w}
    header, off, blobs = {}, 0, []
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, "<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def _weights_of(tmp_path, name):
    """W [3, 5] and b [3] of a trained lin model, read back by running it: b = m(0) and
    W^T = m(I) - b."""
    (tmp_path / "run.slim").write_text(LINEAR % name)
    m = slimc.compile(str(tmp_path / "run.slim"))
    b = m(np.zeros((1, 5), np.float32))[0].astype(np.float64)
    wt = m(np.eye(5, dtype=np.float32)).astype(np.float64) - b
    return wt.T, b


def test_one_sgd_step_is_numpys_closed_form(tmp_path):
    r = np.random.RandomState(1)
    x = r.randn(40, 5).astype(np.float32)
    t = r.randn(40, 3).astype(np.float32)
    w = (r.randn(3, 5) * 0.3).astype(np.float32)
    b = (r.randn(3) * 0.1).astype(np.float32)
    _save_linear(str(tmp_path / "lin.safetensors"), w, b)
    (tmp_path / "lin.slim").write_text(LINEAR % "lin.safetensors")
    lines = []
    out = slimc.train(str(tmp_path / "lin.slim"), x, targets=t,
                      out=str(tmp_path / "step.safetensors"), optimizer="sgd", lr=0.1,
                      batch_size=40, shuffle=False, epochs=1, progress=lines.append)
    assert out == str(tmp_path / "step.safetensors")
    x64, t64, w64, b64 = (a.astype(np.float64) for a in (x, t, w, b))
    y = x64 @ w64.T + b64
    g = 2.0 / t.size * (y - t64)  # d mean((y - t)^2) / dy
    w_ref, b_ref = w64 - 0.1 * g.T @ x64, b64 - 0.1 * g.sum(0)
    w_got, b_got = _weights_of(tmp_path, "step.safetensors")
    assert np.allclose(w_got, w_ref, rtol=1e-4, atol=1e-5), np.abs(w_got - w_ref).max()
    assert np.allclose(b_got, b_ref, rtol=1e-4, atol=1e-5), np.abs(b_got - b_ref).max()
    assert not np.allclose(w_got, w64, atol=1e-3)  # the step moved the weights
    loss = float(re.search(r"loss ([0-9.]+)", "".join(lines)).group(1))
    assert abs(loss - ((y - t64) ** 2).mean()) < 1e-3, (loss, "".join(lines))


def test_validation_mse_falls(tmp_path):
    (tmp_path / "reg.slim").write_text("""model reg(x: f32[N, 2]) -> f32[N, 2]
    fc1 = Linear(2, 64)
    fc2 = Linear(64, 2)
    return fc2(tanh(fc1(x)))
""")
    r = np.random.RandomState(2)
    xs = r.uniform(-2, 2, (600, 2)).astype(np.float32)
    ys = np.stack([np.sin(xs[:, 0]) * np.cos(xs[:, 1]), 0.5 * xs[:, 0] * xs[:, 1]],
                  1).astype(np.float32)
    np.save(str(tmp_path / "yv.npy"), ys[500:])  # a path works as an array does
    lines = []
    slimc.train(str(tmp_path / "reg.slim"), xs[:500], targets=ys[:500], val_data=xs[500:],
                val_targets=str(tmp_path / "yv.npy"), out=str(tmp_path / "reg.safetensors"),
                epochs=30, lr=0.01, batch_size=50, progress=lines.append)
    text = "".join(lines)
    mse = [float(v) for v in re.findall(r"val mse ([0-9.e+-]+),", text)]
    assert len(mse) >= 30 and mse[-1] < mse[0] / 5, text[-2000:]


def test_targets_of_the_wrong_shape(tmp_path):
    w, b = np.zeros((3, 5), np.float32), np.zeros(3, np.float32)
    _save_linear(str(tmp_path / "lin.safetensors"), w, b)
    (tmp_path / "lin.slim").write_text(LINEAR % "lin.safetensors")
    x = np.zeros((8, 5), np.float32)
    with pytest.raises(slimc.Error) as e:
        slimc.train(str(tmp_path / "lin.slim"), x, targets=np.zeros((8, 2), np.float32),
                    out=str(tmp_path / "o.safetensors"), progress=False)
    assert "targets" in str(e.value) and "f32[N, 3]" in str(e.value), str(e.value)
