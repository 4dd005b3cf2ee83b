"""Export in one process: every recipe of every model in one export call is converted by one converter process
(TensorFlow imported once), the portability runs by one shared guard child, and the files are the bytes a fresh
process per recipe writes (the child resets the names Keras and the converters count between requests)."""

from pathlib import Path

import pytest

from conftest import REPO

from edgeseq.core.fileio import sha256_file
from edgeseq.core.procs import WorkerSession
from edgeseq.data import load
from edgeseq.export import batch
from edgeseq.export.exporter import export_one, plan
from edgeseq.models import variant
from edgeseq.recipes import Format, Quant
from edgeseq.recipes import recipe as recipe_row
from edgeseq.runtimes import guard

pytestmark = pytest.mark.slow

RECIPES = [recipe_row(Format.TFLITE, Quant.FP32), recipe_row(Format.TFLITE, Quant.FP16),
           recipe_row(Format.TFLITE, Quant.DYNAMIC)]
MODELS = ("rnn", "lstm")


def test_an_exports_recipes_share_one_converter_and_one_guard_child(tmp_path, monkeypatch):
    sessions: list[WorkerSession] = []
    shared: list[guard.SharedChild] = []

    class CountedSession(WorkerSession):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            sessions.append(self)

    class CountedShared(guard.SharedChild):
        def __enter__(self):
            shared.append(self)
            return super().__enter__()

        def __exit__(self, *exc):
            self.seen = self.started          # before the session is closed
            return super().__exit__(*exc)

    monkeypatch.setattr(batch, "WorkerSession", CountedSession)
    monkeypatch.setattr(batch, "SharedChild", CountedShared)
    dataset = load("sample")
    specs = plan([variant(name) for name in MODELS], RECIPES)
    together = batch.export_all(specs, REPO / "models", tmp_path / "together", dataset)
    assert [r.status for r in together] == ["ok"] * len(specs), together
    assert len(sessions) == 1 and sessions[0].started == 1            # one converter process for both models
    assert len(shared) == 1 and shared[0].seen == 1 and shared[0].confirmed == 0
    for spec, result in zip(specs, together):
        section = result.portability or {}
        measured = [c for c in (*section.get("runs_on", []), *section.get("does_not_run_on", [])) if c["measured"]]
        assert {"LiteRT", "tf.lite"} <= {c["backend"] for c in measured}, section      # run in the shared child
        if spec.recipe.quant is Quant.FP32:
            assert {c["backend"] for c in section["runs_on"]} >= {"LiteRT", "tf.lite"}, section
        alone_dir = tmp_path / f"alone-{spec.arch.value}-{spec.recipe.name}"
        (alone_dir / "work").mkdir(parents=True)
        source = REPO / "models" / spec.arch.value / f"{spec.arch.value}.keras"
        alone = export_one(spec, source, alone_dir, dataset, alone_dir / "work")
        assert alone.status == "ok" and sha256_file(Path(alone.path)) == sha256_file(Path(result.path)), spec
        assert alone.portability == result.portability, spec
