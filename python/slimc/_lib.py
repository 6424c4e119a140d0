"""libslimc.so through ctypes: finding it, the public structs of include/slimc/slimc.h
mirrored field for field (checked against slimc_sizeof), and each function's signature.

Calls through ctypes.CDLL release the GIL for their whole duration, so a model running in
one Python thread does not stop another thread (or another model) from running."""

import ctypes
import os

_here = os.path.dirname(os.path.abspath(__file__))


def _find_library():
    """$SLIMC_LIBRARY (an in-tree build's build/libslimc.so), else the libslimc.so that
    `pip install .` put beside this file."""
    env = os.environ.get("SLIMC_LIBRARY")
    if env:
        return env
    path = os.path.join(_here, "libslimc.so")
    if os.path.exists(path):
        return path
    raise ImportError(
        "slimc: libslimc.so not found beside %s; install the package with "
        "`python3 -m pip install .`, or set SLIMC_LIBRARY to a built libslimc.so" % _here)


lib = ctypes.CDLL(_find_library())

MAX_RANK = 8
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
c_int = ctypes.c_int


class Tensor(ctypes.Structure):
    _fields_ = [("dtype", c_int), ("ndim", c_int), ("shape", ctypes.c_int64 * MAX_RANK),
                ("data", c_void_p), ("nbytes", ctypes.c_size_t)]


class Options(ctypes.Structure):
    _fields_ = [("threads", c_int), ("passes", c_char_p), ("print_after", c_char_p),
                ("print_to", c_void_p), ("opt_level", c_int), ("cpu", c_char_p),
                ("cc", c_char_p), ("cache_dir", c_char_p), ("no_cache", ctypes.c_bool),
                ("profile", ctypes.c_bool), ("device", c_int), ("cuda_emulate", ctypes.c_bool),
                ("precision", c_int), ("device_profile", c_char_p), ("quantize", c_char_p)]


class BenchOptions(ctypes.Structure):
    _fields_ = [("warmup", c_int), ("runs", c_int), ("duration_s", ctypes.c_double),
                ("max_runs", c_int)]


class BenchStats(ctypes.Structure):
    _fields_ = [("runs", c_int), ("warmup", c_int)] + [
        (n, ctypes.c_double) for n in ("total_ms", "min_ms", "max_ms", "mean_ms", "std_ms",
                                       "p50_ms", "p90_ms", "p99_ms", "inferences_per_s",
                                       "gpu_median_ms")]


class SaveInfo(ctypes.Structure):
    _fields_ = [("weights_bytes", ctypes.c_uint64), ("saved_bytes", ctypes.c_uint64),
                ("n_compact", c_int)]


# SlimcDevice, SlimcErrorKind and the SLIMC_INSPECT_ flags
DEVICES = {"cpu": 0, "cuda": 1, "auto": 2}
PRECISIONS = {"fp32": 0, "fp16": 1, "bf16": 2}
ERROR_KINDS = ["none", "parse", "shape", "unsupported", "io", "limit", "other"]
INSPECT = {"summary": 1 << 0, "ir": 1 << 1, "dot": 1 << 2, "memory": 1 << 3, "flops": 1 << 4,
           "quant": 1 << 5, "kernels": 1 << 6, "sparsity": 1 << 7}

P = c_void_p  # SlimcContext *, SlimcModel *, SlimcExec *
_signatures = {
    "slimc_version": (c_char_p, []),
    "slimc_sizeof": (ctypes.c_size_t, [c_char_p]),
    "slimc_options_default": (None, [ctypes.POINTER(Options)]),
    "slimc_context_new": (P, []),
    "slimc_context_free": (None, [P]),
    "slimc_error": (c_char_p, [P]),
    "slimc_messages": (c_char_p, [P]),
    "slimc_clear_messages": (None, [P]),
    "slimc_error_kind": (c_int, [P]),
    "slimc_set_max_memory": (None, [P, ctypes.c_uint64]),
    "slimc_model_load": (c_int, [P, c_char_p, ctypes.POINTER(P)]),
    "slimc_model_load_memory": (c_int, [P, c_char_p, ctypes.c_size_t, c_char_p,
                                        ctypes.POINTER(P)]),
    "slimc_model_free": (None, [P]),
    "slimc_model_name": (c_char_p, [P]),
    "slimc_model_num_inputs": (c_int, [P]),
    "slimc_model_num_outputs": (c_int, [P]),
    "slimc_model_input_name": (c_char_p, [P, c_int]),
    "slimc_model_output_name": (c_char_p, [P, c_int]),
    "slimc_model_input_type": (c_char_p, [P, c_int]),
    "slimc_model_output_type": (c_char_p, [P, c_int]),
    "slimc_model_optimize": (c_int, [P, P, ctypes.POINTER(Options)]),
    "slimc_model_compress": (c_int, [P, P, c_char_p]),
    "slimc_model_compress_with": (c_int, [P, P, c_char_p, ctypes.POINTER(Options)]),
    "slimc_model_save_slim_compact": (c_int, [P, P, c_char_p, ctypes.c_bool,
                                              ctypes.POINTER(SaveInfo)]),
    "slimc_model_inspect_json": (c_int, [P, P, ctypes.c_uint, ctypes.POINTER(c_void_p)]),
    "slimc_free": (None, [c_void_p]),
    "slimc_compile": (c_int, [P, P, ctypes.POINTER(Options), ctypes.POINTER(P)]),
    "slimc_exec_free": (None, [P]),
    "slimc_exec_device": (c_char_p, [P]),
    "slimc_exec_run": (c_int, [P, P, ctypes.POINTER(Tensor), c_int, ctypes.POINTER(Tensor),
                               c_int]),
    "slimc_exec_run_into": (c_int, [P, P, ctypes.POINTER(Tensor), c_int, ctypes.POINTER(Tensor),
                                    c_int]),
    "slimc_exec_bench_stats": (c_int, [P, P, ctypes.POINTER(Tensor), c_int,
                                       ctypes.POINTER(BenchOptions), ctypes.POINTER(BenchStats)]),
}
for _name, (_res, _args) in _signatures.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args

for _struct, _cname in ((Tensor, b"SlimcTensor"), (Options, b"SlimcOptions"),
                        (BenchOptions, b"SlimcBenchOptions"), (BenchStats, b"SlimcBenchStats")):
    _size = lib.slimc_sizeof(_cname)
    if _size != ctypes.sizeof(_struct):
        raise ImportError("slimc: %s is %d bytes in %s but %d in python/slimc/_lib.py: the "
                          "library and the package differ" % (_cname.decode(), _size,
                                                               lib._name, ctypes.sizeof(_struct)))
