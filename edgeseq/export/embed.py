"""The file describes itself: edgeseq's essentials embedded in the exported file, so that a file found
without its manifest still says what it is.

- ONNX: a `metadata_props` entry `edgeseq` (where ultralytics also puts its model facts);
- TFLite: a named metadata entry `edgeseq` whose buffer holds the same JSON (the TFLite schema's own
  `Model.metadata`, as the converter's `min_runtime_version` entry is stored).

Each is written by its format's adapter (edgeseq.formats: `embed`).

Both are read back by `artifacts.read_facts` (`FileFacts.embedded`); `validate` refuses a file whose
embedded facts contradict its manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgeseq import formats
from edgeseq.core.errors import ExportError


def embed(path: Path, facts: dict[str, Any]) -> None:
    """Write `facts` into the file at `path`, in place."""
    payload = json.dumps(facts, sort_keys=True)
    try:
        formats.by_suffix(path).adapter().embed(Path(path), payload)
    except Exception as err:  # noqa: BLE001  (flatbuffers/protobuf errors have no common base)
        raise ExportError(f"cannot embed metadata in {Path(path).name}: {type(err).__name__}: {err}") from err
