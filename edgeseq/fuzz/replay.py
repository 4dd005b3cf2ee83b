"""`edgeseq fuzz FILE --replay NPZ`: one saved reproducer run again, on the runtime and kernel setting it was found
on, against what it disagreed with then (the reference, found again as fuzz finds it, or another case of the same
file). It disagrees still, or no longer: a reproducer kept in a repository is a regression test.
Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import runtimes
from edgeseq.core import layout
from edgeseq.core.errors import DataError, EdgeseqError
from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import read_manifest
from edgeseq.fuzz.engine import REPRODUCER_KIND, beyond_tolerance, pairwise_disagree
from edgeseq.parity.reference import FUZZ, resolve_reference
from edgeseq.recipes import tolerance_of
from edgeseq.runtimes import RuntimeName
from edgeseq.runtimes.guard import Predictor


@dataclass(frozen=True)
class Replayed:
    file: str
    runtime: str
    kernels: str | None
    against: str                   # what it is compared with: "reference (<path>)" or "<runtime>[/<kernels>]"
    disagrees: bool
    answers: dict[str, int]        # top-1 of the file and of what it is compared with
    max_abs_diff: float
    probabilities: dict[str, list[float]]
    size: int                      # cells off the baseline
    description: str
    same_file: bool                # the file's sha256 is the one the reproducer was found on

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_reproducer(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """(x (1, T, F), meta) of a reproducer .npz; a one-line DataError for anything else."""
    if not zipfile.is_zipfile(path):
        raise DataError(f"reproducer not found: {path}" if not Path(path).is_file()
                        else f"{path} is not an edgeseq fuzz reproducer (not an .npz file)")
    try:
        with np.load(path, allow_pickle=False) as stored:
            x, meta = stored["x"], json.loads(str(stored["meta"]))
    except FileNotFoundError as err:
        raise DataError(f"reproducer not found: {path}") from err
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise DataError(f"{path} is not an edgeseq fuzz reproducer (.npz with x and meta): {err}") from err
    if not isinstance(meta, dict) or meta.get("kind") != REPRODUCER_KIND:
        raise DataError(f"{path} is not an edgeseq fuzz reproducer (its meta says {str(meta)[:80]!r})")
    if x.ndim != 3 or x.shape[0] != 1 or not np.isfinite(x).all():
        raise DataError(f"{path}: its input has shape {x.shape} or is not finite; expected (1, T, F)")
    return x.astype(np.float32), meta


def replay(path: Path, reproducer: Path, reference: Path | None = None, runtime: RuntimeName | None = None,
           kernels: str | None = None, threads: int = 1, tflite_backend: str = "auto") -> Replayed:
    x, meta = read_reproducer(reproducer)
    path = Path(path)
    if not path.is_file():
        raise EdgeseqError(f"file not found: {path}")
    runtime = runtime or RuntimeName(meta["runtime"])
    if path.suffix not in runtimes.RUNTIMES[runtime].suffixes:
        raise EdgeseqError(f"runtime {runtime.value} cannot load {path} (the reproducer was found on"
                           f" {meta['runtime']})")
    kernels = kernels or meta.get("kernels")
    against = meta["against"]
    with Predictor(threads, tflite_backend) as predictor:
        mine = predictor.predict(path, runtime, x, kernels)[0]
        if against["label"] == "reference":
            found = resolve_reference(path, reference, FUZZ)
            theirs = predictor.predict(found.path, runtimes.runtimes_for(found.path)[0], x)[0]
            tol, _ = tolerance_of(read_manifest(path), layout.format_of(path))
            disagrees = bool(beyond_tolerance(mine, theirs, tol)[0])
            label = f"reference ({found.path})"
        else:
            other = RuntimeName(against["runtime"])
            theirs = predictor.predict(path, other, x, against.get("kernels"))[0]
            disagrees = bool(pairwise_disagree(mine, theirs)[0])
            label = against["label"]
    diff = float(np.nan_to_num(np.abs(mine - theirs), nan=np.inf).max())
    return Replayed(str(path), runtime.value, kernels, label, disagrees,
                    {"file": int(np.argmax(mine[0])), "against": int(np.argmax(theirs[0]))}, diff,
                    {"file": [float(v) for v in mine[0]], "against": [float(v) for v in theirs[0]]},
                    int(meta.get("size", -1)), str(meta.get("description", "")),
                    sha256_file(path) == meta.get("sha256"))


__all__ = ["Replayed", "read_reproducer", "replay"]
