"""slimc.train and slimc.distill: the C API's slimc_train (docs/training.md) from Python,
with the progress line the CLI draws (on stderr) when progress=True."""

import ctypes
import os
import shutil
import sys
import tempfile

import numpy as np

from . import _errors
from ._lib import lib, Options, c_char_p, c_int, c_void_p

_OPTIMIZERS = {"sgd": 0, "adam": 1, "adamw": 2}
_SCHEDULES = {"constant": 0, "step": 1, "cosine": 2}
_d = ctypes.c_double


class TrainOptions(ctypes.Structure):
    _fields_ = [("data", c_char_p), ("labels", c_char_p), ("val_data", c_char_p),
                ("val_labels", c_char_p), ("targets", c_char_p), ("val_targets", c_char_p),
                ("epochs", c_int), ("batch_size", c_int),
                ("shuffle", ctypes.c_bool), ("seed", ctypes.c_uint64), ("optimizer", c_int),
                ("lr", _d), ("momentum", _d), ("nesterov", ctypes.c_bool),
                ("weight_decay", _d), ("beta1", _d), ("beta2", _d), ("eps", _d),
                ("schedule", c_int), ("step_size", c_int), ("gamma", _d), ("t_max", c_int),
                ("eta_min", _d), ("warmup_epochs", c_int), ("warmup_start", _d),
                ("temperature", _d), ("alpha", _d), ("checkpoint_dir", c_char_p),
                ("resume", c_char_p), ("compile", ctypes.POINTER(Options)),
                ("keep_zeros", ctypes.c_bool), ("progress", c_void_p)]


_ready = False
# the SlimcProgressFn type; the C stream calls back into Python (ctypes takes the GIL)
_ProgressFn = ctypes.CFUNCTYPE(None, c_void_p, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t)


def _setup():
    """The signatures, and the struct checked against the library (only when training is
    used: the rest of the package does not depend on this struct)."""
    global _ready
    if _ready:
        return
    size = lib.slimc_sizeof(b"SlimcTrainOptions")
    if size != ctypes.sizeof(TrainOptions):
        raise _errors.Error("SlimcTrainOptions is %d bytes in the library but %d in "
                            "python/slimc/_train.py: the library and the package differ"
                            % (size, ctypes.sizeof(TrainOptions)))
    P = c_void_p
    for name, res, args in (
            ("slimc_train_options_default", None, [ctypes.POINTER(TrainOptions)]),
            ("slimc_model_load_for_training", c_int, [P, c_char_p, ctypes.c_uint64,
                                                      ctypes.POINTER(P)]),
            ("slimc_train", c_int, [P, P, P, ctypes.POINTER(TrainOptions), c_char_p]),
            ("slimc_progress_stream", c_void_p, [_ProgressFn, c_void_p])):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    _ready = True


def _stderr_file():
    """A C FILE * on a copy of this process's stderr (the CLI's progress goes there)."""
    libc = ctypes.CDLL(None)
    libc.fdopen.restype = c_void_p
    libc.fdopen.argtypes = [c_int, c_char_p]
    libc.fclose.argtypes = [c_void_p]
    sys.stderr.flush()
    fd = os.dup(2)
    f = libc.fdopen(fd, b"w")
    if not f:
        os.close(fd)
        return None, None
    return f, libc.fclose


def train(model, data, labels=None, out=None, *, teacher=None, epochs=1, batch_size=64,
          lr=1e-3, optimizer="adam", momentum=0.0, weight_decay=None, schedule="constant",
          seed=0, shuffle=True, val_data=None, val_labels=None, temperature=4.0, alpha=0.7,
          threads=None, checkpoint_dir=None, resume=None, progress=True, targets=None,
          val_targets=None):
    """Trains the .slim model at `model` (with no weights line: PyTorch's initialisation,
    seeded) on data [N, ...] f32 and labels [N] class indices (arrays or .npy paths) and
    writes its weights, under the state_dict names, to out (default: a temporary folder's
    weights.safetensors). Regression instead: targets [N, ...] f32 (each of the model
    output's shape) in place of labels, with the mean squared error as the loss, and
    val_targets with val_data for the validation MSE after each epoch. With a teacher (a
    path), the distillation loss (temperature, alpha). progress=True draws the CLI's progress line on stderr; a callable gets each of
    its lines as a str (through slimc_progress_stream). Returns out."""
    _setup()
    ctx = lib.slimc_context_new()
    tmp = tempfile.mkdtemp(prefix="slimc-train-")
    student, teach = c_void_p(), c_void_p()
    fclose, f = None, None
    try:
        def npy(value, name):
            if value is None:
                return None
            if isinstance(value, (str, os.PathLike)):
                return os.fsencode(value)
            path = os.path.join(tmp, name + ".npy")
            np.save(path, np.asarray(value))
            return os.fsencode(path)

        o = TrainOptions()
        lib.slimc_train_options_default(ctypes.byref(o))
        keep = [npy(data, "data"), npy(labels, "labels"), npy(val_data, "val_data"),
                npy(val_labels, "val_labels"), npy(targets, "targets"),
                npy(val_targets, "val_targets")]
        o.data, o.labels, o.val_data, o.val_labels, o.targets, o.val_targets = keep
        o.epochs, o.batch_size, o.lr, o.seed, o.shuffle = epochs, batch_size, lr, seed, shuffle
        if optimizer not in _OPTIMIZERS or schedule not in _SCHEDULES:
            raise ValueError("slimc: optimizer is one of %s, schedule one of %s"
                             % (sorted(_OPTIMIZERS), sorted(_SCHEDULES)))
        o.optimizer, o.schedule, o.momentum = _OPTIMIZERS[optimizer], _SCHEDULES[schedule], momentum
        if weight_decay is not None:
            o.weight_decay = weight_decay
        o.temperature, o.alpha = temperature, alpha
        ckpt = os.fsencode(checkpoint_dir) if checkpoint_dir else None
        res = os.fsencode(resume) if resume else None
        o.checkpoint_dir, o.resume = ckpt, res
        co = Options()
        lib.slimc_options_default(ctypes.byref(co))
        if threads is not None:
            co.threads = int(threads)
        o.compile = ctypes.pointer(co)
        if callable(progress):  # each line (or redraw) of the CLI's progress, as a str
            def relay(_arg, text, n):
                progress(ctypes.string_at(text, n).decode("utf-8", "replace"))
            callback = _ProgressFn(relay)  # referenced until the call returns
            f = lib.slimc_progress_stream(callback, None)
            fclose = ctypes.CDLL(None).fclose
            fclose.argtypes = [c_void_p]
            o.progress = f
        elif progress:
            f, fclose = _stderr_file()
            o.progress = f
        st = lib.slimc_model_load_for_training(ctx, os.fsencode(model), seed,
                                               ctypes.byref(student))
        if st != 0:
            raise _errors.from_context(lib, ctx, "load")
        if teacher is not None:
            if lib.slimc_model_load(ctx, os.fsencode(teacher), ctypes.byref(teach)) != 0:
                raise _errors.from_context(lib, ctx, "load")
        if out is None:
            out = os.path.join(tempfile.mkdtemp(prefix="slimc-trained-"), "weights.safetensors")
        if lib.slimc_train(ctx, student, teach, ctypes.byref(o), os.fsencode(out)) != 0:
            raise _errors.from_context(lib, ctx, "train")
        return os.fspath(out)
    finally:
        if f:
            fclose(f)
        for m in (student, teach):
            if m:
                lib.slimc_model_free(m)
        lib.slimc_context_free(ctx)
        shutil.rmtree(tmp, ignore_errors=True)


def distill(teacher, student, data, labels=None, out=None, **kw):
    """train(student, data, labels, out, teacher=teacher, **kw): Hinton's distillation loss
    against the teacher's outputs (labels optional)."""
    return train(student, data, labels, out, teacher=teacher, **kw)
