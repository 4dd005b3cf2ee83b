"""The data a model is trained and checked on, chosen by one string (the CLI's --data):

  sample          a stratified 6,000 + 1,000 digit sample of real MNIST shipped inside the package (offline)
  mnist           full MNIST through Keras' own cache/download (needs Keras, or a cached mnist.npz)
  uea:NAME        a UEA/UCR time-series classification set shipped inside the `ts` extra's library
  PATH            a folder with the four official MNIST IDX files (gzipped or not) or a mnist.npz; a labelled
                  sequence set as .npz (edgeseq.data.sequences); a UEA/UCR `.ts` file of a NAME_TRAIN.ts /
                  NAME_TEST.ts pair, or a folder holding one pair

There is no fallback from one to another: the Dataset records what was read, and its DataSpec (shape, classes,
normalisation, lengths rule) travels into every manifest.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgeseq.data.dataset import Dataset, balanced_indices, calibration_sample, units_of
from edgeseq.data.mnist import (
    FEATURES, IDX_MAGIC, IDX_NAMES, LABELS, NORMALISATION, NUM_CLASSES, SAMPLE_PATH, TIMESTEPS, _load_idx_folder,
    _find_idx, _load_keras_mnist, _load_sample, assemble_npz, is_mnist_npz, keras_cache_path, parse_idx,
    to_model_input)
from edgeseq.data.spec import MNIST_SPEC, PADDING_RULE, DataSpec, Normalisation, NormKind, spec_of_manifest
from edgeseq.core.errors import DataError
from edgeseq.core.fileio import sha256_file

__all__ = [
    "Dataset", "DataSpec", "Normalisation", "NormKind", "MNIST_SPEC", "PADDING_RULE", "load", "calibration_sample",
    "balanced_indices", "spec_of_manifest", "units_of", "to_model_input", "parse_idx", "keras_cache_path", "SAMPLE_PATH",
    "TIMESTEPS", "FEATURES", "NUM_CLASSES", "LABELS", "NORMALISATION", "IDX_NAMES", "IDX_MAGIC",
]

SHIPPED_PREFIX = "uea:"


def load(spec: str | os.PathLike = "sample") -> Dataset:
    """Load the data named by `spec` ('sample', 'mnist', 'uea:NAME' or a path)."""
    text = str(spec)
    if text == "sample":
        return _load_sample()
    if text == "mnist":
        return _load_keras_mnist()
    if text.startswith(SHIPPED_PREFIX):
        from edgeseq.ts_format import shipped_ts  # noqa: PLC0415

        return _load_ts(shipped_ts(text[len(SHIPPED_PREFIX):]), shipped=True)
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(f"data path not found: {path} (use 'sample', 'mnist', 'uea:NAME', an IDX folder, an .npz"
                        " or a .ts file)")
    if path.is_dir():
        npz = path / "mnist.npz"
        if _find_idx(path, "x_train") is not None:
            return _load_idx_folder(path)
        if npz.is_file():
            return _load_npz(npz, name=f"npz:{npz.parent.name}/{npz.name}")
        if any(path.glob("*_TRAIN.ts")) or any(path.glob("*_TEST.ts")):
            return _load_ts(path)
        return _load_idx_folder(path)      # says which IDX file is missing
    if path.suffix == ".npz":
        return _load_npz(path, name=f"npz:{path.name}")
    if path.suffix.lower() == ".ts":
        return _load_ts(path)
    raise DataError(f"{path} is neither a folder of IDX files, an .npz nor a .ts file")


def _load_npz(path: Path, name: str) -> Dataset:
    from edgeseq.data import sequences  # noqa: PLC0415

    arrays = sequences.read_npz(path)
    hashes = {path.name: sha256_file(path)}
    if is_mnist_npz(arrays):
        return assemble_npz(name, arrays, hashes, str(path))
    return sequences.assemble(name, "a labelled sequence set (.npz)", arrays, hashes, str(path))


def _load_ts(path: Path, shipped: bool = False) -> Dataset:
    from edgeseq.data import sequences  # noqa: PLC0415
    from edgeseq.ts_format import read_ts  # noqa: PLC0415

    ts = read_ts(path)
    source = ("a UEA/UCR .ts pair shipped in the `ts` extra's library" if shipped
              else "a UEA/UCR .ts pair (NAME_TRAIN.ts / NAME_TEST.ts)")
    return sequences.assemble(f"ts:{ts.name}", source, ts.arrays, ts.hashes, str(path))
