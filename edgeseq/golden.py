"""Golden outputs: the reference model's probabilities on a fixed, named set of test samples, stored beside the
exported files (`<arch>.golden.npz`, its sha256 in every manifest).

They let `validate` judge a file copied alone to a device, where there is no .keras model, no TensorFlow
and no fp32 file: the file runs on the same samples and is compared with the stored probabilities. For MNIST the
samples are the first test digits of the sample inside the installed package; for any other data they are a fixed,
class-balanced slice of the user's test split, stored in the sidecar itself (`inputs`, already normalised and
padded as the model reads them), since the device has no copy of the user's data. No TensorFlow is imported here.
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
from edgeseq.core.errors import IntegrityError, ModelError
from edgeseq.core.fileio import sha256_file, write_bytes_atomic
from edgeseq.core.layout import named_golden, shown

DIGITS = 1000                   # the whole test split of the shipped sample (stratified: 100 per class)
FORMAT_VERSION = 1
MAX_INPUT_VALUES = 64 * 1024 * 1024   # a sidecar declaring more stored input values (256 MiB of float32) is refused


def digits_name(count: int = DIGITS) -> str:
    return f"the first {count} test digits of the shipped sample (edgeseq/sample/mnist-sample.npz)"


def golden_digits(count: int = DIGITS) -> data.Dataset:
    """The digits golden outputs are computed and checked on: the sample's first `count` test digits."""
    sample = data.load("sample")
    subset = sample.limited(test=count)
    return data.Dataset("golden", digits_name(len(subset.y_test)), subset.x_train[:0], subset.y_train[:0],
                        subset.x_test, subset.y_test, sample.sha256)


def golden_inputs(spec: data.DataSpec, dataset: data.Dataset | None, count: int = DIGITS) -> data.Dataset:
    """The samples golden outputs are computed on for a model made for `spec`: MNIST's sample digits, or a fixed,
    class-balanced slice of `dataset`'s test split (which must be the model's own kind of data)."""
    if spec.mnist:
        return golden_digits(count)
    if dataset is None:
        raise IntegrityError("golden outputs of a model trained on non-MNIST data need its test split (--data)")
    idx = data.balanced_indices(dataset.y_test, count, spec.classes)
    lengths = None if dataset.lengths_test is None else dataset.lengths_test[idx]
    return dataset.with_splits(dataset.x_train[:0], dataset.y_train[:0], dataset.x_test[idx], dataset.y_test[idx],
                               name="golden", source=f"a class-balanced slice of {len(idx)} test sequences of"
                               f" {dataset.name}", note="", lengths=(None, lengths))


@dataclass(frozen=True)
class Golden:
    probabilities: np.ndarray = field(repr=False)   # (N, K) float32, the reference model's output
    labels: np.ndarray = field(repr=False)          # (N,) the samples' true classes
    info: dict[str, Any]                            # reference {name, sha256}, digits, sample sha256 or data
    inputs: np.ndarray | None = field(default=None, repr=False)   # (N, T, F) for non-MNIST data, else None

    @property
    def count(self) -> int:
        return int(len(self.labels))

    def dataset(self) -> data.Dataset:
        """The samples these outputs belong to: the stored inputs, or the installed sample's digits (an error if
        that sample differs)."""
        if self.inputs is not None:
            spec = data.DataSpec.from_dict(self.info.get("data_spec") or {})
            if self.inputs.shape[1:] != spec.shape or self.probabilities.shape[1] != spec.classes:
                raise IntegrityError("the golden outputs' stored inputs or classes differ from their data record")
            empty = np.zeros((0, *spec.shape), np.float32)
            return data.Dataset("golden", str(self.info.get("digits")), empty, np.zeros(0, np.int64), self.inputs,
                                self.labels, dict((self.info.get("data") or {}).get("sha256") or {}), spec=spec)
        digits = golden_digits(self.count)
        if digits.sha256 != self.info.get("sample_sha256"):
            raise IntegrityError("the golden outputs were computed on another version of the shipped sample;"
                                 " re-export, or validate against the model (--reference)")
        if not np.array_equal(digits.y_test, self.labels):
            raise IntegrityError("the golden outputs' labels differ from the shipped sample's digits")
        return digits


def encode(probabilities: np.ndarray, labels: np.ndarray, reference: dict[str, Any],
           sample_sha256: dict[str, str], samples: data.Dataset | None = None) -> bytes:
    """The sidecar's bytes (deterministic for the same inputs: no timestamps). `samples`: non-MNIST golden
    samples (golden_inputs), stored with their data record; None for MNIST's sample digits."""
    info: dict[str, Any] = {"format_version": FORMAT_VERSION, "reference": reference,
                            "digits": digits_name(len(labels)), "count": int(len(labels)),
                            "sample_sha256": sample_sha256}
    arrays: dict[str, np.ndarray] = {}
    if samples is not None and not samples.spec.mnist:
        info = info | {"digits": samples.source, "sample_sha256": None, "data": samples.identity(),
                       "data_spec": samples.spec.to_dict()}
        arrays["inputs"] = np.asarray(samples.x_test, np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, probabilities=np.asarray(probabilities, np.float32),
                        labels=np.asarray(labels, np.int64), info=np.array(json.dumps(info, sort_keys=True)), **arrays)
    return buffer.getvalue()


def write(path: Path, probabilities: np.ndarray, labels: np.ndarray, reference: dict[str, Any],
          sample_sha256: dict[str, str], samples: data.Dataset | None = None) -> None:
    if not np.all(np.isfinite(probabilities)):     # a diverged training's model: say so, not "a damaged sidecar"
        raise ModelError(f"{shown(reference['name'])} answers NaN or infinity on the golden samples: the model is"
                         " broken (a diverged training? see its training health); no golden outputs written")
    write_bytes_atomic(path, encode(probabilities, labels, reference, sample_sha256, samples))


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
        stored = _check_declared(path, expected_count)  # shapes and dtypes from the headers, before reading arrays
        with np.load(path, allow_pickle=False) as archive:
            probabilities, labels = archive["probabilities"], archive["labels"]
            info = json.loads(str(archive["info"]))
            inputs = archive["inputs"].astype(np.float32) if stored else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise IntegrityError(f"{shown(path)} is not a golden-outputs file ({type(err).__name__})") from err
    if probabilities.ndim != 2 or probabilities.shape[0] != len(labels) or not isinstance(info, dict):
        raise IntegrityError(f"{shown(path)}: probabilities of shape {probabilities.shape} for {len(labels)}"
                             " labels")
    if not np.all(np.isfinite(probabilities)) or probabilities.min() < 0 or probabilities.max() > 1 + 1e-3:
        raise IntegrityError(f"golden outputs {shown(path)} hold probabilities that are not finite numbers from 0 to 1"
                             " (NaN, infinity or out of range): the sidecar is damaged; copy it again or re-export")
    classes = probabilities.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise IntegrityError(f"golden outputs {shown(path)} hold labels outside 0..{classes - 1}")
    if inputs is not None and not np.all(np.isfinite(inputs)):
        raise IntegrityError(f"golden outputs {shown(path)} hold stored inputs that are not finite numbers")
    return Golden(probabilities.astype(np.float32), labels.astype(np.int64), info, inputs)


def _check_declared(path: Path, expected_count: Any = None) -> bool:
    """The arrays a sidecar declares, read from their .npy headers without reading the arrays: probabilities
    (N, K) float with 2 <= K <= 4096, labels (N,) integer, with 1 <= N <= DIGITS (no sidecar holds more), and
    optional stored inputs (N, T, F) float of at most MAX_INPUT_VALUES values. A sidecar declaring 10^9 rows is
    refused here, before 37 GiB are asked for. Returns whether inputs are stored."""
    declared = {}
    with zipfile.ZipFile(path) as archive:
        names = ("probabilities", "labels", "inputs") if "inputs.npy" in archive.namelist() else ("probabilities", "labels")
        for name in names:
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
    if len(l_shape) != 1 or len(p_shape) != 2 or p_shape[0] != l_shape[0] or not 2 <= p_shape[1] <= 4096 \
            or p_dtype.kind != "f" or l_dtype.kind not in "iu":
        raise IntegrityError(f"{shown(path)} declares probabilities {p_shape} {p_dtype} and labels {l_shape} {l_dtype};"
                             " golden outputs are (N, K) floats and (N,) integers")
    if "inputs" not in declared and p_shape[1] != data.NUM_CLASSES:
        raise IntegrityError(f"{shown(path)} declares probabilities {p_shape} without stored inputs; golden outputs on"
                             f" the sample's digits are (N, {data.NUM_CLASSES})")
    if "inputs" in declared:
        i_shape, i_dtype = declared["inputs"]
        if len(i_shape) != 3 or i_shape[0] != l_shape[0] or i_dtype.kind != "f" \
                or int(np.prod(i_shape, dtype=np.int64)) > MAX_INPUT_VALUES or min(i_shape[1:], default=0) < 1:
            raise IntegrityError(f"{shown(path)} declares stored inputs {i_shape} {i_dtype}; expected (N, T, F) floats"
                                 f" of at most {MAX_INPUT_VALUES:,} values")
    if not 0 < l_shape[0] <= DIGITS:
        raise IntegrityError(f"{shown(path)} declares {l_shape[0]:,} samples; golden outputs hold 1 to {DIGITS:,}"
                             " (as many as the shipped sample's test digits)")
    if isinstance(expected_count, int) and l_shape[0] != expected_count:
        raise IntegrityError(f"{shown(path)} declares {l_shape[0]:,} samples, the manifest records {expected_count:,}:"
                             " copy it again or re-export")
    return "inputs" in declared


def is_current(path: Path, reference_sha256: str, samples: data.Dataset | None = None) -> bool:
    """A sidecar already there for this reference model and these samples (then it is kept as it is):
    `samples` None means MNIST's sample digits."""
    try:
        golden = read(path)
        stored = golden.dataset()
    except (IntegrityError, data.DataError):
        return False
    if (golden.info.get("reference") or {}).get("sha256") != reference_sha256:
        return False
    if samples is None or samples.spec.mnist:
        return golden.inputs is None and golden.count == DIGITS
    return golden.inputs is not None and np.array_equal(stored.x_test, samples.x_test) \
        and np.array_equal(stored.y_test, samples.y_test)


def samples_for_file(path: Path, manifest: Any) -> data.Dataset:
    """What a file can be run on without the user's data: the shipped sample for MNIST files (and files without a
    manifest), else the samples stored in the golden sidecar its manifest names (an error when there is none)."""
    spec = data.spec_of_manifest(manifest)
    if manifest is None or spec.mnist:
        return data.load("sample")
    sidecar = named_golden(path, manifest)
    if sidecar is None:
        raise IntegrityError(f"{shown(path.name)} was made for {spec.describe()} data and names no golden sidecar to"
                             " run it on; re-export it, or pass its data (--data)")
    recorded = manifest.golden
    return read(sidecar, recorded.get("sha256"), recorded.get("count")).dataset()

