"""The Python package (python/slimc) against PyTorch's outputs: every sample, an ONNX file,
the errors, the arrays it takes, two threads at once, bench, inspect and compress.

Run by ctest (unit_python: the build's libslimc.so through $SLIMC_LIBRARY) and by
scripts/test.sh in a fresh venv after `pip install .`."""

import os
import threading
import time

import numpy as np
import pytest

import slimc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "samples")
DATA = os.path.join(ROOT, "tests", "python", "data")

# (sample folder, .slim file): as tests/cli/samples.sh and samples_issue3.sh run them
SAMPLE_MODELS = [("lenet", "lenet"), ("mlp", "mlp"), ("resnet_tiny", "resnet_tiny"),
                 ("textcls", "textcls"), ("mobilenet_v2", "mobilenet_v2_narrow"),
                 ("resnet18", "resnet18_narrow"), ("transformer", "transformer_narrow")]


def close_to(got, want, tol=1e-4):
    """npycmp's rule (tests/tools/npycmp.c): max|got - want| <= tol * max(1, max|want|)"""
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.abs(want).max()) if want.size else 1.0)
    diff = float(np.abs(got.astype(np.float64) - want).max()) if want.size else 0.0
    assert diff <= tol * scale, "max|got - want| = %g over %g" % (diff, tol * scale)


@pytest.fixture(scope="module")
def mlp():
    return slimc.compile(os.path.join(SAMPLES, "mlp", "mlp.slim"))


@pytest.mark.parametrize("folder,name", SAMPLE_MODELS)
def test_sample_matches_pytorch(folder, name):
    m = slimc.compile(os.path.join(SAMPLES, folder, name + ".slim"))
    x = np.load(os.path.join(SAMPLES, folder, "input.npy"))
    want = np.load(os.path.join(SAMPLES, folder, "expected.npy"))
    close_to(m(x), want)
    close_to(m.run({m.inputs[0].name: x})[m.outputs[0].name], want)


def test_ports(mlp):
    assert [tuple(p) for p in mlp.inputs] == [("x", np.float32, ("N", 784), "f32[N, 784]")]
    assert mlp.outputs[0].shape == ("N", 10) and mlp.outputs[0].dtype == np.float32
    assert mlp.device == "cpu"


def test_onnx_file_and_bytes():
    x = np.load(os.path.join(DATA, "tiny_input.npy"))
    want = np.load(os.path.join(DATA, "tiny_expected.npy"))
    path = os.path.join(DATA, "tiny.onnx")
    m = slimc.compile(path)
    assert m.inputs[0].shape == ("N", 16) and m.outputs[0].name == "probs"
    close_to(m(x), want)
    with open(path, "rb") as f:
        data = f.read()
    m2 = slimc.compile(data, threads=2)
    close_to(m2.run({"x": x})["probs"], want)
    close_to(m2(x[:1]), want[:1])  # another batch size: N is symbolic


def test_clamping_slice_compiles_once_and_checks_its_bound():
    # x + pos[:, :T] of a 64-long buffer (make_clamp_slice.py): T stays symbolic, bounded
    # by 64 (ONNX's Slice would clamp T there); the reference is numpy's x + arange(T)
    m = slimc.compile(os.path.join(DATA, "clamp_slice.onnx"))
    assert m.inputs[0].shape == ("N", "T") and m.outputs[0].shape == ("N", "T")
    for shape in [(2, 5), (1, 64), (3, 1)]:
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        close_to(m(x), x + np.arange(shape[1], dtype=np.float32), 1e-6)
    with pytest.raises(slimc.ShapeError) as e:
        m(np.zeros((2, 65), np.float32))
    assert "input 'x' dim 1 = 65 exceeds 64, the largest the model's slice of 'pos' allows" \
        in str(e.value), str(e.value)


def test_syntax_error_is_parse_error_with_caret(tmp_path):
    bad = tmp_path / "bad.slim"
    bad.write_text("model m(x: f32[N, 4]) -> f32[N, 4]\n    return relu(x +)\n")
    with pytest.raises(slimc.ParseError) as e:
        slimc.compile(str(bad))
    text = str(e.value)
    assert text.startswith(str(bad) + ":2:20: error: syntax error"), text
    assert text.splitlines()[1] == "      return relu(x +)"
    assert text.splitlines()[2] == " " * 21 + "^"
    assert e.value.kind == "parse"


def test_slim_text_from_memory_resolves_weights_beside_its_name():
    with open(os.path.join(SAMPLES, "mlp", "mlp.slim"), "rb") as f:
        text = f.read()
    m = slimc.compile(text, name=os.path.join(SAMPLES, "mlp", "memory.slim"))
    close_to(m(np.load(os.path.join(SAMPLES, "mlp", "input.npy"))),
             np.load(os.path.join(SAMPLES, "mlp", "expected.npy")))


def test_missing_file_is_file_error():
    with pytest.raises(slimc.FileError) as e:
        slimc.compile("/nonexistent/model.slim")
    assert "cannot open" in str(e.value) and isinstance(e.value, OSError)


def test_unsupported_onnx_op():
    # an ONNX node test model whose op slimc does not import (tests/data/hostile)
    path = os.path.join(ROOT, "tests", "data", "hostile", "redteam", "m_opset_huge.onnx")
    with pytest.raises(slimc.UnsupportedOpError) as e:
        slimc.compile(path)
    assert "is not supported" in str(e.value)


def test_memory_limit_is_limit_error():
    path = os.path.join(SAMPLES, "mlp", "mlp.slim")
    with pytest.raises(slimc.LimitError) as e:
        slimc.compile(path, max_memory=1 << 20)  # the weights alone are 2.6 MiB
    assert "exceeds the memory limit" in str(e.value)
    m = slimc.compile(path, max_memory=3 << 20)
    with pytest.raises(slimc.LimitError) as e:
        m(np.zeros((256, 784), np.float32))  # the arena grows with N
    assert "exceeds the memory limit" in str(e.value)


def test_wrong_shape_names_the_input_with_a_caret(mlp):
    with pytest.raises(slimc.ShapeError) as e:
        mlp(np.zeros((2, 3), np.float32))
    text = str(e.value)
    assert "mlp.slim:2:11: error: input 'x': expected f32[N, 784], got f32[2, 3]" in text
    assert text.splitlines()[-1].strip() == "^"
    # the model still runs after an error
    assert mlp(np.zeros((1, 784), np.float32)).shape == (1, 10)


def test_wrong_rank_and_count(mlp):
    with pytest.raises(slimc.ShapeError):
        mlp(np.zeros((784,), np.float32))
    with pytest.raises(TypeError):
        mlp(np.zeros((1, 784), np.float32), np.zeros((1, 784), np.float32))
    with pytest.raises(KeyError):
        mlp.run({"y": np.zeros((1, 784), np.float32)})


def test_non_contiguous_and_other_dtypes(mlp):
    x = np.load(os.path.join(SAMPLES, "mlp", "input.npy"))
    want = mlp(x)
    wide = np.zeros((x.shape[0], 2 * 784), np.float32)
    wide[:, ::2] = x
    view = wide[:, ::2]
    assert not view.flags.c_contiguous
    close_to(mlp(view), want, 1e-6)
    fortran = np.asfortranarray(x)
    close_to(mlp(fortran), want, 1e-6)
    close_to(mlp(x.astype(np.float64)), want, 1e-6)
    close_to(mlp(x.astype(np.float16)), want, 1e-2)
    close_to(mlp(x.tolist()), want, 1e-6)
    readonly = np.frombuffer(x.tobytes(), np.float32).reshape(x.shape)
    assert not readonly.flags.writeable
    close_to(mlp(readonly), want, 0)
    swapped = x.astype(x.dtype.newbyteorder(">"))
    close_to(mlp(swapped), want, 1e-6)
    with pytest.raises(slimc.ShapeError) as e:
        mlp(x.astype(np.complex64))
    assert "input 'x'" in str(e.value)


def test_textcls_int_tokens():
    m = slimc.compile(os.path.join(SAMPLES, "textcls", "textcls.slim"))
    tokens = np.load(os.path.join(SAMPLES, "textcls", "input.npy"))
    want = m(tokens)
    close_to(m(tokens.astype(np.int32)), want, 1e-6)  # ints that fit are converted
    with pytest.raises(slimc.ShapeError):
        m(tokens.astype(np.float32))  # floats are not silently truncated to tokens


def test_zero_copy_input_and_large_output():
    m = slimc.compile(os.path.join(SAMPLES, "mlp", "mlp.slim"))
    x = np.random.default_rng(0).standard_normal((512, 784), np.float32)
    kept = m._fill(0, x)
    assert kept is x  # the array itself, not a copy
    y = m(x)
    assert y.shape == (512, 10) and y.flags.c_contiguous
    close_to(y[:4], m(np.ascontiguousarray(x[:4])), 1e-5)


def test_two_threads_run_two_models_at_once():
    a = slimc.compile(os.path.join(SAMPLES, "mlp", "mlp.slim"))
    b = slimc.compile(os.path.join(SAMPLES, "lenet", "lenet.slim"))
    xa = np.load(os.path.join(SAMPLES, "mlp", "input.npy"))
    xb = np.load(os.path.join(SAMPLES, "lenet", "input.npy"))
    wa, wb = np.load(os.path.join(SAMPLES, "mlp", "expected.npy")), np.load(
        os.path.join(SAMPLES, "lenet", "expected.npy"))
    errors = []

    def loop(m, x, want):
        try:
            for _ in range(30):
                close_to(m(x), want)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    ts = [threading.Thread(target=loop, args=args) for args in ((a, xa, wa), (b, xb, wb),
                                                                  (a, xa, wa))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors


def test_a_run_releases_the_gil():
    # One long run in a thread while this thread keeps looping: were the GIL held through
    # the C call, this loop would stop for the whole call (its longest gap >= the call).
    m = slimc.compile(os.path.join(SAMPLES, "mlp", "mlp.slim"))
    x = np.zeros((8192, 784), np.float32)
    m(x[:8])
    state = {"done": False}

    def run():
        t0 = time.perf_counter()
        m(x)
        state["call_s"] = time.perf_counter() - t0
        state["done"] = True

    t = threading.Thread(target=run)
    seen = [time.perf_counter()]
    t.start()
    while not state["done"]:
        seen.append(time.perf_counter())
    t.join()
    gap = float(np.diff(seen).max()) if len(seen) > 1 else state["call_s"]
    assert gap < 0.5 * state["call_s"], (gap, state["call_s"], len(seen))


def test_bench_has_the_cli_statistics(mlp):
    s = mlp.bench(np.zeros((1, 784), np.float32), runs=20, warmup=2)
    assert s["runs"] >= 20 and s["warmup"] == 2
    assert 0 < s["min_ms"] <= s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["max_ms"]
    assert s["inferences_per_s"] > 0 and s["gpu_median_ms"] == 0
    assert mlp.bench(runs=5)["runs"] >= 5  # zeros of the declared shapes, N = 1


def test_inspect_is_data(mlp):
    d = mlp.inspect()
    assert d["name"] == "mlp" and d["inputs"] == [{"name": "x", "type": "f32[N, 784]"}]
    assert d["weight_bytes"] == (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10) * 4
    assert "linear x3" in d["summary"] and "flops: 1338368 per run" in d["flops"]
    assert d["flops_per_run"] == 1338368 and d["symbols"] == ["N"] and d["optimized"]
    assert d["arena_bytes"] == 4096 and d["weight_bytes_loaded"] == d["weight_bytes"]
    assert set(d) >= {"memory", "quant", "sparsity"}
    with pytest.raises(ValueError):
        mlp.inspect("nonsense")


def _write_safetensors(path, tensors):
    """A safetensors file of f32 arrays (the format: 8-byte header length, JSON, data)."""
    import json
    import struct
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_calibrate_dict_for_two_inputs(tmp_path):
    """calibrate= a dict {input name: array} (saved as a .npz) for a model of two inputs;
    the int8 output against numpy's fp32 forward, and a name that is no input refused."""
    rng = np.random.default_rng(3)
    w = {"fc1.weight": rng.standard_normal((32, 64)) * 0.2, "fc1.bias": rng.standard_normal(32),
         "fc2.weight": rng.standard_normal((4, 32)) * 0.2, "fc2.bias": rng.standard_normal(4)}
    _write_safetensors(str(tmp_path / "two.safetensors"), w)
    (tmp_path / "two.slim").write_text(
        'model two(x: f32[N, 64], z: f32[N, 32]) -> f32[N, 4]\n'
        '    weights "two.safetensors"\n\n'
        '    fc1 = Linear(64, 32)\n    fc2 = Linear(32, 4)\n\n'
        '    return fc2(relu(fc1(x) + z))\n')
    cal = {"x": rng.standard_normal((32, 64)).astype(np.float32),
           "z": rng.standard_normal((32, 32)).astype(np.float32)}
    x, z = cal["x"][:8], cal["z"][:8]  # within the calibrated ranges: no clipping
    h = np.maximum(x @ w["fc1.weight"].T + w["fc1.bias"] + z, 0)
    want = (h @ w["fc2.weight"].T + w["fc2.bias"]).astype(np.float32)
    profile = os.path.join(ROOT, "tests", "data", "profile_int8_fast.json")
    q = slimc.compile(str(tmp_path / "two.slim"), quantize="int8", calibrate=cal,
                      device_profile=profile)
    assert q.inspect("quant")["quant"].count("qlinear") == 2
    got = q(x, z)
    assert np.abs(got - want).max() <= 0.02 * np.abs(want).max()
    with pytest.raises(slimc.Error, match="'zz' is not an input of the model"):
        slimc.compile(str(tmp_path / "two.slim"), quantize="int8",
                      calibrate={"x": cal["x"], "zz": cal["z"]}, device_profile=profile)


def test_compile_quantize_and_compress_save(tmp_path):
    path = os.path.join(SAMPLES, "lenet", "lenet.slim")
    x = np.load(os.path.join(SAMPLES, "lenet", "input.npy"))
    want = np.load(os.path.join(SAMPLES, "lenet", "expected.npy"))
    calib = np.load(os.path.join(SAMPLES, "lenet", "calib.npy"))
    q = slimc.compile(path, quantize="int8", calibrate=calib)
    # conv2 (K = 500) is int8 on any CPU; conv1 (K = 25) stays float where int8 convs run
    # without VNNI (docs/quantization.md, "Which layers stay float")
    assert "qconv2d  i8[50, 20, 5, 5]" in q.inspect("quant")["quant"]
    assert (q(x).argmax(1) == want.argmax(1)).mean() >= 0.75
    c = slimc.compress(path, quantize="int8", calibrate=os.path.join(SAMPLES, "lenet",
                                                                      "calib.npy"))
    out = tmp_path / "lenet_int8.slim"
    info = c.save(str(out))
    assert out.exists() and (tmp_path / "lenet_int8.safetensors").exists()
    assert info["weights_bytes"] > 0
    assert "QuantConv2d" in out.read_text() or "QuantLinear" in out.read_text()
    again = slimc.compile(str(out))
    np.testing.assert_allclose(again(x), c(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(slimc.Error):
        slimc.compile(path).save(str(tmp_path / "x.slim"))


LINEAR3 = """model lin(x: f32[N, 4]) -> f32[N, 3]
    %s
    fc = Linear(4, 3)
    return fc(x)
"""


def test_train_and_distill(tmp_path):
    # three classes, linearly separable: argmax of a fixed map of the inputs
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = (x @ rng.standard_normal((4, 3))).argmax(1).astype(np.int64)
    model = tmp_path / "lin.slim"
    model.write_text(LINEAR3 % "")
    out = tmp_path / "lin.safetensors"
    got = slimc.train(str(model), x, y, str(out), epochs=30, lr=0.05, batch_size=32,
                      progress=False)
    assert got == str(out) and out.exists()
    (tmp_path / "trained.slim").write_text(LINEAR3 % 'weights "lin.safetensors"')
    trained = slimc.compile(str(tmp_path / "trained.slim"))
    acc = float((trained(x).argmax(1) == y).mean())
    assert acc > 0.9, acc
    # a student taught by the trained model alone (no labels)
    (tmp_path / "student.slim").write_text(LINEAR3 % "")
    sout = tmp_path / "student.safetensors"
    slimc.distill(str(tmp_path / "trained.slim"), str(tmp_path / "student.slim"), x,
                  out=str(sout), epochs=30, lr=0.05, batch_size=32, progress=False)
    (tmp_path / "student_run.slim").write_text(LINEAR3 % 'weights "student.safetensors"')
    s = slimc.compile(str(tmp_path / "student_run.slim"))
    agree = float((s(x).argmax(1) == trained(x).argmax(1)).mean())
    assert agree > 0.85, agree
    with pytest.raises(slimc.Error) as e:  # labels of another length
        slimc.train(str(model), x, y[:10], str(out), progress=False)
    assert str(e.value)


def test_train_progress_is_the_clis(tmp_path, capfd):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    (tmp_path / "lin.slim").write_text(LINEAR3 % "")
    slimc.train(str(tmp_path / "lin.slim"), x, y, str(tmp_path / "w.safetensors"), epochs=2,
                val_data=x, val_labels=y)
    err = capfd.readouterr().err
    assert "epoch 1/2: loss " in err and "epoch 2/2: loss " in err and "val accuracy" in err, err


def test_train_progress_callback(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 1] > 0).astype(np.int64)
    (tmp_path / "lin.slim").write_text(LINEAR3 % "")
    lines = []
    slimc.train(str(tmp_path / "lin.slim"), x, y, str(tmp_path / "w.safetensors"), epochs=3,
                progress=lines.append)
    epochs = [s for s in lines if s.startswith("epoch ")]
    assert [s.split(":")[0] for s in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"], lines


def test_from_torch_without_torch_says_so(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    with pytest.raises(ImportError) as e:
        slimc.from_torch(object(), ())
    assert "slimc.from_torch needs PyTorch" in str(e.value)


def test_compress_prune_and_compact_save(tmp_path):
    c = slimc.compress(os.path.join(SAMPLES, "mlp", "mlp.slim"), prune=0.5)
    assert "334336 nonzero (50.00% density)" in c.inspect("sparsity")["sparsity"]
    info = c.save(str(tmp_path / "p.slim"), compact=True)
    assert info["n_compact"] == 3 and info["weights_bytes"] < 2678824 * 0.6
    x = np.load(os.path.join(SAMPLES, "mlp", "input.npy"))
    np.testing.assert_allclose(slimc.compile(str(tmp_path / "p.slim"))(x), c(x), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("profile,conv1", [("profile_avx2_novnni.json", "Conv2d("),
                                           ("profile_int8_fast.json", "QuantConv2d(")])
def test_compress_device_profile(tmp_path, profile, conv1):
    # the cost model's keep-float choice in compress comes from the profile given: on an
    # AVX2 CPU without VNNI lenet's conv1 (K = 25) stays float, with VNNI it is int8
    lenet = os.path.join(SAMPLES, "lenet")
    c = slimc.compress(os.path.join(lenet, "lenet.slim"), quantize="int8",
                       calibrate=os.path.join(lenet, "calib.npy"),
                       device_profile=os.path.join(ROOT, "tests", "data", profile))
    c.save(str(tmp_path / "q.slim"))
    text = open(str(tmp_path / "q.slim")).read()
    assert ("conv1 = " + conv1) in text and "conv2 = QuantConv2d(" in text, text
    x = np.load(os.path.join(lenet, "input.npy"))
    close_to(c(x), np.load(os.path.join(lenet, "expected.npy")), tol=0.05)
