"""Integrity everywhere a file is run: the one check validate, inspect, bench, drift, quant-debug and the
report make before they use an exported file. In order: the size and sha256 its manifest records
(`fileio.verify_against_manifest`), its structure (`artifacts.read_facts`: a corrupt file is reported as
corrupt), then the facts embedded in the file against the manifest (`embedded.contradictions`). With `verify`
off (the commands' --no-verify) only the structure is read, and the result says the check was skipped.
No runtime library is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeseq.artifacts import FileFacts, read_facts
from edgeseq.embedded import contradictions
from edgeseq.core.errors import IntegrityError
from edgeseq.core.manifest import Manifest, read_manifest, verify_against_manifest
from edgeseq.core.keras_archive import check_keras_archive
from edgeseq.core.layout import KERAS_FORMAT, SUFFIXES, shown

SKIPPED = "skipped (--no-verify)"
NOT_GIVEN = object()


@dataclass(frozen=True)
class Checked:
    """A file as checked: its manifest (None without one), the integrity outcome (verified | no-manifest |
    skipped (--no-verify)) and its facts, read once (None for a .keras model: its archive is checked
    instead)."""
    manifest: Manifest | None
    integrity: str
    facts: FileFacts | None


def integrity_of(path: Path, verify: bool, manifest: Manifest | None, sha256: str | None = None) -> str:
    """Size and sha256 against the manifest: 'verified', 'no-manifest' or SKIPPED (an IntegrityError on a
    mismatch). `check` starts with it; bench records it for a file whose structure then fails."""
    return verify_against_manifest(path, manifest, sha256) if verify else SKIPPED


def check(path: Path, verify: bool = True, manifest: Any = NOT_GIVEN, sha256: str | None = None) -> Checked:
    """`path` against its manifest: size and sha256, structure, embedded facts (module docstring); a
    one-line IntegrityError (or ModelError for a corrupt file) on the first problem. A caller that has read
    the manifest or hashed the file passes them, so neither is read twice."""
    path = Path(path)
    if manifest is NOT_GIVEN:
        manifest = read_manifest(path)
    integrity = integrity_of(path, verify, manifest, sha256)
    if path.suffix == SUFFIXES[KERAS_FORMAT]:
        check_keras_archive(path)
        return Checked(manifest, integrity, None)
    facts = read_facts(path)
    if manifest is not None and (problem := manifest.contradicted_by(facts)):     # with or without --no-verify
        raise IntegrityError(f"{shown(path)}: {problem}")
    if verify and (problems := contradictions(facts.embedded, manifest)):
        raise IntegrityError(f"{shown(path)}: its embedded metadata contradicts its manifest"
                             f" ({problems[0]})")
    return Checked(manifest, integrity, facts)
