"""The sweep's config and its tasks. A task is keyed by a hash of what decides its results (the variant, the
training and export settings, the data's hashes and the edgeseq version): a variant whose folder holds a
finished record with the same key is not redone."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeseq import __version__
from edgeseq.bench.runner import BenchConfig
from edgeseq.core.errors import EdgeseqError
from edgeseq.core.fileio import read_json

TASK_RECORD = "sweep-task.json"        # OUT/variants/<name>/: the task's record (train, export, validate rows)
BENCH_RECORD = "sweep-bench.json"      # OUT/variants/<name>/: its benchmark rows, measured alone
PUBLISHED = (0.9034, 0.9652)           # the published accuracies of the seed RNN and LSTM


@dataclass(frozen=True)
class SweepConfig:
    variants: tuple[str, ...]
    out: Path
    data: str = "sample"
    epochs: int = 3
    batch_size: int = 32
    seed: int = 0
    limit_train: int | None = None
    limit_test: int | None = None
    calibration_size: int = 500
    recipes: tuple[str, ...] = ()           # recipe names (fp32, int8, ...); empty: every recipe
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    ray: str | None = None                  # None: this machine's process pool; "local" or a cluster address
    thresholds: tuple[float, ...] = PUBLISHED
    bench: BenchConfig = field(default_factory=BenchConfig)

    def __post_init__(self) -> None:
        if not self.variants:
            raise EdgeseqError("the sweep has no variants")
        if len(set(self.variants)) != len(self.variants):
            raise EdgeseqError("a variant is named twice in the grid")
        if self.workers <= 0 or self.epochs <= 0:
            raise EdgeseqError("--workers and --epochs must be positive")


@dataclass(frozen=True)
class VariantTask:
    """What one worker needs: everything is plain data (it crosses to another process or a Ray node)."""
    variant: str
    folder: str                             # OUT/variants (the variant's files go to OUT/variants/<variant>/)
    data: str
    epochs: int
    batch_size: int
    seed: int
    limit_train: int | None
    limit_test: int | None
    calibration_size: int
    recipes: tuple[str, ...]
    key: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def task_key(variant: str, config: SweepConfig, data_identity: dict[str, Any]) -> str:
    """sha256 of what decides a variant's results; the output folder is not part of it."""
    decided = {"variant": variant, "epochs": config.epochs, "batch_size": config.batch_size, "seed": config.seed,
               "limits": [config.limit_train, config.limit_test], "calibration_size": config.calibration_size,
               "recipes": sorted(config.recipes), "data": data_identity.get("sha256"),
               "data_counts": [data_identity.get("train_count"), data_identity.get("test_count")],
               "edgeseq": __version__}
    return hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()


def tasks(config: SweepConfig, data_identity: dict[str, Any]) -> list[VariantTask]:
    folder = str(Path(config.out) / "variants")
    return [VariantTask(v, folder, config.data, config.epochs, config.batch_size, config.seed, config.limit_train,
                        config.limit_test, config.calibration_size, tuple(config.recipes),
                        task_key(v, config, data_identity)) for v in config.variants]


def finished(path: Path, key: str) -> dict[str, Any] | None:
    """The record at `path` if it is complete and has this key (else None: the work is redone)."""
    if not path.is_file():
        return None
    try:
        record = read_json(path, path.name)
    except EdgeseqError:
        return None
    return record if isinstance(record, dict) and record.get("key") == key and record.get("status") == "ok" else None
