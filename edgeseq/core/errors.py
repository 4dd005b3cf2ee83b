"""Domain errors. The CLI turns every EdgeseqError into one line on stderr and exit 1."""

from typing import Any


class EdgeseqError(Exception):
    """Base class of every error a user can cause or fix."""


def shown(value: Any) -> str:
    """A value (a path, a name, a message) as one line: control characters (a newline, NUL, ...) escaped as
    Python does in a repr, anything else as it is. Every path a message prints goes through it, here or in the
    CLI's one error line."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def os_error_line(err: OSError) -> str:
    """An OSError about a path as one line naming the cause and the path (a name too long, no permission)."""
    cause = err.strerror or type(err).__name__
    if err.filename is None:
        return shown(str(err).strip() or cause)
    name = str(err.filename)
    shortened = name if len(name) <= 120 else f"{name[:60]}…{name[-40:]} ({len(name)} characters)"
    return f"{cause}: {shown(shortened)}"


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


class OptionError(EdgeseqError):
    """Options that do not go together, or an option's value that does not fit the others: the CLI makes it a
    usage error (exit 2), naming `option` where one is to blame."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option
