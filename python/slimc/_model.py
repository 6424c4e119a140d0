"""Compiled models: slimc.compile, slimc.compress, slimc.from_torch and the Model they
return. Each Model owns one SlimcContext, SlimcModel and SlimcExec; a lock lets several
Python threads share one Model (one run at a time), while different Models run at once
(ctypes releases the GIL around each C call)."""

import collections
import ctypes
import io
import json
import os
import shutil
import tempfile
import threading
import weakref

import numpy as np

from . import _errors
from ._lib import (lib, Tensor, Options, BenchOptions, BenchStats, SaveInfo, DEVICES,
                   INSPECT, MAX_RANK)

# SlimcDType <-> numpy (the dtypes numpy has; bf16, the 4-bit and 8-bit floats have none)
_NP_OF_SLIMC = {0: np.float64, 1: np.float32, 2: np.float16, 4: np.int64, 5: np.int32,
                6: np.int16, 7: np.int8, 8: np.uint8, 10: np.bool_, 11: np.uint16,
                12: np.uint32, 13: np.uint64}
_NP_OF_SLIMC = {k: np.dtype(v) for k, v in _NP_OF_SLIMC.items()}
_SLIMC_OF_NP = {v: k for k, v in _NP_OF_SLIMC.items()}
_c_char, _addressof = ctypes.c_char, ctypes.addressof
_SLIMC_OF_NAME = {"f64": 0, "f32": 1, "f16": 2, "bf16": 3, "i64": 4, "i32": 5, "i16": 6,
                  "i8": 7, "u8": 8, "i4": 9, "bool": 10, "u16": 11, "u32": 12, "u64": 13}

Port = collections.namedtuple("Port", "name dtype shape type")
Port.__doc__ = """An input or output: its name, numpy dtype (None where numpy has none), shape
(ints, and strings for symbolic sizes such as "N") and slimc's type text ("f32[N, 784]")."""


def _parse_type(text):
    """"f32[N, 784]" -> ("f32", ("N", 784))"""
    name, _, dims = text.partition("[")
    shape = []
    for d in dims.rstrip("]").split(","):
        d = d.strip()
        if d:
            shape.append(int(d) if d.lstrip("-").isdigit() else d)
    return name.strip(), tuple(shape)


def _check(ctx, status, what):
    if status != 0:
        raise _errors.from_context(lib, ctx, what)


class _Handles:
    """What a Model owns in C, freed when the Model goes (whatever of it exists by then)."""

    def __init__(self):
        self.ctx = lib.slimc_context_new()
        self.model = ctypes.c_void_p()
        self.saveable = ctypes.c_void_p()  # slimc.compress's model, not optimized
        self.exec = ctypes.c_void_p()
        self.tmpdir = None

    def free(self):
        if self.exec:
            lib.slimc_exec_free(self.exec)
        for m in (self.model, self.saveable):
            if m:
                lib.slimc_model_free(m)
        lib.slimc_context_free(self.ctx)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _quote(value, what):
    s = os.fspath(value)
    if '"' in s or "\\" in s or "\n" in s:
        raise ValueError("slimc: %s %r: a path with a quote, backslash or newline cannot be "
                         "passed to a pass" % (what, s))
    return '"%s"' % s


def _percent(x):
    return "%g%%" % (x * 100) if isinstance(x, float) and x < 1 else str(x)


class _Holder:
    """Keeps temporary files (arrays given as calibration data, a compressed model) for
    the life of a Model."""

    def __init__(self, handles):
        self.h = handles

    def path(self, name):
        if self.h.tmpdir is None:
            self.h.tmpdir = tempfile.mkdtemp(prefix="slimc-")
        return os.path.join(self.h.tmpdir, name)

    def data(self, value, name):
        """A path for value: a path as it is, an array saved as .npy, a dict of arrays (one
        per model input, by name) saved as .npz (np.savez: stored, which slimc reads)."""
        if isinstance(value, (str, os.PathLike)):
            return _quote(value, name)
        if isinstance(value, dict):
            path = self.path(name + ".npz")
            np.savez(path, **{str(k): np.asarray(v) for k, v in value.items()})
            return _quote(path, name)
        path = self.path(name + ".npy")
        np.save(path, np.asarray(value))
        return _quote(path, name)


def _compress_passes(holder, quantize=None, prune=None, calibrate=None, max_drop=None,
                     validate=None, labels=None):
    """The pipeline slimc_model_compress runs for these arguments (docs/passes.md)."""
    steps = []
    if prune is not None:
        steps.append("prune(amount=%s)" % _percent(prune) if isinstance(prune, (int, float))
                     else "prune(%s)" % prune)
    if quantize is not None:
        if quantize.startswith("quantize("):
            steps.append(quantize)
        else:
            args = [quantize]
            if calibrate is not None:
                args.append("calibrate=" + holder.data(calibrate, "calibrate"))
            elif quantize == "int8":
                args.append("dynamic")
            if max_drop is not None:
                args.append("max_drop=" + _percent(max_drop))
            if validate is not None:
                args.append("validate=" + holder.data(validate, "validate"))
            if labels is not None:
                args.append("labels=" + holder.data(labels, "labels"))
            steps.append("quantize(%s)" % ", ".join(args))
    elif calibrate is not None or max_drop is not None:
        raise ValueError("slimc: calibrate= and max_drop= go with quantize=")
    return ",".join(steps) or None


class Model:
    """A compiled model. m(x, ...) runs it on arrays given in input order and returns the
    output (a tuple of outputs when there are several); m.run({"x": x}) returns a dict."""

    def __init__(self, source, *, passes=None, quantize=None, calibrate=None, max_drop=None,
                 prune=None, threads=None, device="cpu", name=None, max_memory=None,
                 cache_dir=None, device_profile=None, _compressed=False):
        if device not in DEVICES:
            raise ValueError("slimc: device must be one of %s, not %r" % (sorted(DEVICES), device))
        h = self._h = _Handles()
        weakref.finalize(self, h.free)
        self._ctx = h.ctx
        self._holder = _Holder(h)
        self._lock = threading.Lock()
        if max_memory is not None:
            lib.slimc_set_max_memory(self._ctx, int(max_memory))
        self._load(source, name)
        o = Options()
        lib.slimc_options_default(ctypes.byref(o))
        self._cache_dir = os.fsencode(cache_dir) if cache_dir else None
        o.cache_dir = self._cache_dir
        self._device_profile = os.fsencode(device_profile) if device_profile else None
        o.device_profile = self._device_profile
        compress = _compress_passes(self._holder, quantize, prune, calibrate, max_drop)
        if compress or _compressed:
            _check(self._ctx, lib.slimc_model_compress_with(
                self._ctx, h.model, compress.encode() if compress else None, ctypes.byref(o)),
                "compress")
            if _compressed:  # keep this one for save(); run a reloaded copy
                h.saveable, h.model = h.model, ctypes.c_void_p()
                tmp = self._holder.path("model.slim")
                self._save(h.saveable, tmp, False)
                self._load(tmp, None)
        if threads is not None:
            o.threads = int(threads)
        o.device = DEVICES[device]
        self._passes = passes.encode() if passes else None
        o.passes = self._passes
        _check(self._ctx, lib.slimc_model_optimize(self._ctx, h.model, ctypes.byref(o)),
               "optimize")
        _check(self._ctx, lib.slimc_compile(self._ctx, h.model, ctypes.byref(o),
                                            ctypes.byref(h.exec)), "compile")
        self._model, self._exec = h.model, h.exec
        self._describe()

    # ---- loading and describing ----

    def _load(self, source, name):
        if hasattr(source, "SerializeToString"):  # an onnx.ModelProto
            source = source.SerializeToString()
            name = name or "model.onnx"
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            st = lib.slimc_model_load_memory(self._ctx, data, len(data),
                                             os.fsencode(name) if name else None,
                                             ctypes.byref(self._h.model))
        else:
            st = lib.slimc_model_load(self._ctx, os.fsencode(source), ctypes.byref(self._h.model))
        _check(self._ctx, st, "load")

    def _describe(self):
        m = self._model
        self.name = lib.slimc_model_name(m).decode("utf-8", "replace")
        self.inputs, self.outputs = [], []
        for ports, count, get_name, get_type in (
                (self.inputs, lib.slimc_model_num_inputs, lib.slimc_model_input_name,
                 lib.slimc_model_input_type),
                (self.outputs, lib.slimc_model_num_outputs, lib.slimc_model_output_name,
                 lib.slimc_model_output_type)):
            for i in range(count(m)):
                text = get_type(m, i).decode("utf-8", "replace")
                dt, shape = _parse_type(text)
                code = _SLIMC_OF_NAME.get(dt)
                ports.append(Port(get_name(m, i).decode("utf-8", "replace"),
                                  _NP_OF_SLIMC.get(code), shape, text))
        self.device = lib.slimc_exec_device(self._exec).decode()
        self._names = [p.name for p in self.inputs]
        self._want = [p.dtype for p in self.inputs]
        self._in = (Tensor * max(1, len(self.inputs)))()
        self._in_t = [self._in[i] for i in range(len(self.inputs))]  # views, made once
        self._out = (Tensor * max(1, len(self.outputs)))()
        # The fast path (_run_into): output buffers of the caller's (numpy's) memory, the
        # output tensors' dtype and shape filled in for the last input shapes (_plan_key).
        self._into = (Tensor * max(1, len(self.outputs)))()
        self._into_t = [self._into[k] for k in range(len(self.outputs))]
        self._n_in, self._n_out = len(self.inputs), len(self.outputs)
        self._plan = None  # [(shape, numpy dtype)] of each output at the key's inputs
        self._set_key(None)  # ((shape, dtype) of each input) the plan is for
        # slimc_exec_run_into with its arguments made once: a call converts nothing
        self._c_run_into = lib["slimc_exec_run_into"]  # a function object of its own
        self._c_run_into.restype, self._c_run_into.argtypes = ctypes.c_int, None
        self._into_args = (ctypes.c_void_p(self._ctx), self._exec, ctypes.byref(self._in),
                           ctypes.c_int(self._n_in), ctypes.byref(self._into),
                           ctypes.c_int(self._n_out))

    def __repr__(self):
        return "<slimc.Model %s (%s) -> (%s) on %s>" % (
            self.name, ", ".join("%s: %s" % (p.name, p.type) for p in self.inputs),
            ", ".join(p.type for p in self.outputs), self.device)

    # ---- running ----

    def _fill(self, i, x):
        """Points input tensor i at x's data (no copy when x is a C-contiguous array of
        the dtype the model takes); returns the array that must live through the call."""
        want = self._want[i]
        if type(x) is not np.ndarray or x.dtype != want or not x.flags.c_contiguous:
            x = self._convert(i, x)
        t = self._in_t[i]
        t.dtype = _SLIMC_OF_NP[x.dtype]
        nd = t.ndim = x.ndim
        if nd > MAX_RANK:
            raise _errors.ShapeError("input '%s': rank %d is over slimc's limit of %d"
                                     % (self._names[i], nd, MAX_RANK), "shape")
        t.shape[:nd] = x.shape
        try:  # the cheapest way to the address; read-only and empty arrays take the other
            t.data = _addressof(_c_char.from_buffer(x))
        except (TypeError, ValueError):
            t.data = x.ctypes.data
        t.nbytes = x.nbytes
        return x

    def _convert(self, i, x):
        name, want = self._names[i], self._want[i]
        x = np.asarray(x)
        if want is not None and x.dtype != want:
            # floats to the model's float type; ints to its int type when no value changes
            if x.dtype.kind == want.kind or np.can_cast(x.dtype, want, "same_kind") or (
                    x.dtype.kind in "iub" and want.kind in "iu" and
                    (x.size == 0 or (x.min() >= np.iinfo(want).min and
                                     x.max() <= np.iinfo(want).max))):
                x = x.astype(want)
            else:
                raise _errors.ShapeError(
                    "input '%s': expected %s, got a numpy array of dtype %s (convert it "
                    "with .astype)" % (name, self.inputs[i].type, x.dtype), "shape")
        if x.dtype not in _SLIMC_OF_NP:
            raise _errors.ShapeError("input '%s': numpy dtype %s has no slimc dtype"
                                     % (name, x.dtype), "shape")
        if not x.flags.c_contiguous or not x.dtype.isnative:
            x = np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("="))
        return x

    def _wrap(self, t):
        shape = tuple(t.shape[:t.ndim])
        dt = _NP_OF_SLIMC.get(t.dtype)
        ptr = t.data
        if dt is None:
            lib.slimc_free(ptr)
            raise _errors.Error("an output of dtype code %d has no numpy dtype" % t.dtype)
        if not ptr or t.nbytes == 0:
            lib.slimc_free(ptr)
            return np.empty(shape, dt)
        if t.nbytes <= 4096:  # small: a copy is cheaper than a finalizer
            a = np.frombuffer((ctypes.c_char * t.nbytes).from_address(ptr), dt).reshape(shape)
            a = a.copy()
            lib.slimc_free(ptr)
            return a
        buf = (ctypes.c_char * t.nbytes).from_address(ptr)
        weakref.finalize(buf, lib.slimc_free, ptr)
        return np.frombuffer(buf, dt).reshape(shape)

    # The fast path. A run at new input shapes goes through slimc_exec_run, which
    # allocates the outputs; their shapes and dtypes become the plan, and runs at the same
    # input shapes and dtypes (the plan's key) go through slimc_exec_run_into, into fresh
    # numpy arrays. A valid key also says that self._in holds those shapes and dtypes, so
    # a single-input call only points the input at the new data. Anything that fills
    # self._in otherwise (bench, a failed run) clears the key first.

    def _set_key(self, key):
        self._plan_key = key
        # __call__'s fast path, for one input and one output: (input shape, input dtype,
        # input tensor, output shape, output dtype, output tensor)
        self._fast = None
        if key is not None and self._n_in == 1 and self._n_out == 1:
            (shape, dtype), = key
            (oshape, odtype), = self._plan
            self._fast = (shape, dtype, self._in_t[0], oshape, odtype, self._into_t[0])

    def _set_plan(self, key, outs):
        """Remembers the outputs' shapes and dtypes (outs: the arrays a run at inputs key
        gave) and fills them into the run-into tensors."""
        plan = []
        for t, o in zip(self._into_t, outs):
            if o.dtype not in _SLIMC_OF_NP:
                return
            t.dtype = _SLIMC_OF_NP[o.dtype]
            t.ndim = o.ndim
            t.shape[:o.ndim] = o.shape
            t.nbytes = o.nbytes
            plan.append((o.shape, o.dtype))
        self._plan = plan
        self._set_key(key)

    def _run_into(self):
        """A run into fresh numpy arrays of the plan's shapes (self._in filled at the
        key's shapes). The GIL is released during the C call."""
        outs = []
        for t, (shape, dt) in zip(self._into_t, self._plan):
            o = np.empty(shape, dt)
            try:
                t.data = _addressof(_c_char.from_buffer(o))
            except ValueError:  # an empty array: no bytes to point at
                t.data = None
            outs.append(o)
        if self._c_run_into(*self._into_args) != 0:
            self._set_key(None)
            raise _errors.from_context(lib, self._ctx, "run")
        return outs

    def _run(self, xs):
        n_in, n_out = self._n_in, self._n_out
        if len(xs) != n_in:
            raise TypeError("slimc: model '%s' takes %d input%s (%s), given %d" % (
                self.name, n_in, "" if n_in == 1 else "s", ", ".join(self._names), len(xs)))
        with self._lock:
            plan_key = self._plan_key
            self._set_key(None)
            keep = [self._fill(i, x) for i, x in enumerate(xs)]
            key = tuple([(x.shape, x.dtype) for x in keep])
            if key == plan_key:
                self._set_key(key)
                return self._run_into()
            st = lib.slimc_exec_run(self._ctx, self._exec, self._in, n_in, self._out, n_out)
            del keep
            if st != 0:
                raise _errors.from_context(lib, self._ctx, "run")
            outs = [self._wrap(self._out[k]) for k in range(n_out)]
            self._set_plan(key, outs)
            return outs

    def __call__(self, *xs):
        fast = self._fast
        if fast is not None and len(xs) == 1:  # the fast path, with the least Python
            x = xs[0]
            if (type(x) is np.ndarray and x.shape == fast[0] and x.dtype == fast[1] and
                    x.flags.c_contiguous):
                with self._lock:
                    if self._fast is fast:  # no other thread has changed self._in since
                        try:
                            fast[2].data = _addressof(_c_char.from_buffer(x))
                        except (TypeError, ValueError):  # read-only or empty
                            fast[2].data = x.ctypes.data
                        y = np.empty(fast[3], fast[4])
                        try:
                            fast[5].data = _addressof(_c_char.from_buffer(y))
                        except ValueError:  # empty
                            fast[5].data = None
                        if self._c_run_into(*self._into_args) == 0:
                            return y
                        self._set_key(None)
                        raise _errors.from_context(lib, self._ctx, "run")
        outs = self._run(xs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def run(self, feeds):
        """feeds: {input name: array} (or a list in input order) -> {output name: array}"""
        if isinstance(feeds, dict):
            unknown = set(feeds) - set(self._names)
            missing = [n for n in self._names if n not in feeds]
            if unknown or missing:
                raise KeyError("slimc: model '%s' takes %s; %s" % (
                    self.name, ", ".join(self._names),
                    "unknown: %s" % ", ".join(sorted(unknown)) if unknown
                    else "missing: %s" % ", ".join(missing)))
            feeds = [feeds[n] for n in self._names]
        outs = self._run(list(feeds))
        return {p.name: o for p, o in zip(self.outputs, outs)}

    # ---- measuring and looking inside ----

    def bench(self, *xs, runs=100, warmup=1, duration=0.0, max_runs=0, symbols=1):
        """The statistics of `slimc bench` (SlimcBenchStats) as a dict, on xs (input order)
        or, with none given, on zeros (symbolic sizes set to symbols)."""
        if not xs:
            xs = [np.zeros([d if isinstance(d, int) else symbols for d in p.shape],
                           p.dtype or np.float32) for p in self.inputs]
        o = BenchOptions(warmup=warmup, runs=runs, duration_s=duration, max_runs=max_runs)
        s = BenchStats()
        with self._lock:
            self._set_key(None)  # self._in changes
            keep = [self._fill(i, x) for i, x in enumerate(xs)]
            st = lib.slimc_exec_bench_stats(self._ctx, self._exec, self._in, len(xs),
                                            ctypes.byref(o), ctypes.byref(s))
            del keep
            _check(self._ctx, st, "bench")
        return {name: getattr(s, name) for name, _ in BenchStats._fields_}

    def inspect(self, what=("summary", "memory", "flops", "quant", "sparsity")):
        """slimc inspect as a dict: name, inputs, outputs, weight_bytes and the text of
        each report asked for ("summary", "memory", "flops", "quant", "sparsity", "ir",
        "dot", "kernels")."""
        if isinstance(what, str):
            what = (what,)
        flags = 0
        for w in what:
            if w not in INSPECT:
                raise ValueError("slimc: inspect has no report %r (one of %s)"
                                 % (w, ", ".join(INSPECT)))
            flags |= INSPECT[w]
        out = ctypes.c_void_p()
        with self._lock:
            _check(self._ctx, lib.slimc_model_inspect_json(self._ctx, self._model, flags,
                                                           ctypes.byref(out)), "inspect")
        try:
            return json.loads(ctypes.string_at(out.value).decode("utf-8", "replace"))
        finally:
            lib.slimc_free(out.value)

    # ---- saving (slimc.compress) ----

    def _save(self, model, path, compact):
        info = SaveInfo()
        _check(self._ctx, lib.slimc_model_save_slim_compact(self._ctx, model, os.fsencode(path),
                                                            bool(compact), ctypes.byref(info)),
               "save")
        return info

    def save(self, path, compact=False):
        """Writes the compressed model as path (.slim) and its weights beside it
        (.safetensors), as `slimc compress -o path` does. Only for slimc.compress's models."""
        if not self._h.saveable:
            raise _errors.Error("save() is for the models slimc.compress returns")
        info = self._save(self._h.saveable, path, compact)
        return {"weights_bytes": info.weights_bytes, "saved_bytes": info.saved_bytes,
                "n_compact": info.n_compact}


def compile(model, passes=None, quantize=None, threads=None, device="cpu", **kw):
    """Compiles model — a .slim or .onnx path, ONNX bytes (or .slim text with name=
    "x.slim"), or an onnx.ModelProto — into a Model. passes: a pipeline (docs/passes.md;
    None: the model's compress block and the defaults); quantize: "int8" (with calibrate=
    an array or .npy path for static int8, or for a model of several inputs a dict
    {input name: array} or a .npz path; else dynamic), "int4", "fp16", "bf16", or a
    whole "quantize(...)" step; threads: None for the C API's default; device: "cpu",
    "cuda" or "auto". Also name=, max_memory= (bytes), cache_dir=, calibrate=, max_drop=,
    prune=, device_profile= (a profile-device JSON file: the cost model's choices)."""
    return Model(model, passes=passes, quantize=quantize, threads=threads, device=device, **kw)


def compress(model, quantize=None, prune=None, calibrate=None, max_drop=None, **kw):
    """slimc compress: the model shrunk (prune= a fraction such as 0.5 or prune's own
    arguments; quantize= as in compile, with calibrate= data and max_drop= the accuracy
    budget), compiled, with .save("out.slim") writing it as the CLI's compress -o does."""
    return Model(model, quantize=quantize, prune=prune, calibrate=calibrate,
                 max_drop=max_drop, _compressed=True, **kw)


def from_torch(module, example_inputs, dynamic_shapes=None, input_names=None,
               output_names=None, opset=None, **compile_kwargs):
    """Exports module with torch.onnx.export and compiles the ONNX bytes. example_inputs:
    a tensor or a tuple of tensors; dynamic_shapes: torch.onnx.export's dynamic_axes
    ({"x": {0: "N"}}), or "batch" for a symbolic first axis N on every input and output.
    The rest goes to slimc.compile."""
    try:
        import torch
    except ImportError as e:
        raise ImportError("slimc.from_torch needs PyTorch (pip install torch, or Debian's "
                          "python3-torch); it is not importable here: %s" % e) from None
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    if input_names is None:
        input_names = ["x"] if len(example_inputs) == 1 else [
            "x%d" % i for i in range(len(example_inputs))]
    if output_names is None:
        output_names = ["y"]
    if dynamic_shapes == "batch":
        dynamic_shapes = {n: {0: "N"} for n in list(input_names) + list(output_names)}
    buf = io.BytesIO()
    kwargs = {"opset_version": opset} if opset else {}
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(module, example_inputs, buf, input_names=list(input_names),
                              output_names=list(output_names), dynamic_axes=dynamic_shapes,
                              **kwargs)
    finally:
        module.train(was_training)
    compile_kwargs.setdefault("name", type(module).__name__ + ".onnx")
    return compile(buf.getvalue(), **compile_kwargs)
