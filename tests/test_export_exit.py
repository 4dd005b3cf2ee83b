"""`edgeseq export`'s exit status (edgeseq.export.plan.not_exported): a recipe nobody named that the converter or
the recipes table cannot make for a model is a note, exit 0; a recipe named with --quant that did not export, or
any real failure, is exit 1. The rule on results, the command around it without a converter (the table knows no
graph, or the exports are stood in for), and two real exports (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, invoke_cli, run_cli

from edgeseq.export.exporter import ExportResult
from edgeseq.export.plan import Modes, not_exported

GRU = "gru-16x1-tanh"     # the table knows no int16x8 graph for a GRU: unsupported at once, no converter started


def result(recipe: str, status: str, graph: str | None = "unrolled", fmt: str = "tflite") -> ExportResult:
    reason = None if status == "ok" else f"{recipe} {status}"
    return ExportResult(GRU, fmt, recipe, graph, status, None, None, None, reason, None, 0.0)


def names(found: list[ExportResult]) -> list[str]:
    return [f"{r.recipe}@{r.graph}" for r in found]


def test_unsupported_is_a_note_unless_named_and_failed_always_fails():
    results = [result("fp32", "ok"), result("int16x8", "unsupported", None), result("int8", "failed")]
    failed, notes = not_exported(results)
    assert names(failed) == ["int8@unrolled"] and names(notes) == ["int16x8@None"]
    failed, notes = not_exported(results, named=("int16x8", "fp32", "int8"))
    assert names(failed) == ["int16x8@None", "int8@unrolled"] and notes == []
    assert not_exported([result("fp32", "ok")], named=("fp32",)) == ([], [])


def test_a_candidate_is_a_note_where_another_graph_of_its_recipe_exported():
    """--graph auto: an unsupported candidate is a note beside a sibling that exported, named or not; a named
    recipe none of whose candidates exported fails, and a candidate that failed always does."""
    results = [result("fp32", "ok", "unrolled"), result("fp32", "unsupported", "fused"),
               result("int16x8", "unsupported", "unrolled"), result("int16x8", "unsupported", "hoisted"),
               result("dynamic", "ok", "unrolled"), result("dynamic", "failed", "loop")]
    failed, notes = not_exported(results, named=("fp32", "int16x8", "dynamic"))
    assert names(failed) == ["int16x8@unrolled", "int16x8@hoisted", "dynamic@loop"]
    assert names(notes) == ["fp32@fused"]
    failed, notes = not_exported(results)
    assert names(failed) == ["dynamic@loop"] and len(notes) == 3


def test_a_crashed_candidate_is_a_note_beside_a_sibling_and_a_failure_alone():
    """The converter's process died on one graph (status crashed): beside a graph of the same recipe that
    exported it is a note; alone it fails, named or not."""
    results = [result("int8", "ok", "unrolled-b1"), result("int8", "crashed", "loop"),
               result("int16x8", "crashed", "loop")]
    failed, notes = not_exported(results, named=("int8", "int16x8"))
    assert names(failed) == ["int16x8@loop"] and names(notes) == ["int8@loop"]
    assert names(not_exported(results)[0]) == ["int16x8@loop"]


def test_a_step_model_is_a_file_of_its_own():
    """--streaming: the whole-sequence file exporting does not excuse its recipe's step model, when named."""
    results = [result("fp32", "ok", "unrolled"), result("fp32", "unsupported", "step")]
    assert names(not_exported(results, named=("fp32",))[0]) == ["fp32@step"]
    assert names(not_exported(results)[1]) == ["fp32@step"]


def test_modes_name_the_recipes_given_with_quant():
    results = [result("int16x8", "unsupported", None)]
    assert Modes(named=("int16x8",)).not_exported(results)[0] == results
    assert Modes().not_exported(results) == ([], results)


def fake_source(root: Path) -> Path:
    """A model file where export looks for one: enough for a recipe the table refuses before reading it."""
    folder = root / GRU
    folder.mkdir(parents=True)
    (folder / f"{GRU}.keras").write_bytes(b"PK not read: the table refuses the recipe first")
    return root


def test_a_named_unsupported_recipe_exits_1(tmp_path):
    done = invoke_cli("export", "--from", fake_source(tmp_path / "models"), "--model", GRU, "--format", "tflite",
                      "--quant", "int16x8", "--out", tmp_path / "out", "--json")
    assert done.returncode == 1, done.stderr
    (row,) = json.loads(done.stdout)
    assert row["status"] == "unsupported" and row["reason"].startswith("no working graph"), row
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith(f"Error: 1 of 1 recipe(s) did not export: {GRU} tflite/int16x8: unsupported (")
    assert not [line for line in lines if line.startswith("note:")]


def test_an_unnamed_unsupported_recipe_is_a_note_and_exit_0(tmp_path, monkeypatch):
    """Every TFLite recipe asked for, none named: the exports are stood in for (ok where the table has a graph,
    else unsupported, as export_one answers); only a real failure then fails the command."""
    from edgeseq.export import batch

    def stand_in(spec, source, out, dataset, workdir, *session):
        ok = spec.graph is not None
        return ExportResult(spec.arch.value, spec.recipe.format.value, spec.recipe.name,
                            spec.graph.value if ok else None, "ok" if ok else "unsupported", None, 1 if ok else None,
                            None, None if ok else spec.recipe.note_for(spec.arch), None, 0.0)

    monkeypatch.setattr(batch, "export_one", stand_in)
    args = ["export", "--from", fake_source(tmp_path / "models"), "--model", GRU, "--format", "tflite",
            "--out", tmp_path / "out"]
    done = invoke_cli(*args)
    assert done.returncode == 0, done.stderr
    assert "note: 1 recipe(s) unsupported here, not exported" in done.stderr and "tflite/int16x8" in done.stderr
    assert "Error" not in done.stderr

    def failing(spec, *rest):
        found = stand_in(spec, *rest)
        return found if spec.recipe.name != "int8" else ExportResult(
            *[getattr(found, f) for f in ("model", "format", "recipe", "graph")], "failed", None, None, None,
            "a structural check failed", None, 0.0)

    monkeypatch.setattr(batch, "export_one", failing)
    done = invoke_cli(*args)
    assert done.returncode == 1 and "note: 1 recipe(s)" in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"Error: 1 of 5 recipe(s) did not export: {GRU} tflite/int8: failed (a structural check failed)")


def test_help_states_the_rule():
    done = invoke_cli("export", "--help")
    text = " ".join(done.stdout.split())
    assert "Exit 1 if a recipe you named with --quant did not export, or if any export failed" in text
    assert "is a note on stderr and exit 0" in text


@pytest.mark.slow
def test_every_tflite_recipe_of_the_committed_rnn_exports(tmp_path):
    """`export --from models --model rnn --format tflite`: int16x8 too, on the hoisted graph (the table's)."""
    done = run_cli("export", "--from", REPO / "models", "--model", "rnn", "--format", "tflite",
                   "--calibration-size", "100", "--out", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["recipe"]: r for r in json.loads(done.stdout)}
    assert set(rows) == {"fp32", "fp16", "dynamic", "int8", "int16x8"}
    assert all(r["status"] == "ok" for r in rows.values()), rows
    assert rows["int16x8"]["graph"] == "hoisted" and "note:" not in done.stderr


@pytest.mark.slow
def test_an_own_gru_exports_every_tflite_recipe_it_can_and_exits_0(tmp_path):
    """`export --keras my_gru.keras --data d.npz --format tflite`, no recipe named: int16x8 has no graph for a
    GRU (a note, exit 0); the same with --quant int16x8 named is exit 1."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    x = (np.sin((y[:, None, None] + 1) * 0.5 * np.arange(12)[None, :, None] + np.arange(3))
         + 0.1 * rng.normal(size=(200, 12, 3))).astype(np.float32)
    np.savez(tmp_path / "d.npz", x_train=x[:150], y_train=y[:150], x_test=x[150:], y_test=y[150:])
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12, 3)), keras.layers.GRU(4), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:150], y[:150], epochs=1, verbose=0)
    model.save(tmp_path / "my_gru.keras")
    common = ("--keras", tmp_path / "my_gru.keras", "--data", tmp_path / "d.npz", "--format", "tflite",
              "--calibration-size", "50", "--json")
    done = run_cli("export", *common, "--out", tmp_path / "all")
    assert done.returncode == 0, done.stderr
    status = {r["recipe"]: r["status"] for r in json.loads(done.stdout)}
    assert status == {"fp32": "ok", "fp16": "ok", "dynamic": "ok", "int8": "ok", "int16x8": "unsupported"}, status
    assert "note: 1 recipe(s) unsupported here" in done.stderr and "my_gru tflite/int16x8" in done.stderr
    named = run_cli("export", *common, "--quant", "int16x8", "--out", tmp_path / "named")
    assert named.returncode == 1 and "my_gru tflite/int16x8: unsupported" in named.stderr, named.stderr
