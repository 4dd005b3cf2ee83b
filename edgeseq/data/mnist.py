"""MNIST as float32 (N, 28, 28) in [0, 1], read row by row: 28 timesteps of 28 pixels.

Its sources: the stratified sample shipped inside the package, full MNIST through Keras' cache/download, a folder
of the four official IDX files (gzipped or not), or a Keras-format mnist.npz (uint8 images, see `is_mnist_npz`).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from edgeseq.data.dataset import Dataset
from edgeseq.data.spec import MNIST_CLASSES as NUM_CLASSES, MNIST_FEATURES as FEATURES, MNIST_SPEC, \
    MNIST_TIMESTEPS as TIMESTEPS
from edgeseq.core.errors import DataError
from edgeseq.core.fileio import sha256_file

LABELS = MNIST_SPEC.labels
NORMALISATION = MNIST_SPEC.normalisation.to_dict(TIMESTEPS, FEATURES)
SAMPLE_PATH = Path(__file__).parent.parent / "sample" / "mnist-sample.npz"

IDX_NAMES = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned bytes, 3-D images / 1-D labels


# --- sources ---------------------------------------------------------------------------------------

def _load_sample() -> Dataset:
    if not SAMPLE_PATH.is_file():
        raise DataError(f"the packaged sample is missing ({SAMPLE_PATH}); reinstall edgeseq")
    ds = _load_npz(SAMPLE_PATH, name="sample")
    return Dataset("sample", "edgeseq/sample/mnist-sample.npz (stratified real MNIST, seed 0)",
                   ds.x_train, ds.y_train, ds.x_test, ds.y_test, ds.sha256)


def keras_cache_path() -> Path:
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "datasets" / "mnist.npz"


def _load_keras_mnist() -> Dataset:
    cached = keras_cache_path()
    if not cached.is_file():
        try:
            import keras  # noqa: PLC0415  (imported only when a download is needed)
        except ImportError as err:
            raise DataError(
                "--data mnist downloads through Keras, which is not installed (pip install 'edgeseq[train]'),"
                f" and no cached copy is at {cached}; or pass --data PATH"
            ) from err
        try:
            keras.datasets.mnist.load_data()
        except Exception as err:  # noqa: BLE001  (network errors come in many types)
            raise DataError(f"could not download MNIST through Keras ({type(err).__name__}: {err});"
                            " offline? pass --data PATH to a local copy") from err
        if not cached.is_file():
            raise DataError(f"Keras reported a download but {cached} does not exist")
    ds = _load_npz(cached, name="mnist")
    return Dataset("mnist", "keras.datasets.mnist (mnist.npz in the Keras cache)", ds.x_train, ds.y_train, ds.x_test, ds.y_test,
                   ds.sha256)


def is_mnist_npz(arrays: dict[str, np.ndarray]) -> bool:
    """An npz read as MNIST (pixel / 255, the published figures): Keras' layout, uint8 images (N, 28, 28) and no
    `labels` or `lengths_*` arrays. Anything else is a labelled sequence set (edgeseq.data.sequences)."""
    return (not set(arrays) - set(IDX_NAMES)
            and all(arrays[k].dtype == np.uint8 and arrays[k].shape[1:] == (TIMESTEPS, FEATURES)
                    for k in ("x_train", "x_test")))


def _load_npz(path: Path, name: str) -> Dataset:
    from edgeseq.data.sequences import read_npz  # noqa: PLC0415

    arrays = read_npz(path)
    return assemble_npz(name, {k: arrays[k] for k in IDX_NAMES}, {path.name: sha256_file(path)}, str(path))


def assemble_npz(name: str, arrays: dict[str, np.ndarray], hashes: dict[str, str], where: str) -> Dataset:
    return _assemble(name, "a Keras-format mnist.npz", arrays, hashes, where)


def _find_idx(folder: Path, key: str) -> Path | None:
    for stem in IDX_NAMES[key]:
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                return candidate
    return None


def _load_idx_folder(folder: Path) -> Dataset:
    arrays, hashes = {}, {}
    for key, stems in IDX_NAMES.items():
        path = _find_idx(folder, key)
        if path is None:
            raise DataError(f"{folder} has no {stems[0]}[.gz] (need the four official MNIST IDX files,"
                            " or mnist.npz)")
        expected_ndim = 3 if key.startswith("x") else 1
        arrays[key] = parse_idx(_read_maybe_gzip(path), expected_ndim, str(path))
        hashes[path.name] = sha256_file(path)
    return _assemble(f"idx:{folder.resolve().name}", "the four official MNIST IDX files", arrays, hashes, str(folder))


def _read_maybe_gzip(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from err
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path} is a corrupt or truncated gzip file ({err})") from err
    return raw


def parse_idx(payload: bytes, expected_ndim: int, what: str = "IDX data") -> np.ndarray:
    """Parse an unsigned-byte IDX file, checking magic number, dimensions and length."""
    if len(payload) < 4:
        raise DataError(f"{what}: too short for an IDX header ({len(payload)} bytes)")
    magic = int.from_bytes(payload[:4], "big")
    if magic != IDX_MAGIC[expected_ndim]:
        raise DataError(f"{what}: wrong magic number 0x{magic:08x}, expected 0x{IDX_MAGIC[expected_ndim]:08x}"
                        f" (unsigned-byte {expected_ndim}-D IDX)")
    header = 4 + 4 * expected_ndim
    if len(payload) < header:
        raise DataError(f"{what}: truncated header ({len(payload)} bytes, need {header})")
    dims = [int.from_bytes(payload[4 + 4 * i: 8 + 4 * i], "big") for i in range(expected_ndim)]
    if expected_ndim == 3 and dims[1:] != [TIMESTEPS, FEATURES]:
        raise DataError(f"{what}: images are {dims[1]}x{dims[2]}, expected 28x28")
    expected_len = header + int(np.prod(dims, dtype=np.int64))
    if len(payload) != expected_len:
        state = "truncated" if len(payload) < expected_len else "longer than its header says"
        raise DataError(f"{what}: {state}: {len(payload)} bytes, header says {expected_len} for dims {dims}")
    return np.frombuffer(payload, dtype=np.uint8, offset=header).reshape(dims)


def _assemble(name: str, source: str, arrays: dict[str, np.ndarray], hashes: dict[str, str],
              where: str | None = None) -> Dataset:
    """`source` says what kind of data was read (recorded in results); `where`, the path, is only named in
    error messages: results and manifests carry names, counts and sha256, never a machine's folders."""
    where = where or source
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (TIMESTEPS, FEATURES):
            raise DataError(f"{where}: x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if y.ndim != 1:
            raise DataError(f"{where}: y_{split} has shape {y.shape}, expected (N,)")
        if len(x) != len(y):
            raise DataError(f"{where}: {len(x)} {split} images but {len(y)} labels")
        if len(y) == 0:
            raise DataError(f"{where}: the {split} split is empty")
    out = {}
    for key, arr in arrays.items():
        if key.startswith("x"):
            out[key] = to_model_input(arr, f"{where} {key}")
        else:
            out[key] = _labels(arr, f"{where} {key}")
    return Dataset(name, source, out["x_train"], out["y_train"], out["x_test"], out["y_test"], hashes, spec=MNIST_SPEC)


def to_model_input(pixels: np.ndarray, what: str = "input") -> np.ndarray:
    """uint8 (or float 0..255) pixels -> float32 in [0, 1]; NaN, inf and out-of-range values are errors."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(pixels.dtype, np.number) or np.issubdtype(pixels.dtype, np.complexfloating):
        raise DataError(f"{what}: pixels have dtype {pixels.dtype}, expected uint8")
    values = pixels.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise DataError(f"{what}: contains NaN or infinite values")
    if values.size and (values.min() < 0 or values.max() > 255):
        raise DataError(f"{what}: pixel values outside 0..255 (min {values.min()}, max {values.max()})")
    return (values / 255.0).astype(np.float32)


def _labels(arr: np.ndarray, what: str) -> np.ndarray:
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.isfinite(arr)) \
                or not np.all(arr == np.round(arr)):
            raise DataError(f"{what}: labels must be integers 0..9")
    if arr.size and (arr.min() < 0 or arr.max() >= NUM_CLASSES):
        raise DataError(f"{what}: labels out of range 0..9 (min {arr.min()}, max {arr.max()})")
    return arr.astype(np.int64)
