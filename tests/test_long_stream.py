"""`edgeseq drift --stream`: one long stream with and without the reset the contract prescribes. The committed int8
RNN step model, run without reset, saturates its state's quantized range within the first few sequences and
loses its answers; the measurement says to reset. A float file is its own reference. No TensorFlow."""

import json

import numpy as np

from edgeseq.diagnostics.long_stream import StreamMode, _saturated, reset_rule

from conftest import REPO, run_cli

MODELS = REPO / "models"


def _no_nan(text: str) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")
    return json.loads(text, parse_constant=refuse)


def test_a_quantized_state_that_saturates_without_reset_is_found_and_the_rule_says_reset(tmp_path,
                                                                                      without_tensorflow):
    done = run_cli("drift", MODELS / "rnn" / "rnn-int8-step-app.tflite", "--stream", "1000", "--json", cwd=tmp_path,
                   env=without_tensorflow)
    assert done.returncode == 0, done.stderr
    result = _no_nan(done.stdout)
    assert result["reference"].endswith("rnn-fp32-step.tflite") and result["runtime"] == "litert"
    reset, never = result["modes"]
    assert (reset["reset"], never["reset"]) == (True, False)
    assert reset["steps"] == never["steps"] == 1008 and reset["sequences"] == 36      # whole sequences of 28 rows
    [h_reset], [h_never] = reset["states"], never["states"]
    low, high = h_never["quantized"]
    assert low == 0.0 and high > 0                                    # the relu state's int8 range
    assert h_never["saturation"] > h_reset["saturation"] and h_never["first_saturated_step"] is not None
    assert h_reset["first_saturated_step"] is None or h_reset["first_saturated_step"] > h_never["first_saturated_step"]
    assert never["file_accuracy"] < reset["file_accuracy"] - 0.2
    assert not result["may_run_on"] and result["rule"].startswith("reset every state to zeros before each sequence")
    assert len(reset["probability_diff"]) == 10 and reset["first_differing_step"] >= 1
    shown = run_cli("drift", MODELS / "rnn" / "rnn-int8-step-app.tflite", "--stream", "300", cwd=tmp_path,
                    env=without_tensorflow)
    assert shown.returncode == 0 and "saturated %" in shown.stdout and "rule: reset every state" in shown.stdout


def test_a_float_step_file_is_its_own_reference_and_has_no_quantized_range(tmp_path, without_tensorflow):
    done = run_cli("drift", MODELS / "rnn" / "rnn-fp32-step.tflite", "--stream", "200", "--json", cwd=tmp_path,
                   env=without_tensorflow)
    assert done.returncode == 0, done.stderr
    result = _no_nan(done.stdout)
    for mode in result["modes"]:
        assert mode["agreement"] == 1.0 and mode["first_differing_step"] is None
        assert mode["states"][0]["quantized"] is None and mode["states"][0]["saturation"] is None


def test_saturation_counts_both_ends_except_a_zero_floor():
    values = np.array([[0.0, 0.05, 1.0, 0.96, 0.5]], np.float32)
    assert _saturated(values, 0.0, 1.0, 0.1).tolist() == [[False, False, True, True, False]]
    assert _saturated(values - 0.5, -0.5, 0.5, 0.1).tolist() == [[True, True, True, True, False]]


def _mode(reset: bool, accuracy: float) -> StreamMode:
    return StreamMode(reset, 2800, 100, accuracy, accuracy, 1.0, None, None, None, None, (0.0,), ())


def test_the_rule_lets_a_state_run_on_only_within_a_point_of_the_reset_accuracy():
    text, may = reset_rule(_mode(True, 0.95), _mode(False, 0.945))
    assert may and text.startswith("the state may run on") and "94.50 %" in text and "95.00 %" in text
    text, may = reset_rule(_mode(True, 0.95), _mode(False, 0.90))
    assert not may and text.startswith("reset every state")


def test_stream_option_errors_are_usage_errors(tmp_path, without_tensorflow):
    for args in (("--stream", "0"), ("--stream", "100", "--limit", "5")):
        done = run_cli("drift", MODELS / "rnn" / "rnn-int8-step-app.tflite", *args, cwd=tmp_path,
                       env=without_tensorflow)
        assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith("Error: "), done.stderr


def test_record_writes_the_rule_into_the_step_manifest_and_pack_states_it(tmp_path, without_tensorflow):
    import shutil

    for name in ("rnn-int8-step-app.tflite", "rnn-int8-step-app.tflite.json", "rnn-fp32-step.tflite",
                 "rnn-fp32-step.tflite.json", "rnn.golden.npz"):
        shutil.copy(MODELS / "rnn" / name, tmp_path / name)
    before = json.loads((tmp_path / "rnn-int8-step-app.tflite.json").read_text())
    before["step"].pop("reset_rule", None)                        # the committed one's: measured on full MNIST
    done = run_cli("drift", "rnn-int8-step-app.tflite", "--stream", "200", "--record", cwd=tmp_path,
                   env=without_tensorflow)
    assert done.returncode == 0 and "recorded in" in done.stdout, done.stderr
    after = json.loads((tmp_path / "rnn-int8-step-app.tflite.json").read_text())
    rule = after["step"].pop("reset_rule")
    assert after == before                                        # nothing else changed
    assert not rule["may_run_on"] and rule["steps"] == 224 and rule["reference"] == "rnn-fp32-step.tflite"
    assert "/" not in rule["measured_by"] and str(tmp_path) not in json.dumps(rule)
    checked = run_cli("validate", "rnn-int8-step-app.tflite", cwd=tmp_path, env=without_tensorflow)
    assert checked.returncode == 0, checked.stdout + checked.stderr          # the file still matches its manifest
    packed = run_cli("pack", "rnn-int8-step-app.tflite", "--out", "packed", cwd=tmp_path, env=without_tensorflow)
    assert packed.returncode == 0, packed.stderr
    readme = (tmp_path / "packed" / "README.md").read_text()
    assert "Reset, as measured on one stream of 224 steps" in readme and rule["rule"] in readme
    refused = run_cli("drift", "rnn-int8-step-app.tflite", "--record", cwd=tmp_path, env=without_tensorflow)
    assert refused.returncode == 2 and "--record goes with --stream" in refused.stderr
