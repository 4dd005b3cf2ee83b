"""A loaded data set: float32 model inputs (N, T, F), integer labels 0..K-1, and the contract they follow."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgeseq.data.spec import MNIST_SPEC, DataSpec
from edgeseq.core.errors import DataError


@dataclass(frozen=True)
class Dataset:
    name: str
    source: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    sha256: dict[str, str] = field(default_factory=dict)
    note: str = ""
    spec: DataSpec = MNIST_SPEC
    lengths_train: np.ndarray | None = field(default=None, repr=False)   # None: every sequence is T long
    lengths_test: np.ndarray | None = field(default=None, repr=False)

    @property
    def units(self) -> str:
        """What one sample is called, plural ('digits', 'sequences')."""
        return self.spec.units

    def identity(self) -> dict[str, object]:
        """What every result records about the data it used."""
        extra: dict[str, object] = {}
        if not self.spec.mnist:
            extra = {"shape": [self.spec.timesteps, self.spec.features], "classes": self.spec.classes,
                     "labels": list(self.spec.labels), "variable_length": self.spec.variable_length}
        return {
            "name": self.name,
            "source": self.source,
            "train_count": int(len(self.y_train)),
            "test_count": int(len(self.y_test)),
            "sha256": dict(self.sha256),
            **extra,
            **({"note": self.note} if self.note else {}),
        }

    def limited(self, train: int | None = None, test: int | None = None) -> "Dataset":
        """The first `train` / `test` samples (for quick runs); the identity says so."""
        if train is None and test is None:
            return self
        ytr, yte = self.y_train[:train], self.y_test[:test]
        note = "; ".join(filter(None, [self.note, f"limited to the first {len(ytr)} train / {len(yte)} test"]))
        return self.with_splits(self.x_train[:train], ytr, self.x_test[:test], yte, note=note,
                                lengths=(_cut(self.lengths_train, train), _cut(self.lengths_test, test)))

    def with_splits(self, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                    name: str | None = None, source: str | None = None, note: str | None = None,
                    lengths: tuple[np.ndarray | None, np.ndarray | None] | None = None) -> "Dataset":
        """The same data set (contract, hashes) with other arrays."""
        lengths_train, lengths_test = lengths if lengths is not None else (self.lengths_train, self.lengths_test)
        return Dataset(name or self.name, source or self.source, x_train, y_train, x_test, y_test,
                       self.sha256, self.note if note is None else note, self.spec, lengths_train, lengths_test)

    def test_lengths(self) -> np.ndarray:
        """Each test sequence's true length (T for fixed-length data)."""
        if self.lengths_test is None:
            return np.full(len(self.y_test), self.spec.timesteps, np.int64)
        return self.lengths_test


def _cut(lengths: np.ndarray | None, count: int | None) -> np.ndarray | None:
    return None if lengths is None else lengths[:count]


def calibration_sample(ds: Dataset, size: int, seed: int = 0) -> np.ndarray:
    """`size` training samples drawn with `seed` (for quantization calibration)."""
    if size <= 0:
        raise DataError("calibration size must be positive")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(ds.x_train), size=min(size, len(ds.x_train)), replace=False)
    return ds.x_train[np.sort(idx)]


def balanced_indices(labels: np.ndarray, count: int, classes: int) -> np.ndarray:
    """A fixed, class-balanced slice: the first test samples of each class in turn (round robin over the classes
    in test order), `count` in all (fewer if the split is smaller), returned in test order."""
    per_class = [np.flatnonzero(labels == k) for k in range(classes)]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < min(count, len(labels)):
        added = False
        for members in per_class:
            if depth < len(members) and len(chosen) < count:
                chosen.append(int(members[depth]))
                added = True
        if not added:
            break
        depth += 1
    return np.sort(np.asarray(chosen, np.int64))


def units_of(*identities: dict[str, object] | None) -> str:
    """What results call the samples of the data these identities (Dataset.identity, as rows record it) describe:
    'digits' for MNIST (whose identities carry no shape), else 'sequences'."""
    return "sequences" if any(d and "shape" in d for d in identities) else "digits"
