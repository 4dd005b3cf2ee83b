"""Domain errors. The CLI turns every EdgeseqError into one line on stderr and exit 1."""

import re
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


# lines that say where, not what: a source location, an assertion's text, a framework's wrapper, a traceback
_WHERE = re.compile(r"^(Exception from \S+:\d+:?$|Check '.*' failed at \S+:\d+:?$|FrontEnd API failed with \w+:?$"
                    r"|Traceback \(most recent call last\):$|File \".*\", line \d+|Summary:?$)")
# words of a line that names a cause (preferred over a first line that names none, e.g. a warning)
_CAUSE = re.compile(r"error|fail|not supported|unsupported|does not|doesn't|not match|mismatch|cannot|can't|invalid"
                    r"|missing|unknown|didn't find|not found|expected|!=", re.IGNORECASE)
_FILLER = re.compile(r"^[-*>•\s]+|\s+with a message$")


def cause_line(err: BaseException | str, limit: int = 200) -> str:
    """The line of a (multi-line) error message that names the cause, as one readable line of at most `limit`
    characters: not a preamble (a line ending with ':', such as OpenVINO's 'Failed operations detailed log:') nor
    a location header ('Exception from src/...:84:'), but the first other line, preferring one that names a
    cause (error, failed, does not match, ...); the preambles before it lead it where they fit, first sentence
    only ("Model wasn't fully converted: Loop-17: The provided loop body graph ... does not match ... (9)")."""
    text = str(err)
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if not lines:
        return _cut(type(err).__name__ if isinstance(err, BaseException) else "", limit)
    kept = [line for line in lines if not _WHERE.match(line)] or lines
    statements = [i for i, line in enumerate(kept) if not line.endswith(":")]
    if not statements:
        return _cut(_FILLER.sub("", kept[0].rstrip(":")), limit)
    at = next((i for i in statements if _CAUSE.search(kept[i])), statements[0])
    cause, lead = kept[at], []
    for line in kept[:at]:
        if not line.endswith(":"):
            continue
        said = _FILLER.sub("", line.rstrip(":").split(". ")[0]).strip()
        if said and len(": ".join([*lead, said, cause])) <= limit:
            lead.append(said)
    return _cut(": ".join([*lead, cause]), limit)


def _cut(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


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
