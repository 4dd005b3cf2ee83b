"""One variant of a sweep, in a fresh process (a local worker or a Ray task): train it, export every chosen
recipe, validate the files on the test split, and write OUT/variants/<name>/sweep-task.json. Returns that
record; it records when the work started and ended, and where it ran, so the sweep can show that no benchmark
ran meanwhile."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from edgeseq.sweep.plan import TASK_RECORD, VariantTask

THREADS_PER_TASK = "1"    # a worker per core: TensorFlow in each task uses one thread, not every core


def build_variant(task: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", THREADS_PER_TASK)
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", THREADS_PER_TASK)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgeseq.core.errors import EdgeseqError  # noqa: PLC0415
    from edgeseq.core.fileio import ensure_dir, write_json_atomic  # noqa: PLC0415

    spec = VariantTask(**{**task, "recipes": tuple(task["recipes"])})
    record: dict[str, Any] = {"key": spec.key, "variant": spec.variant, "task": spec.to_dict(),
                              "started": time.time(), "host": socket.gethostname(), "pid": os.getpid()}
    folder = ensure_dir(Path(spec.folder))
    try:
        record |= _build(spec, folder) | {"status": "ok", "reason": None}
    except EdgeseqError as err:
        record |= {"status": "failed", "reason": str(err)}
    record["ended"] = time.time()
    write_json_atomic(folder / spec.variant / TASK_RECORD, record)
    return record


def _build(spec: VariantTask, folder: Path) -> dict[str, Any]:
    from edgeseq import data, models, recipes  # noqa: PLC0415
    from edgeseq.export.batch import export_all  # noqa: PLC0415
    from edgeseq.export.exporter import plan  # noqa: PLC0415
    from edgeseq.parity.validate import validate  # noqa: PLC0415
    from edgeseq.train import TrainConfig, train  # noqa: PLC0415

    dataset = data.load(spec.data).limited(spec.limit_train, spec.limit_test)
    arch = models.select(spec.variant)[0]
    trained = train(TrainConfig(arch, spec.epochs, spec.batch_size, spec.seed), dataset, folder, progress=None)
    chosen = recipes.select(list(recipes.Format), list(spec.recipes))
    specs = plan([arch], chosen, calibration_size=spec.calibration_size)
    exported = export_all(specs, folder, folder, dataset, progress=None)
    files = [Path(r.path) for r in exported if r.status == "ok" and r.path]
    checked = validate(files, dataset, progress=None) if files else []
    return {"train": trained.to_dict(), "export": [r.to_dict() for r in exported],
            "validate": [r.to_dict() for r in checked], "data": dataset.identity()}
