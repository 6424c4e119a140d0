"""The exceptions: one class per SlimcErrorKind (slimc_error_kind), each carrying the
message the CLI prints — `file:line:col: error: ...`, the source line and a caret."""


class Error(Exception):
    """A mistake in the model, the inputs or the options. str(e) is the CLI's message;
    e.kind is slimc_error_kind's name ("parse", "shape", ...)."""

    kind = "other"

    def __init__(self, message, kind=None):
        super().__init__(message)
        self.message = message
        if kind:
            self.kind = kind


class ParseError(Error):
    """Syntax, unknown names or bad arguments in a .slim file; a malformed ONNX file."""
    kind = "parse"


class ShapeError(Error, ValueError):
    """Shapes, ranks or dtypes that do not fit: the model's, or the inputs given to it."""
    kind = "shape"


class UnsupportedOpError(Error):
    """An ONNX op, opset, dtype or form that slimc does not import."""
    kind = "unsupported"


class FileError(Error, OSError):
    """A file that cannot be opened, read or written."""
    kind = "io"


class LimitError(Error):
    """The memory limit (max_memory=), or a size or count over slimc's limits."""
    kind = "limit"


BY_KIND = {"parse": ParseError, "shape": ShapeError, "unsupported": UnsupportedOpError,
           "io": FileError, "limit": LimitError}


def from_context(lib, ctx, what):
    """The exception for the error on ctx (after a call that failed), its messages cleared."""
    from ._lib import ERROR_KINDS
    text = (lib.slimc_error(ctx) or b"").decode("utf-8", "replace").rstrip("\n")
    k = lib.slimc_error_kind(ctx)
    kind = ERROR_KINDS[k] if 0 <= k < len(ERROR_KINDS) else "other"
    lib.slimc_clear_messages(ctx)
    return BY_KIND.get(kind, Error)(text or "%s failed" % what, kind)
