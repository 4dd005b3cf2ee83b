"""Domain errors. The CLI turns every EdgeseqError into one line on stderr and exit 1."""


class EdgeseqError(Exception):
    """Base class of every error a user can cause or fix."""


def first_line(err: BaseException) -> str:
    """An exception's first non-empty line of text, or its type name: what a one-line message quotes."""
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


class DataError(EdgeseqError):
    """Missing, unreadable or malformed data."""


class ModelError(EdgeseqError):
    """Missing, corrupt or unexpected model file."""


class ExportError(EdgeseqError):
    """A conversion that could not be done."""


class RuntimeUnavailable(EdgeseqError):
    """A runtime (or TensorFlow) that is not installed or cannot load a file."""


class IntegrityError(EdgeseqError):
    """A file that does not match its manifest."""


class OutputError(EdgeseqError):
    """An output location that cannot be written."""


class ParityError(EdgeseqError):
    """An exported file outside its tolerance."""
