"""A cheap structural check of a .keras file, before TensorFlow is imported to load it (no TensorFlow here)."""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

from edgeseq.core.errors import ModelError

KERAS_ARCHIVE_MEMBERS = ("config.json", "model.weights.h5")


def check_keras_archive(path: Path) -> None:
    """A cheap structural check of a .keras file (a zip holding config.json and model.weights.h5), before
    TensorFlow is imported to load it: truncation and corruption are a one-line ModelError."""
    path = Path(path)
    what = f"cannot load {path} as a Keras model"
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            missing = [m for m in KERAS_ARCHIVE_MEMBERS if m not in archive.namelist()]
            if missing:
                raise ModelError(f"{what}: the archive lacks {', '.join(missing)}")
            damaged = archive.testzip()
            if damaged:
                raise ModelError(f"{what}: {damaged} in the archive is corrupt (CRC mismatch)")
            config = json.loads(archive.read("config.json"))
    except ModelError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, EOFError, OSError, ValueError,
            RecursionError) as err:  # what zipfile and json raise on damaged archives
        raise ModelError(f"{what}: not a readable .keras archive ({type(err).__name__}: {err})") from err
    if not isinstance(config, dict):
        raise ModelError(f"{what}: config.json is not a JSON object")
