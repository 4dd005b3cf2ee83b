"""Golden outputs: the reference model's probabilities on a fixed, named set of test digits from the
shipped sample, stored beside the exported files (`<arch>.golden.npz`, its sha256 in every manifest).

They let `validate` judge a file copied alone to a device, where there is no .keras model, no TensorFlow
and no fp32 file: the file runs on the same digits, read from the sample inside the installed package,
and is compared with the stored probabilities. No TensorFlow is imported here.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import data
from edgeseq.errors import IntegrityError
from edgeseq.fileio import sha256_file, write_bytes_atomic
from edgeseq.layout import shown

DIGITS = 1000                   # the whole test split of the shipped sample (stratified: 100 per class)
FORMAT_VERSION = 1


def digits_name(count: int = DIGITS) -> str:
    return f"the first {count} test digits of the shipped sample (edgeseq/sample/mnist-sample.npz)"


def golden_digits(count: int = DIGITS) -> data.Dataset:
    """The digits golden outputs are computed and checked on: the sample's first `count` test digits."""
    sample = data.load("sample")
    subset = sample.limited(test=count)
    return data.Dataset("golden", digits_name(len(subset.y_test)), subset.x_train[:0], subset.y_train[:0],
                        subset.x_test, subset.y_test, sample.sha256)


@dataclass(frozen=True)
class Golden:
    probabilities: np.ndarray = field(repr=False)   # (N, 10) float32, the reference model's output
    labels: np.ndarray = field(repr=False)          # (N,) the digits' true classes
    info: dict[str, Any]                            # reference {name, sha256}, digits, sample sha256

    @property
    def count(self) -> int:
        return int(len(self.labels))

    def dataset(self) -> data.Dataset:
        """The digits these outputs belong to, from the installed sample; an error if that sample differs."""
        digits = golden_digits(self.count)
        if digits.sha256 != self.info.get("sample_sha256"):
            raise IntegrityError("the golden outputs were computed on another version of the shipped sample;"
                                 " re-export, or validate against the model (--reference)")
        if not np.array_equal(digits.y_test, self.labels):
            raise IntegrityError("the golden outputs' labels differ from the shipped sample's digits")
        return digits


def encode(probabilities: np.ndarray, labels: np.ndarray, reference: dict[str, Any],
           sample_sha256: dict[str, str]) -> bytes:
    """The sidecar's bytes (deterministic for the same inputs: no timestamps)."""
    info = {"format_version": FORMAT_VERSION, "reference": reference, "digits": digits_name(len(labels)),
            "count": int(len(labels)), "sample_sha256": sample_sha256}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, probabilities=np.asarray(probabilities, np.float32),
                        labels=np.asarray(labels, np.int64), info=np.array(json.dumps(info, sort_keys=True)))
    return buffer.getvalue()


def write(path: Path, probabilities: np.ndarray, labels: np.ndarray, reference: dict[str, Any],
          sample_sha256: dict[str, str]) -> None:
    write_bytes_atomic(path, encode(probabilities, labels, reference, sample_sha256))


def read(path: Path, expected_sha256: str | None = None, expected_count: Any = None) -> Golden:
    """A golden sidecar, checked against the sha256 and digit count its manifest records (a mismatch is an
    integrity error), its declared shapes before any array is read, its figures after."""
    path = Path(path)
    if not path.is_file():
        raise IntegrityError(f"golden outputs {shown(path.name)} not found beside the file")
    if expected_sha256 is not None and sha256_file(path) != expected_sha256:
        raise IntegrityError(f"{shown(path)} does not match the sha256 its manifest records; copy it again or"
                             " re-export")
    try:
        _check_declared(path, expected_count)      # shapes and dtypes from the headers, before reading arrays
        with np.load(path, allow_pickle=False) as archive:
            probabilities, labels = archive["probabilities"], archive["labels"]
            info = json.loads(str(archive["info"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise IntegrityError(f"{shown(path)} is not a golden-outputs file ({type(err).__name__})") from err
    if probabilities.ndim != 2 or probabilities.shape != (len(labels), data.NUM_CLASSES) or not isinstance(info, dict):
        raise IntegrityError(f"{shown(path)}: probabilities of shape {probabilities.shape} for {len(labels)}"
                             " labels")
    if not np.all(np.isfinite(probabilities)) or probabilities.min() < 0 or probabilities.max() > 1 + 1e-3:
        raise IntegrityError(f"golden outputs {shown(path)} hold probabilities that are not finite numbers from 0 to 1"
                             " (NaN, infinity or out of range): the sidecar is damaged; copy it again or re-export")
    if labels.size and (labels.min() < 0 or labels.max() >= data.NUM_CLASSES):
        raise IntegrityError(f"golden outputs {shown(path)} hold labels outside 0..{data.NUM_CLASSES - 1}")
    return Golden(probabilities.astype(np.float32), labels.astype(np.int64), info)


def _check_declared(path: Path, expected_count: Any = None) -> None:
    """The arrays a sidecar declares, read from their .npy headers without reading the arrays: probabilities
    (N, 10) float, labels (N,) integer, with 1 <= N <= DIGITS (the sample's test digits: no sidecar holds more).
    A sidecar declaring 10^9 rows is refused here, before 37 GiB are asked for."""
    declared = {}
    with zipfile.ZipFile(path) as archive:
        for name in ("probabilities", "labels"):
            try:
                member = archive.open(f"{name}.npy")
            except KeyError as err:
                raise IntegrityError(f"{shown(path)} is not a golden-outputs file (no {name} array)") from err
            with member:
                version = np.lib.format.read_magic(member)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(member)
            declared[name] = (tuple(shape), np.dtype(dtype))
    (p_shape, p_dtype), (l_shape, l_dtype) = declared["probabilities"], declared["labels"]
    if len(l_shape) != 1 or p_shape != (l_shape[0], data.NUM_CLASSES) or p_dtype.kind != "f" or l_dtype.kind not in "iu":
        raise IntegrityError(f"{shown(path)} declares probabilities {p_shape} {p_dtype} and labels {l_shape} {l_dtype};"
                             f" golden outputs are (N, {data.NUM_CLASSES}) floats and (N,) integers")
    if not 0 < l_shape[0] <= DIGITS:
        raise IntegrityError(f"{shown(path)} declares {l_shape[0]:,} digits; golden outputs hold 1 to {DIGITS:,}"
                             " (the shipped sample's test digits)")
    if isinstance(expected_count, int) and l_shape[0] != expected_count:
        raise IntegrityError(f"{shown(path)} declares {l_shape[0]:,} digits, the manifest records {expected_count:,}:"
                             " copy it again or re-export")


def is_current(path: Path, reference_sha256: str) -> bool:
    """A sidecar already there for this reference model and this sample (then it is kept as it is)."""
    try:
        golden = read(path)
        golden.dataset()
    except IntegrityError:
        return False
    return (golden.info.get("reference") or {}).get("sha256") == reference_sha256 and golden.count == DIGITS
