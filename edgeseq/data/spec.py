"""What a model expects of its input, as one frozen record: the shape (T timesteps x F features), the K class
names, the normalisation rule and the lengths rule. It is derived from the training split when data is loaded,
recorded in every manifest and embedded in every exported file, so that a file copied alone says how to feed it.

MNIST keeps its rule (uint8 pixel / 255); other data is standardised per feature with the training split's mean
and standard deviation. Sequences of unequal length are left-padded with zeros (after normalisation) to T, so
every exported graph computes exactly what the Keras model computes, with no masking op in any runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeseq.core.errors import DataError

MNIST_TIMESTEPS = 28
MNIST_FEATURES = 28
MNIST_CLASSES = 10


class NormKind:
    PIXELS = "pixels/255"           # uint8 values scaled to [0, 1]: MNIST, and any uint8 data
    STANDARDISE = "standardise"     # (x - mean) / std per feature, from the training split


PIXELS_TEXT = "uint8 pixel / 255.0 -> float32 in [0, 1]"
PADDING_RULE = ("left-padded with zeros to T timesteps (after normalisation): a sequence of length L is fed as"
                " T - L zero rows and then its L rows; the model always reads T steps")


@dataclass(frozen=True)
class Normalisation:
    kind: str
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Raw values (..., F) -> the model's float32 input."""
        if self.kind == NormKind.PIXELS:
            return (np.asarray(raw, np.float32) / np.float32(255.0)).astype(np.float32)
        return ((np.asarray(raw, np.float64) - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)

    def to_dict(self, timesteps: int, features: int) -> dict[str, Any]:
        shape = {"shape": [timesteps, features]}
        if self.kind == NormKind.PIXELS:
            layout = (f"row-major: {timesteps} timesteps (image rows) x {features} features (pixels of the row)"
                      if (timesteps, features) == (MNIST_TIMESTEPS, MNIST_FEATURES)
                      else f"{timesteps} timesteps x {features} features")
            return {"input": PIXELS_TEXT, "layout": layout, **shape}
        return {"input": "raw float values, one row of F features per timestep",
                "kind": self.kind, "formula": "(x - mean[f]) / std[f] per feature f, from the training split",
                "mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std],
                "layout": f"{timesteps} timesteps x {features} features", **shape}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Normalisation":
        if data.get("kind", NormKind.PIXELS) == NormKind.PIXELS or data.get("input") == PIXELS_TEXT:
            return cls(NormKind.PIXELS)
        try:
            mean = tuple(float(v) for v in data["mean"])
            std = tuple(float(v) for v in data["std"])
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"a normalisation record lacks its mean/std: {err}") from err
        if len(mean) != len(std) or not all(np.isfinite(mean + std)) or any(s <= 0 for s in std):
            raise DataError("a normalisation record has mismatched, non-finite or non-positive mean/std")
        return cls(NormKind.STANDARDISE, mean, std)


def standardisation(x: np.ndarray, lengths: np.ndarray | None) -> Normalisation:
    """Per-feature mean and std over the real timesteps of the training split (padding excluded); a constant
    feature gets std 1."""
    if lengths is None:
        rows = x.reshape(-1, x.shape[-1]).astype(np.float64)
    else:
        keep = np.arange(x.shape[1])[None, :] < lengths[:, None]
        rows = x[keep].astype(np.float64)
    mean = rows.mean(axis=0)
    std = rows.std(axis=0)
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return Normalisation(NormKind.STANDARDISE, tuple(float(v) for v in mean), tuple(float(v) for v in std))


@dataclass(frozen=True)
class DataSpec:
    """A model's input contract. `unit` names one sample in messages and reports ('digit' for MNIST)."""
    timesteps: int
    features: int
    labels: tuple[str, ...]
    normalisation: Normalisation = field(default_factory=lambda: Normalisation(NormKind.PIXELS))
    variable_length: bool = False
    mnist: bool = False
    unit: str = "sequence"

    @property
    def classes(self) -> int:
        return len(self.labels)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.timesteps, self.features)

    @property
    def units(self) -> str:
        return f"{self.unit}s"

    def lengths_rule(self) -> str:
        return PADDING_RULE if self.variable_length else f"fixed: every sequence is {self.timesteps} timesteps"

    def to_dict(self) -> dict[str, Any]:
        return {"timesteps": self.timesteps, "features": self.features, "classes": self.classes,
                "labels": list(self.labels), "lengths": self.lengths_rule(),
                "variable_length": self.variable_length, "mnist": self.mnist, "unit": self.unit,
                "normalisation": self.normalisation.to_dict(self.timesteps, self.features)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DataSpec":
        try:
            labels = tuple(str(v) for v in data["labels"])
            spec = cls(int(data["timesteps"]), int(data["features"]), labels,
                       Normalisation.from_dict(dict(data["normalisation"])), bool(data.get("variable_length")),
                       bool(data.get("mnist")), str(data.get("unit", "sequence")))
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"a data record is incomplete or malformed: {err}") from err
        if spec.timesteps <= 0 or spec.features <= 0 or spec.classes < 2:
            raise DataError(f"a data record declares T={spec.timesteps}, F={spec.features}, K={spec.classes}")
        return spec

    def describe(self) -> str:
        lengths = ", unequal lengths (left-padded)" if self.variable_length else ""
        return f"T={self.timesteps} x F={self.features}, K={self.classes} classes{lengths}"

    def require(self, other: "DataSpec", subject: str) -> None:
        """A DataError, `subject: why`, when data described by `other` cannot be fed to a model made for `self`."""
        if (problem := self.mismatch(other)) is not None:
            raise DataError(f"{subject}: {problem}")

    def mismatch(self, other: "DataSpec") -> str | None:
        """Why data described by `other` cannot be fed to a model made for `self`, or None."""
        if self.shape != other.shape:
            return f"the model takes {self.timesteps} x {self.features} sequences; this data is {other.timesteps} x {other.features}"
        if self.labels != other.labels:
            return f"the model's classes are {list(self.labels)[:12]}; this data's are {list(other.labels)[:12]}"
        if self.normalisation.kind != other.normalisation.kind or not np.allclose(
                self.normalisation.mean, other.normalisation.mean, rtol=1e-6, atol=1e-9) or not np.allclose(
                self.normalisation.std, other.normalisation.std, rtol=1e-6, atol=1e-9):
            return "the model was trained on data normalised differently (another training split)"
        return None


MNIST_LABELS = tuple(str(i) for i in range(MNIST_CLASSES))
MNIST_SPEC = DataSpec(MNIST_TIMESTEPS, MNIST_FEATURES, MNIST_LABELS, Normalisation(NormKind.PIXELS), False, True,
                      "digit")


def spec_of_manifest(manifest: Any) -> DataSpec:
    """The data contract of a file's `edgeseq.core.manifest.Manifest`; MNIST's for a file without one (None: every
    file that predates manifests was MNIST)."""
    return MNIST_SPEC if manifest is None else manifest.data_contract


def spec_of_record(data_spec: Any, normalisation: Any) -> DataSpec:
    """The data contract from the two JSON values that carry one (a schema 1 manifest's, a file's embedded facts):
    `data_spec`, or for records written before edgeseq took other data, none: every one of those was MNIST, and
    their `normalisation` says pixel / 255 (checked)."""
    if isinstance(data_spec, dict):
        return DataSpec.from_dict(data_spec)
    norm = normalisation
    if norm is None or (isinstance(norm, dict) and norm.get("input") == PIXELS_TEXT
                        and list(norm.get("shape", [MNIST_TIMESTEPS, MNIST_FEATURES])) == [MNIST_TIMESTEPS, MNIST_FEATURES]):
        return MNIST_SPEC
    raise DataError("the record holds neither a data_spec nor MNIST's normalisation")
