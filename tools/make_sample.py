"""Make the MNIST sample shipped in the package: a stratified draw from the official splits.

    python tools/make_sample.py ../shared/data/mnist

Draws 600 training digits per class (6,000) and 100 test digits per class (1,000) with a fixed seed,
keeps them as uint8, and writes edgeseq/sample/mnist-sample.npz (compressed) and its provenance JSON
(the source files' sha256). MNIST: Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from edgeseq import data
from edgeseq.core.fileio import atomic_path, sha256_file, write_json_atomic

PER_CLASS = {"train": 600, "test": 100}
SEED = 0


def stratified(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    picks = [rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(picks))


def main(source: str) -> None:
    folder = Path(source)
    arrays = {}
    for key in data.IDX_NAMES:
        path = data._find_idx(folder, key)  # noqa: SLF001  (same package, a tool)
        if path is None:
            sys.exit(f"{folder} lacks {key}")
        arrays[key] = data.parse_idx(data._read_maybe_gzip(path), 3 if key[0] == "x" else 1, str(path))  # noqa: SLF001
    rng = np.random.default_rng(SEED)
    out = {}
    for split in ("train", "test"):
        idx = stratified(arrays[f"y_{split}"], PER_CLASS[split], rng)
        out[f"x_{split}"] = arrays[f"x_{split}"][idx]
        out[f"y_{split}"] = arrays[f"y_{split}"][idx].astype(np.uint8)
    with atomic_path(data.SAMPLE_PATH) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **out)
    provenance = {
        "description": "stratified sample of the official MNIST splits, uint8, as in Keras' mnist.npz",
        "per_class": PER_CLASS,
        "seed": SEED,
        "method": "numpy default_rng(0); per split, per class 0..9 in order: choice without replacement; sorted",
        "source_sha256": {p.name: sha256_file(p) for p in sorted(folder.glob("*-ubyte*"))},
        "sample_sha256": sha256_file(data.SAMPLE_PATH),
        "credit": "MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, CC BY-SA 3.0",
    }
    write_json_atomic(data.SAMPLE_PATH.with_suffix(".json"), provenance)
    print(f"wrote {data.SAMPLE_PATH} ({data.SAMPLE_PATH.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/mnist")
