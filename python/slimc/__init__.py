"""slimc from Python: compile a .slim model, an ONNX file or a PyTorch module, and run it
on numpy arrays. A thin layer over libslimc's C API (include/slimc/slimc.h) through
ctypes; docs/python.md is the guide.

    import slimc
    m = slimc.compile("model.onnx")          # or .slim, or ONNX bytes
    y = m(x)                                 # numpy in, numpy out
"""

from ._errors import (Error, ParseError, ShapeError, UnsupportedOpError, FileError, LimitError)
from ._model import Model, Port, compile, compress, from_torch
from ._train import train, distill
from . import _lib

__version__ = _lib.lib.slimc_version().decode()

__all__ = ["compile", "compress", "from_torch", "train", "distill", "Model", "Port", "Error", "ParseError",
           "ShapeError", "UnsupportedOpError", "FileError", "LimitError", "__version__"]
