"""How the tests share two cores (pytest-xdist: pyproject's addopts run `-n auto --dist loadgroup`).

A session build (the quick run, a venv) is made once and shared by the workers: conftest's `built_once`. A
module whose module-scoped fixtures build something (a sweep, step models, converted files) goes to one worker
as one group, so that the build is made once; test_converters.py's module fixtures are a cache of one conversion
per case, so its two tests of a case go together instead, and its cases spread over the workers.

The groups reach the scheduler (in the controller, which collects nothing) through a file in the session's
temporary folder, which each worker writes when it has collected: pytest-xdist's own route, a suffix on each
test's id, no longer works with pytest 9.2 (pytest-dev/pytest-xdist#1386), and the groups are taken from the
fixtures the tests use, not from marks.

The workers take the tests in collection order, which `order` sets: the quick run first (the longest build: its
worker is busy with it while the others start on the rest), then the modules that take longest (measured,
longest first, so that none is left running alone at the end), the other tests, and last the tests that use the
quick run's files (by then it has long finished), longest first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

GROUPS_FILE = "xdist-groups.json"
THE_RUN = "test_run.py"
BY_CASE = ("test_converters.py",)
# measured in a clean-clone run (pytest --durations), longest first: the recipe search's per-layer phase (about 7
# minutes of ai-edge-quantizer conversions in two tests), the whole job on JapaneseVowels, the sweep, ...
LONGEST = ("test_quant_mix.py", "test_own_run.py",
           "test_sweep.py", "test_converters.py", "test_pack_kotlin.py", "test_search.py", "test_export_session.py",
           "test_export_exit.py", "test_committed_models.py", "test_variants.py", "test_graph_choice.py",
           "test_own_model.py", "test_health.py", "test_tflite_runtime.py", "test_bench_ssh.py", "test_reference.py",
           "test_fused_lstm.py", "test_drift.py", "test_scaling.py", "test_cli_options.py", "test_quant_debug.py",
           "test_openvino.py", "test_report.py")
LONGEST_WITH_THE_RUN = ("test_streaming.py", "test_validate.py", "test_interrupt.py", "test_runtime_only.py",
                        "test_device_parity.py", "test_export.py", "test_bench.py")


def session_folder(config: pytest.Config) -> Path:
    """The session's temporary folder, in which each xdist worker's own temporary folder is."""
    base = config._tmp_path_factory.getbasetemp()  # noqa: SLF001  (as pytest-xdist itself reads it)
    return base.parent if hasattr(config, "workerinput") else base


def _module_builds(item: pytest.Item) -> bool:
    """Whether the test uses a module-scoped fixture of its own module."""
    module = item.nodeid.split("::")[0]
    fixtures = getattr(item, "_fixtureinfo", None)
    return fixtures is not None and any(d.scope == "module" and d.baseid == module
                                        for defs in fixtures.name2fixturedefs.values() for d in defs)


def group(item: pytest.Item) -> str | None:
    """The group the test runs in (None: on its own)."""
    module = item.nodeid.split("::")[0]
    if module.rsplit("/", 1)[-1] in BY_CASE and hasattr(item, "callspec"):
        return f"{module}[{item.callspec.id}]"
    return module if _module_builds(item) else None


def _rank(item: pytest.Item) -> tuple[int, int]:
    name = item.nodeid.split("::")[0].rsplit("/", 1)[-1]
    if name == THE_RUN:
        return 0, 0
    if "quick_run" in getattr(item, "fixturenames", ()):
        return 2, LONGEST_WITH_THE_RUN.index(name) if name in LONGEST_WITH_THE_RUN else len(LONGEST_WITH_THE_RUN)
    return 1, LONGEST.index(name) if name in LONGEST else len(LONGEST)


def order(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Sort the tests into the order above and, in an xdist worker, write their groups for the scheduler."""
    items.sort(key=_rank)
    if hasattr(config, "workerinput"):
        path = session_folder(config) / GROUPS_FILE
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(json.dumps({item.nodeid: name for item in items if (name := group(item))}))
        os.replace(partial, path)


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's loadgroup scheduler, its groups read from the workers' file; in collection order."""
    from xdist.scheduler import LoadGroupScheduling

    config.option.loadscopereorder = False
    path = session_folder(config) / GROUPS_FILE

    class Grouped(LoadGroupScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # first asked once every worker has collected (and written the file)
                self.groups = json.loads(path.read_text()) if path.is_file() else {}
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return Grouped(config, log)
