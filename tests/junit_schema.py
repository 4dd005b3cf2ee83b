"""The JUnit XML schema CI systems read (Jenkins' junit schema), as shipped by a package on the npm registry and
fetched by tools/fetch-junit-schema.sh into .cache/junit-schema/ (nothing third-party is committed). .ci/run fetches
it and sets EDGESEQ_REQUIRE_JUNIT_SCHEMA=1: there a missing schema fails the tests; elsewhere they are skipped with
the command that fetches it."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parent.parent / ".cache" / "junit-schema"
JENKINS = "jenkins-junit.xsd"


@lru_cache(maxsize=None)
def _load(name: str):
    import xmlschema

    return xmlschema.XMLSchema(FOLDER / name)


def junit_schema(name: str = JENKINS):
    """The schema, or a skip (a failure where EDGESEQ_REQUIRE_JUNIT_SCHEMA is set) when it was not fetched."""
    if not (FOLDER / name).is_file():
        message = f"{FOLDER / name} is missing: run tools/fetch-junit-schema.sh (needs npm)"
        if os.environ.get("EDGESEQ_REQUIRE_JUNIT_SCHEMA"):
            pytest.fail(message)
        pytest.skip(message)
    return _load(name)
