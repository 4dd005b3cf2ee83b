"""Rewrite the manifests under the given folders in the current schema (edgeseq.core.manifest.SCHEMA_VERSION): each is
read as edgeseq reads it (an older schema upgraded in memory) and written back atomically. The files they describe
are not touched: their bytes, sizes and sha256 stay what the manifests say.

    python tools/migrate_manifests.py models
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgeseq.core.fileio import write_json_atomic
from edgeseq.core.layout import MANIFEST_SUFFIX, manifest_path
from edgeseq.core.manifest import SCHEMA_VERSION, read_manifest


def migrate(folder: Path) -> int:
    count = 0
    for path in sorted(Path(folder).rglob(f"*{MANIFEST_SUFFIX}")):
        described = path.with_name(path.name.removesuffix(MANIFEST_SUFFIX))
        if not described.is_file():
            continue                                   # history.json and other JSON files: not manifests
        manifest = read_manifest(described)
        write_json_atomic(manifest_path(described), manifest.to_dict())
        count += 1
    return count


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python tools/migrate_manifests.py FOLDER...")
    for arg in sys.argv[1:]:
        print(f"{arg}: {migrate(Path(arg))} manifests written in schema {SCHEMA_VERSION}")
