#!/usr/bin/env python3
"""Times DeepSparse's engine on one ONNX model for bench/sparse.py (issue 17), run with the
interpreter given as `--deepsparse-python` (a venv with `pip install deepsparse==1.8.0`; it is
not a dependency of slimc and never committed).

usage: PYTHON bench/deepsparse_time.py MODEL.onnx X.npy RUNS [EXPECTED.npy]

A model of an ONNX IR version above 8 is first copied as IR 8 (MODEL.ir8.onnx).

Compiles `deepsparse.Engine(MODEL, batch_size=X.shape[0], num_cores=1)`, runs it 20 times to
warm up, then RUNS times, and prints one line: `wall_ms=<median> cpu_ms=<mean> ok=<0|1>`
(wall: the median of perf_counter per run; cpu: process_time over the RUNS runs, per run;
ok: the output of the first run is finite and, given EXPECTED.npy (a numpy reference of
the first output), within 1e-3 of it relative to its largest magnitude). On failure it prints `error=<message>` and exits 1.
"""
import sys
import time


def ir_compatible(model):
    """DeepSparse 1.8's ONNX Runtime reads IR versions up to 9 ("Unsupported model IR version:
    13, max supported IR version: 9"): a file of a later IR version is rewritten as IR 8
    (opsets 13 to 15, what the benchmark's files use) next to the original (MODEL.ir8.onnx;
    the graph is unchanged)."""
    import onnx
    m = onnx.load(model)
    if m.ir_version <= 8:
        return model
    m.ir_version = 8
    out = model[:-5] + ".ir8.onnx" if model.endswith(".onnx") else model + ".ir8.onnx"
    onnx.save(m, out)
    return out


def main():
    model, xpath, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        import numpy as np
        import deepsparse
        x = np.ascontiguousarray(np.load(xpath).astype(np.float32))
        model = ir_compatible(model)
        eng = deepsparse.Engine(model=model, batch_size=int(x.shape[0]), num_cores=1)
        out = eng.run([x])
        ok = int(all(np.isfinite(o).all() for o in out))
        if len(sys.argv) > 4:
            ref = np.load(sys.argv[4]).astype(np.float32)
            err = float(np.abs(out[0].reshape(ref.shape) - ref).max())
            ok = int(ok and err <= 1e-3 * max(1.0, float(np.abs(ref).max())))
        for _ in range(20):
            eng.run([x])
        t = []
        c0 = time.process_time()
        for _ in range(runs):
            t0 = time.perf_counter()
            eng.run([x])
            t.append(time.perf_counter() - t0)
        cpu = (time.process_time() - c0) / runs * 1e3
        print(f"wall_ms={float(np.median(t)) * 1e3:.5f} cpu_ms={cpu:.5f} ok={ok}")
    except Exception as e:  # the engine's own error, reported by the caller verbatim
        msg = " ".join(f"{type(e).__name__}: {e}".split())
        print(f"error={msg}")
        sys.exit(1)


if __name__ == "__main__":
    main()
