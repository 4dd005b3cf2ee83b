"""The fused TFLite LSTM: one builtin UNIDIRECTIONAL_SEQUENCE_LSTM op per layer, relu, matching Keras."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
Interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter

from edgeseq import data, models, recipes  # noqa: E402
from edgeseq.core.errors import ExportError  # noqa: E402
from edgeseq.export import fused_lstm  # noqa: E402
from edgeseq.core.tfsupport import import_keras  # noqa: E402

DIGITS = 50


@pytest.fixture(scope="module")
def trained_lstm() -> tuple[object, np.ndarray, np.ndarray]:
    """The project's LSTM trained one short epoch, some test digits and Keras' probabilities for them."""
    keras = import_keras()
    keras.utils.set_random_seed(0)
    dataset = data.load("sample")
    model = models.compile_for_training(models.build(models.Arch.LSTM))
    model.fit(dataset.x_train[:1000], dataset.y_train[:1000], epochs=1, batch_size=64, verbose=0)
    digits = dataset.x_test[:DIGITS]
    return model, digits, np.asarray(model(digits, training=False))


@pytest.fixture(scope="module")
def flatbuffers(trained_lstm: tuple) -> dict[str, bytes]:
    """The model converted fp32 and dynamic-range."""
    model = trained_lstm[0]
    return {quantization: fused_lstm.fused_lstm_tflite(model, recipes.recipe("tflite", quantization).tflite)
            for quantization in ("fp32", "dynamic")}


def run_digits(flatbuffer: bytes, digits: np.ndarray) -> np.ndarray:
    """Probabilities digit by digit, resetting the LSTM state tensors before every invoke."""
    interpreter = Interpreter(model_content=flatbuffer, num_threads=1)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    rows = []
    for digit in digits:
        interpreter.reset_all_variables()
        interpreter.set_tensor(source, digit[np.newaxis])
        interpreter.invoke()
        rows.append(interpreter.get_tensor(target)[0].copy())
    return np.array(rows)


@pytest.mark.parametrize("quantization", ["fp32", "dynamic"])
def test_each_lstm_layer_is_one_builtin_op(flatbuffers: dict[str, bytes], quantization: str) -> None:
    ops = fused_lstm.operator_names(flatbuffers[quantization])
    assert ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2
    assert "WHILE" not in ops and "CUSTOM" not in ops


@pytest.mark.parametrize("quantization", ["fp32", "dynamic"])
def test_lstm_options_say_relu_without_clip(flatbuffers: dict[str, bytes], quantization: str) -> None:
    options = fused_lstm.lstm_options(flatbuffers[quantization])
    assert len(options) == 2
    for option in options:
        assert (option["activation"], option["cell_clip"], option["proj_clip"]) == ("RELU", 0.0, 0.0)


def test_signature_is_pixels_to_probabilities(flatbuffers: dict[str, bytes]) -> None:
    interpreter = Interpreter(model_content=flatbuffers["fp32"])
    signatures = interpreter.get_signature_list()
    assert signatures == {"serving_default": {"inputs": ["pixels"], "outputs": ["probabilities"]}}
    assert list(interpreter.get_input_details()[0]["shape"]) == [1, 28, 28]
    assert list(interpreter.get_output_details()[0]["shape"]) == [1, 10]


def test_fp32_matches_keras(trained_lstm: tuple, flatbuffers: dict[str, bytes]) -> None:
    _, digits, expected = trained_lstm
    assert np.abs(run_digits(flatbuffers["fp32"], digits) - expected).max() < 1e-4


def test_dynamic_range_agrees_with_keras(trained_lstm: tuple, flatbuffers: dict[str, bytes]) -> None:
    _, digits, expected = trained_lstm
    agreement = (run_digits(flatbuffers["dynamic"], digits).argmax(axis=1) == expected.argmax(axis=1)).mean()
    assert agreement >= 0.95


def test_rewrite_round_trips_in_place(flatbuffers: dict[str, bytes]) -> None:
    original = flatbuffers["fp32"]
    converter_like = fused_lstm.rewrite_lstm_activation(original, "TANH", cell_clip=10.0)
    assert len(converter_like) == len(original)
    assert {o["activation"] for o in fused_lstm.lstm_options(converter_like)} == {"TANH"}
    assert fused_lstm.rewrite_lstm_activation(converter_like, "RELU") == original


def test_integer_activations_are_an_export_error(trained_lstm: tuple) -> None:
    with pytest.raises(ExportError, match="always use tanh"):
        fused_lstm.fused_lstm_tflite(trained_lstm[0], recipes.recipe("tflite", "int8").tflite)
