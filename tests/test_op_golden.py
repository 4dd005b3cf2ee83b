"""The op golden check: the graphs today's converters make, per recipe and architecture (tests/golden/ops.json,
written by tools/op_golden.py from models/), against the tiny test models exported in this session with the
installed TensorFlow, tf2onnx and onnxruntime. An upgrade that turns the fused LSTM into a WHILE loop, adds Flex
ops or changes the op counts fails here, saying what changed."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

from conftest import REPO
from edgeseq.core import layout

sys.path.insert(0, str(REPO / "tools"))
from op_golden import GOLDEN, graph_facts  # noqa: E402

FIELDS = ("recurrent_op", "custom_ops", "opsets", "domains")
# TFLite requantize ops: the int8 converter inserts QUANTIZE/DEQUANTIZE where calibrated scales differ, so their
# count depends on the trained weights and calibration digits (seen in CI: the tiny LSTM's int8 file with x3/x1,
# the committed one with none). Every other op count is structural.
CALIBRATION_DEPENDENT = frozenset({"QUANTIZE", "DEQUANTIZE"})


def differences(name: str, expected: dict, actual: dict) -> list[str]:
    """One sentence per change between a file's golden graph facts and its actual ones."""
    found = [f"{name}: {field} was {expected.get(field)!r}, now {actual.get(field)!r}"
             for field in FIELDS if expected.get(field) != actual.get(field)]
    before, after = expected.get("ops", {}), actual.get("ops", {})
    for op in sorted((set(before) | set(after)) - CALIBRATION_DEPENDENT):
        if before.get(op) != after.get(op):
            found.append(f"{name}: op {op} x{before.get(op, 0)} -> x{after.get(op, 0)}")
    return found


def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_exported_graphs_match_the_op_golden(exported):
    _, results = exported
    # the session's export makes no step models: theirs are checked as committed (below) and, converted from
    # tiny models, in test_converters.py
    files = {name: facts for name, facts in golden()["files"].items() if not layout.parse(Path(name)).step}
    made = {Path(r["path"]).name: Path(r["path"]) for r in results if r["status"] == "ok"}
    changes = [f"{name}: exported now, not in the golden" for name in sorted(set(made) - set(files))]
    changes += [f"{name}: in the golden, not exported now" for name in sorted(set(files) - set(made))]
    for name, path in sorted(made.items()):
        if name in files:
            changes += differences(name, files[name], graph_facts(path))
    assert not changes, ("the converters now make other graphs (golden made with "
                         f"{golden()['made_with']}); if intended, run tools/op_golden.py:\n" + "\n".join(changes))


def test_the_check_names_what_changed():
    files = golden()["files"]
    original = files["lstm-fp32.tflite"]
    assert original["recurrent_op"] and original["ops"], original
    altered = copy.deepcopy(original)
    altered["recurrent_op"] = "WHILE loop"
    first_op = next(iter(altered["ops"]))
    altered["ops"][first_op] += 1
    altered["ops"]["FlexTensorListReserve"] = 1
    found = differences("lstm-fp32.tflite", altered, original)
    assert len(found) == 3, found
    assert any("recurrent_op was 'WHILE loop'" in line for line in found)
    assert any(f"op {first_op} x{original['ops'][first_op] + 1} -> x{original['ops'][first_op]}" in line
               for line in found)
    assert any("op FlexTensorListReserve x1 -> x0" in line for line in found)
    assert differences("lstm-fp32.tflite", original, copy.deepcopy(original)) == []
    requantized = copy.deepcopy(original)
    requantized["ops"] |= {"QUANTIZE": 3, "DEQUANTIZE": 1}
    assert differences("lstm-int8.tflite", original, requantized) == []   # calibration-dependent, not a change


@pytest.mark.parametrize("name", sorted(golden()["files"]))
def test_committed_files_match_the_golden(name):
    """The golden is today's models/: regenerated with them, it cannot drift from them unseen."""
    path = next((REPO / "models").rglob(name))
    assert differences(name, golden()["files"][name], graph_facts(path)) == []
