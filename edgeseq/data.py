"""MNIST as float32 (N, 28, 28) in [0, 1], read row by row: 28 timesteps of 28 pixels.

Sources, chosen by one string (the CLI's --data):
  sample   a stratified 6,000 + 1,000 digit sample of real MNIST shipped inside the package (offline)
  mnist    full MNIST through Keras' own cache/download (needs Keras, or a cached mnist.npz)
  PATH     a folder with the four official IDX files (gzipped or not), or a Keras mnist.npz

There is no fallback from one to another: the Dataset records what was read.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeseq.errors import DataError
from edgeseq.fileio import sha256_file

TIMESTEPS = 28
FEATURES = 28
NUM_CLASSES = 10
LABELS = tuple(str(i) for i in range(NUM_CLASSES))
NORMALISATION = {
    "input": "uint8 pixel / 255.0 -> float32 in [0, 1]",
    "layout": "row-major: 28 timesteps (image rows) x 28 features (pixels of the row)",
    "shape": [TIMESTEPS, FEATURES],
}
SAMPLE_PATH = Path(__file__).parent / "sample" / "mnist-sample.npz"

IDX_NAMES = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned bytes, 3-D images / 1-D labels


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

    def identity(self) -> dict[str, object]:
        """What every result records about the data it used."""
        return {
            "name": self.name,
            "source": self.source,
            "train_count": int(len(self.y_train)),
            "test_count": int(len(self.y_test)),
            "sha256": dict(self.sha256),
            **({"note": self.note} if self.note else {}),
        }

    def limited(self, train: int | None = None, test: int | None = None) -> "Dataset":
        """The first `train` / `test` digits (for quick runs); the identity says so."""
        if train is None and test is None:
            return self
        xtr, ytr = self.x_train[:train], self.y_train[:train]
        xte, yte = self.x_test[:test], self.y_test[:test]
        note = "; ".join(filter(None, [self.note, f"limited to the first {len(ytr)} train / {len(yte)} test"]))
        return Dataset(self.name, self.source, xtr, ytr, xte, yte, self.sha256, note)


def load(spec: str | os.PathLike = "sample") -> Dataset:
    """Load the data named by `spec` ('sample', 'mnist' or a path)."""
    text = str(spec)
    if text == "sample":
        return _load_sample()
    if text == "mnist":
        return _load_keras_mnist()
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(f"data path not found: {path} (use 'sample', 'mnist', an IDX folder or mnist.npz)")
    if path.is_dir():
        npz = path / "mnist.npz"
        if _find_idx(path, "x_train") is None and npz.is_file():
            return _load_npz(npz, name=f"npz:{npz.parent.name}/{npz.name}")
        return _load_idx_folder(path)
    if path.suffix == ".npz":
        return _load_npz(path, name=f"npz:{path.name}")
    raise DataError(f"{path} is neither a folder of IDX files nor a .npz file")


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


def _load_npz(path: Path, name: str) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in IDX_NAMES if k not in archive.files]
            if missing:
                raise DataError(f"{path} lacks the arrays {', '.join(missing)} (expected x_train, y_train,"
                                " x_test, y_test as in Keras' mnist.npz)")
            arrays = {k: archive[k] for k in IDX_NAMES}
    except DataError:
        raise
    except (OSError, ValueError, zlib.error, EOFError) as err:
        raise DataError(f"cannot read {path} as .npz: {err}") from err
    except Exception as err:  # noqa: BLE001  (zipfile raises BadZipFile and friends)
        raise DataError(f"cannot read {path} as .npz: {type(err).__name__}: {err}") from err
    return _assemble(name, "a Keras-format mnist.npz", arrays, {path.name: sha256_file(path)}, str(path))


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
    return Dataset(name, source, out["x_train"], out["y_train"], out["x_test"], out["y_test"], hashes)


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


def calibration_sample(ds: Dataset, size: int, seed: int = 0) -> np.ndarray:
    """`size` training digits drawn with `seed` (for quantization calibration)."""
    if size <= 0:
        raise DataError("calibration size must be positive")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(ds.x_train), size=min(size, len(ds.x_train)), replace=False)
    return ds.x_train[np.sort(idx)]
