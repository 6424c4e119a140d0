"""m(x)'s fast path (python/slimc/_model.py): after a first run at some input shapes, runs
at the same shapes go through slimc_exec_run_into into fresh numpy arrays. Results stay
right and the caller's across calls, shape changes, bench() and failed calls in between,
and for a model of two inputs and two outputs."""

import os

import numpy as np
import pytest

import slimc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MLP = os.path.join(ROOT, "samples", "mlp")

TINY = b"""model tiny(x: f32[N, 3], y: f32[N, 3]) -> (s: f32[N, 3], d: f32[N, 3])
    return relu(x) * 2.0 + y, x - y
"""


@pytest.fixture(scope="module")
def mlp():
    return slimc.compile(os.path.join(MLP, "mlp.slim"), threads=1)


def rows(n, seed):
    return np.random.default_rng(seed).standard_normal((n, 784), np.float32)


def test_fresh_arrays_that_stay_the_callers(mlp):
    x1, x2 = rows(1, 1), rows(1, 2)
    want1 = mlp.run({"x": x1})[mlp.outputs[0].name]
    a = mlp(x1)
    b = mlp(x1)  # the fast path from here on
    assert mlp._fast is not None
    c = mlp(x2)
    want2 = mlp.run([x2])[mlp.outputs[0].name]
    assert a is not b and not np.shares_memory(a, b) and not np.shares_memory(b, c)
    assert np.array_equal(a, want1) and np.array_equal(b, want1) and np.array_equal(c, want2)
    assert a.flags.owndata and a.flags.writeable and a.shape == (1, 10) and a.dtype == np.float32
    b[:] = 0  # the caller's to change: the next run does not see it nor write into it
    assert np.array_equal(mlp(x1), want1) and not b.any()


def test_shapes_change_between_calls(mlp):
    xs = {n: rows(n, n) for n in (1, 3, 5)}
    want = {n: mlp.run([x])[mlp.outputs[0].name] for n, x in xs.items()}
    for n in (1, 1, 3, 3, 1, 5, 5, 3, 1):
        assert np.array_equal(mlp(xs[n]), want[n]), n
    # the rows of a larger batch, each run alone, agree with the batch
    assert np.allclose(mlp(xs[5][2:3]), want[5][2:3], rtol=1e-5, atol=1e-6)


def test_bench_and_failed_calls_in_between(mlp):
    x = rows(1, 7)
    want = mlp(x)
    mlp(x)
    mlp.bench(np.zeros((8, 784), np.float32), runs=2)  # fills the input tensor at 8 rows
    assert np.array_equal(mlp(x), want)
    mlp(x)
    with pytest.raises(slimc.ShapeError):
        mlp(np.zeros((1, 783), np.float32))
    assert np.array_equal(mlp(x), want)
    with pytest.raises(slimc.ShapeError):
        mlp(x.astype(np.complex64))
    assert np.array_equal(mlp(x), want)
    # other dtypes and layouts at the plan's shape take the checked path, and agree
    assert np.allclose(mlp(x.astype(np.float64)), want, rtol=1e-6, atol=1e-6)
    assert np.array_equal(mlp(np.asfortranarray(x)), want)
    readonly = np.frombuffer(x.tobytes(), np.float32).reshape(x.shape)
    assert np.array_equal(mlp(readonly), want) and np.array_equal(mlp(readonly), want)


def test_two_inputs_two_outputs():
    m = slimc.compile(TINY, name="tiny.slim", threads=1)
    rng = np.random.default_rng(3)
    for n in (2, 2, 4, 2, 2):
        x = rng.standard_normal((n, 3), np.float32)
        y = rng.standard_normal((n, 3), np.float32)
        s, d = m(x, y)
        assert np.array_equal(s, np.maximum(x, 0) * np.float32(2) + y)
        assert np.array_equal(d, x - y)
        out = m.run({"x": x, "y": y})
        assert np.array_equal(out["s"], s) and np.array_equal(out["d"], d)
    assert m._plan_key is not None and m._fast is None  # run_into, through _run
