"""The recipes table's measured notes are data (edgeseq/recipes_notes.json, shipped in the package): the file
loads, every note says when and on which machine it was measured, none cites an issue number, each belongs to a
recipe and family of the table, and what users read ends with its date and machine."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from edgeseq import recipes
from edgeseq.models import Cell, Family

ISSUE = re.compile(r"issue\s*#?\d", re.IGNORECASE)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def shipped() -> dict:
    return json.loads(resources.files("edgeseq").joinpath(recipes.NOTES_FILE).read_text(encoding="utf-8"))


def test_notes_file_loads_and_every_note_has_a_date_and_a_machine():
    notes = shipped()["notes"]
    assert notes and recipes.load_notes() == {r.key: r.notes for r in recipes.RECIPES.values() if r.notes}
    families = {f.value for f in Family} | {c.value for c in Cell}
    for note in notes:
        assert set(note) == set(recipes.NOTE_FIELDS), note
        assert DATE.match(note["measured"]), note
        assert note["machine"].strip() and note["text"].strip(), note
        assert note["recipe"] in {r.key for r in recipes.RECIPES.values()}, note
        assert note["family"] in families, note
    assert len({(n["recipe"], n["family"]) for n in notes}) == len(notes)      # no note given twice


def test_no_note_cites_an_issue_number():
    assert not ISSUE.search(json.dumps(shipped(), ensure_ascii=False))
    for recipe in recipes.RECIPES.values():
        for family, note in recipe.notes.items():
            assert not ISSUE.search(note), (recipe.key, family.value, note)
            assert re.search(r" \[measured \d{4}-\d{2}-\d{2}, [^\]]+\]$", note), (recipe.key, family.value, note)


def test_a_note_says_no_working_graph_exactly_where_the_table_has_none():
    for recipe in recipes.RECIPES.values():
        for family, note in recipe.notes.items():
            assert (recipe.graphs[family] is None) == note.startswith("no working graph"), (recipe.key, family.value)


@pytest.mark.parametrize("change", [{"machine": ""}, {"measured": "December 2026"}, {"text": None}])
def test_a_note_without_its_date_machine_or_text_is_refused(change):
    note = {"recipe": "tflite/fp32", "family": "lstm", "text": "fused", "measured": "2026-12-02",
            "machine": "2-core Intel Xeon VM (shared)"}
    assert recipes.load_notes(json.dumps({"notes": [note]})) == {
        "tflite/fp32": {Family.LSTM_RELU: "fused [measured 2026-12-02, 2-core Intel Xeon VM (shared)]",
                        Family.LSTM_TANH: "fused [measured 2026-12-02, 2-core Intel Xeon VM (shared)]"}}
    with pytest.raises(ValueError):
        recipes.load_notes(json.dumps({"notes": [note | change]}))
