"""Modules that stay small (issue 32's target): no module of the package and no tool over 350 lines."""

import pytest

from conftest import REPO

LIMIT = 350
SOURCES = sorted([*(REPO / "edgeseq").rglob("*.py"), *(p for p in (REPO / "tools").iterdir() if p.is_file())])


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(REPO)) for p in SOURCES])
def test_no_module_or_tool_is_over_the_limit(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LIMIT, f"{path.relative_to(REPO)}: {lines} lines (at most {LIMIT}: split it by what it does)"
