"""A labelled sequence set, from arrays laid out as in an npz:

  x_train, x_test            float (N, T, F), or (N, T) meaning F = 1 (uint8 values are read as pixels / 255)
  y_train, y_test            integers 0..K-1, or strings (the classes are then the sorted distinct strings)
  labels                     optional: the K class names (for integer labels)
  lengths_train, lengths_test optional (N,): the first lengths[i] steps of x[i] are the sequence, the rest is
                             ignored (never read, so it may hold anything, NaN included)

Checked before anything is built (one line each: shapes, counts, NaN/inf, labels, lengths); normalised with a rule
derived from the training split only; sequences of unequal length left-padded (spec.PADDING_RULE).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from edgeseq.data.dataset import Dataset
from edgeseq.data.spec import DataSpec, Normalisation, NormKind, standardisation
from edgeseq.core.errors import DataError

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
OPTIONAL = ("labels", "lengths_train", "lengths_test")
SPLITS = ("train", "test")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an npz, never unpickling (an object array is refused in one line)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            missing = [k for k in REQUIRED if k not in names]
            if missing:
                raise DataError(f"{path} lacks the arrays {', '.join(missing)} (expected x_train, y_train, x_test,"
                                " y_test; optional labels, lengths_train, lengths_test)")
            return {k: archive[k] for k in names if k in REQUIRED + OPTIONAL}
    except DataError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower() or "object arrays" in str(err).lower():
            raise DataError(f"{path} holds a pickled (object) array; edgeseq never loads pickles: save plain"
                            " numeric or string arrays") from err
        raise DataError(f"cannot read {path} as .npz: {err}") from err
    except (OSError, zlib.error, EOFError) as err:
        raise DataError(f"cannot read {path} as .npz: {err}") from err
    except Exception as err:  # noqa: BLE001  (zipfile raises BadZipFile and friends)
        raise DataError(f"cannot read {path} as .npz: {type(err).__name__}: {err}") from err


def assemble(name: str, source: str, arrays: dict[str, np.ndarray], hashes: dict[str, str], where: str) -> Dataset:
    """Check the arrays and build the Dataset (normalised, left-padded) with its DataSpec."""
    xs = {s: _sequences(arrays[f"x_{s}"], f"{where}: x_{s}") for s in SPLITS}
    (t_train, f_train), (t_test, f_test) = xs["train"].shape[1:], xs["test"].shape[1:]
    if f_train != f_test:
        raise DataError(f"{where}: x_train has {f_train} features per step but x_test has {f_test}")
    if t_train != t_test:
        raise DataError(f"{where}: x_train has {t_train} timesteps but x_test has {t_test}; pad both to the"
                        " same T and give lengths_train/lengths_test")
    lengths = _lengths(arrays, xs, where)
    for s in SPLITS:
        n_y = np.asarray(arrays[f"y_{s}"]).shape
        if len(n_y) != 1:
            raise DataError(f"{where}: y_{s} has shape {n_y}, expected (N,)")
        if n_y[0] != len(xs[s]):
            raise DataError(f"{where}: {len(xs[s])} {s} sequences but {n_y[0]} labels")
        if len(xs[s]) == 0:
            raise DataError(f"{where}: the {s} split is empty")
        _check_finite(xs[s], lengths[s], f"{where}: x_{s}")
    class_names, y = _classes(arrays, where)
    pixels = all(xs[s].dtype == np.uint8 for s in SPLITS)
    norm = Normalisation(NormKind.PIXELS) if pixels else standardisation(xs["train"], lengths["train"])
    variable = lengths["train"] is not None
    spec = DataSpec(t_train, f_train, class_names, norm, variable, mnist=False, unit="sequence")
    x = {s: _pad_left(norm.apply(xs[s]), lengths[s]) for s in SPLITS}
    return Dataset(name, source, x["train"], y["train"], x["test"], y["test"], hashes, "", spec,
                   lengths["train"], lengths["test"])


def _sequences(raw: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(raw)
    if x.dtype == object or not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{what} has dtype {x.dtype}, expected real numbers (float or integer)")
    if x.ndim == 2:
        x = x[:, :, np.newaxis]
    if x.ndim != 3:
        raise DataError(f"{what} has shape {x.shape}, expected (N, T, F) or (N, T)")
    if x.shape[1] == 0 or x.shape[2] == 0:
        raise DataError(f"{what} has shape {x.shape}: T and F must be at least 1")
    return x


def _lengths(arrays: dict[str, np.ndarray], xs: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray | None]:
    given = [s for s in SPLITS if f"lengths_{s}" in arrays]
    if not given:
        return {s: None for s in SPLITS}
    if len(given) == 1:
        raise DataError(f"{where}: lengths_{given[0]} is given without lengths_{'test' if given[0] == 'train' else 'train'}")
    out: dict[str, np.ndarray | None] = {}
    for s in SPLITS:
        raw = np.asarray(arrays[f"lengths_{s}"])
        t = xs[s].shape[1]
        if raw.ndim != 1 or len(raw) != len(xs[s]):
            raise DataError(f"{where}: lengths_{s} has shape {raw.shape}, expected ({len(xs[s])},)")
        if not np.issubdtype(raw.dtype, np.integer):
            raise DataError(f"{where}: lengths_{s} has dtype {raw.dtype}, expected integers")
        if raw.size and (raw.min() < 1 or raw.max() > t):
            raise DataError(f"{where}: lengths_{s} must be within 1..T={t} (min {raw.min()}, max {raw.max()})")
        out[s] = raw.astype(np.int64)
    return out


def _check_finite(x: np.ndarray, lengths: np.ndarray | None, what: str) -> None:
    if not np.issubdtype(x.dtype, np.floating):
        return
    real = x if lengths is None else x[np.arange(x.shape[1])[None, :] < lengths[:, None]]
    bad = ~np.isfinite(real)
    if bad.any():
        raise DataError(f"{what} contains {int(bad.sum())} NaN or infinite value(s) within the sequences")


def _classes(arrays: dict[str, np.ndarray], where: str) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """The class names and the integer labels of both splits."""
    y = {s: np.asarray(arrays[f"y_{s}"]) for s in SPLITS}
    names = np.asarray(arrays["labels"]) if "labels" in arrays else None
    if names is not None and (names.ndim != 1 or names.dtype.kind not in "UiuS"):
        raise DataError(f"{where}: labels must be a 1-D array of class names")
    kinds = {y[s].dtype.kind for s in SPLITS}
    if kinds <= {"U", "S"}:
        classes = sorted({str(v) for v in y["train"].tolist()})
        if names is not None and sorted(str(v) for v in names.tolist()) != classes:
            raise DataError(f"{where}: labels {names.tolist()[:12]} are not the training split's classes {classes[:12]}")
        order = [str(v) for v in names.tolist()] if names is not None else classes
        index = {c: i for i, c in enumerate(order)}
        out = {}
        for s in SPLITS:
            unseen = sorted({str(v) for v in y[s].tolist()} - set(index))
            if unseen:
                raise DataError(f"{where}: y_{s} holds class(es) {unseen[:5]} not seen in the training split")
            out[s] = np.array([index[str(v)] for v in y[s].tolist()], np.int64)
    elif kinds <= {"i", "u", "f", "b"}:
        out = {}
        for s in SPLITS:
            v = y[s]
            if v.dtype.kind == "f" and (not np.all(np.isfinite(v)) or not np.all(v == np.round(v))):
                raise DataError(f"{where}: y_{s} holds non-integer labels")
            out[s] = v.astype(np.int64)
            if out[s].size and out[s].min() < 0:
                raise DataError(f"{where}: y_{s} holds negative labels (min {out[s].min()})")
        k = int(out["train"].max()) + 1 if names is None else len(names)
        for s in SPLITS:
            if out[s].size and out[s].max() >= k:
                raise DataError(f"{where}: y_{s} holds label {out[s].max()}, out of range 0..{k - 1}")
        missing = sorted(set(range(k)) - set(out["train"].tolist()))
        if missing:
            raise DataError(f"{where}: class(es) {missing[:5]} of 0..{k - 1} have no training sample")
        order = [str(v) for v in names.tolist()] if names is not None else [str(i) for i in range(k)]
        if len(set(order)) != len(order):
            raise DataError(f"{where}: labels has duplicate class names")
    else:
        raise DataError(f"{where}: labels have dtype {y['train'].dtype}/{y['test'].dtype}; expected integers or strings")
    if len(order) < 2:
        raise DataError(f"{where}: the training split holds a single class ({order[0]!r}); a classifier needs two")
    return tuple(order), out


def _pad_left(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """Move each sequence's first `length` steps to the end of its row and zero the rest (spec.PADDING_RULE)."""
    x = x.astype(np.float32)
    if lengths is None:
        return np.ascontiguousarray(x)
    out = np.zeros_like(x)
    t = x.shape[1]
    for i, n in enumerate(lengths.tolist()):
        out[i, t - n:] = x[i, :n]
    return out
