"""Training a model of the variant space (the seeds by default): `train(config, dataset, out)` -> TrainResult,
and its files."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import models
from edgeseq.health import Health, assess
from edgeseq.core import layout
from edgeseq.data import Dataset
from edgeseq.core.environment import library_versions
from edgeseq.core.errors import EdgeseqError
from edgeseq.core.fileio import ensure_dir, sha256_file, staged, write_json_atomic
from edgeseq.core.manifest import commit_with_manifest
from edgeseq.models import Variant
from edgeseq.core.progress import Progress, ProgressLike, Stage, as_progress
from edgeseq.core.rows import from_dict
from edgeseq.core.tfsupport import import_keras


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class TrainConfig:
    arch: Variant          # a seed (Arch) or a variant name is accepted and kept as its Variant
    epochs: int = 3
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch", models.variant(self.arch))
        if self.epochs <= 0 or self.batch_size <= 0:
            raise EdgeseqError("epochs and batch size must be positive")


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    loss: float | None              # None: not a number (NaN or infinite: the run diverged)
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    model: str
    test_accuracy: float | None           # None: not a number (a diverged run)
    test_loss: float | None
    epochs: int
    batch_size: int
    seed: int
    parameters: int
    seconds: float
    path: str
    sha256: str
    data: dict[str, Any]
    history: tuple[EpochRecord, ...] = field(default_factory=tuple)
    health: dict[str, Any] | None = None     # edgeseq.health.Health.to_dict(): diverged, at chance, stalled

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"history": [asdict(e) for e in self.history]}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "TrainResult":
        return from_dict(cls, row)

    @property
    def checked_health(self) -> Health | None:
        """What the training-health checks found (None: results written before edgeseq checked)."""
        return Health.from_dict(self.health) if self.health else None


def _number(value: Any) -> float | None:
    """A loss or accuracy as JSON can hold it: NaN and infinities (a diverged run's) become None."""
    value = float(value)
    return value if np.isfinite(value) else None


def _progress_callback(keras: Any, arch: Variant, epochs: int, progress: Progress, stage: Stage) -> Any:
    class EpochProgress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()
            stage.describe(f"epoch {epoch + 1}/{epochs}")

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            stage.advance()  # the bar moves per batch step; plain lines get a heartbeat on long epochs
            loss = (logs or {}).get("loss")
            if loss is not None and not np.isfinite(float(loss)):
                # as keras.callbacks.TerminateOnNaN, without its print to stdout (which --json owns)
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            seconds = time.perf_counter() - self.started
            figures = {k: float(logs.get(k, float("nan"))) for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
            self.records.append(EpochRecord(epoch + 1, **{k: _number(v) for k, v in figures.items()},
                                            seconds=round(seconds, 3)))
            progress.log(f"{arch.value} epoch {epoch + 1}/{epochs}: loss {figures['loss']:.4f}"
                         f" acc {figures['accuracy']:.4f} val_loss {figures['val_loss']:.4f}"
                         f" val_acc {figures['val_accuracy']:.4f} ({seconds:.1f} s)")

    cb = EpochProgress()
    cb.records = []
    return cb


def train(config: TrainConfig, dataset: Dataset, out: Path,
          progress: ProgressLike = stderr_progress) -> TrainResult:
    """Fit one architecture, validated on the test split, and write model, history and manifest. `progress`: a
    Progress (edgeseq.core.progress), a callable taking a line, or None."""
    progress = as_progress(progress)
    keras = import_keras()
    target = layout.model_path(out, config.arch.value)
    ensure_dir(target.parent)
    keras.utils.set_random_seed(config.seed)
    model = models.compile_for_training(models.build(config.arch, spec=dataset.spec))
    steps = int(np.ceil(len(dataset.y_train) / config.batch_size))
    progress.log(f"training {config.arch.value} on {dataset.name} ({len(dataset.y_train)} train /"
                 f" {len(dataset.y_test)} test {dataset.units}; {dataset.spec.describe()}), {config.epochs} epochs, batch {config.batch_size}")
    started = time.perf_counter()
    with progress.stage(f"train {config.arch.value}", total=config.epochs * steps, unit="steps") as stage:
        callback = _progress_callback(keras, config.arch, config.epochs, progress, stage)
        # a loss that became NaN stops the fit (the callback; its epoch is recorded as NaN, below)
        model.fit(dataset.x_train, dataset.y_train, epochs=config.epochs, batch_size=config.batch_size,
                  validation_data=(dataset.x_test, dataset.y_test), verbose=0, callbacks=[callback])
    seconds = time.perf_counter() - started
    history = tuple(callback.records)
    if len(history) < config.epochs and (not history or history[-1].loss is not None):   # stopped mid-epoch
        history += (EpochRecord(len(history) + 1, None, None, None, None, 0.0),)
    if history[-1].loss is None:
        progress.log(f"{config.arch.value}: the training loss became NaN in epoch {len(history)}: training stopped")
    if history[-1].val_loss is not None:
        test_accuracy, test_loss = history[-1].val_accuracy, history[-1].val_loss
    else:
        test_loss, test_accuracy = model.evaluate(dataset.x_test, dataset.y_test, verbose=0,
                                                  batch_size=config.batch_size)
    health = assess(config.arch.value, history, _number(test_accuracy), dataset.y_test, dataset.spec.labels,
                    config.arch, dataset.units)
    progress.log(f"training health: {health.summary(config.arch.value)}")
    write_json_atomic(layout.history_path(target), [asdict(e) for e in history])
    with staged(target) as tmp:
        # weights only, no optimizer state (a third of the size): the file is a deployable reference
        models.rebuild_with_weights(model).save(tmp)
        result = TrainResult(
            model=config.arch.value, test_accuracy=_number(test_accuracy), test_loss=_number(test_loss),
            epochs=config.epochs, batch_size=config.batch_size, seed=config.seed,
            parameters=int(model.count_params()), seconds=round(seconds, 3), path=str(target),
            sha256=sha256_file(tmp), data=dataset.identity(), history=history, health=health.to_dict())
        commit_with_manifest(tmp, target, {  # the model and its manifest move into place together
            "kind": "keras-model",
            "architecture": config.arch.value,
            "description": config.arch.description_for(dataset.spec),
            "variant": config.arch.config(),
            **{k: v for k, v in result.to_dict().items() if k not in ("path", "model", "history", "health")},
            "training_health": health.to_dict(),
            "size_bytes": tmp.stat().st_size,
            "optimizer": "adam (defaults); the file holds the weights without the optimizer state",
            "loss": "sparse_categorical_crossentropy",
            "data_spec": dataset.spec.to_dict(),
            "library_versions": library_versions(),
        })
    return result
