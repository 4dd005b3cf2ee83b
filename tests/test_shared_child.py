"""Files evaluated in one shared guard child (guard.SharedChild, as export's portability runs and validate use it)
give bit for bit what a fresh child per file gives, and a file that crashes the runtime is still one ModelError."""

import numpy as np
import pytest

from conftest import REPO
from test_bad_inputs import CRASHED_OR_REFUSED, crashing_tflite

from edgeseq.core.errors import ModelError
from edgeseq.data import load
from edgeseq.runtimes import RuntimeName
from edgeseq.runtimes.guard import Evaluator, SharedChild

FILES = [("rnn/rnn-fp32.tflite", RuntimeName.LITERT), ("rnn/rnn-int8.tflite", RuntimeName.LITERT),
         ("rnn/rnn-fp32.onnx", RuntimeName.ONNXRUNTIME), ("lstm/lstm-dynamic.tflite", RuntimeName.LITERT)]


@pytest.fixture(scope="module")
def sequences() -> np.ndarray:
    return load("sample").x_test[:64]


def test_one_shared_child_answers_what_fresh_children_answer(sequences):
    with SharedChild() as shared, Evaluator(sequences, shared=shared) as together, Evaluator(sequences) as apart:
        for name, runtime in FILES:
            path = REPO / "models" / name
            joint, alone = together.run(path, runtime), apart.run(path, runtime)
            assert joint.probabilities.shape == (len(sequences), 10), name
            np.testing.assert_array_equal(joint.probabilities, alone.probabilities, err_msg=name)
            assert joint.backend == alone.backend, name
        assert shared.started == 1 and shared.confirmed == 0


def test_a_crashing_file_in_the_shared_child_is_one_model_error(sequences, tmp_path):
    bad = crashing_tflite(REPO / "models" / "rnn" / "rnn-fp32.tflite", tmp_path / "bad.tflite")
    good = REPO / "models" / "rnn" / "rnn-fp32.tflite"
    with SharedChild() as shared, Evaluator(sequences, shared=shared) as evaluator:
        before = evaluator.run(good, RuntimeName.LITERT).probabilities
        with pytest.raises(ModelError) as caught:
            evaluator.run(bad, RuntimeName.LITERT)
        message = str(caught.value)
        assert message.startswith(str(bad)) and any(m in message for m in CRASHED_OR_REFUSED), message
        assert "\n" not in message
        if "SIGSEGV" in message:
            assert shared.confirmed == 1                        # asked again alone before it was blamed
        np.testing.assert_array_equal(evaluator.run(good, RuntimeName.LITERT).probabilities, before)


def test_no_sequences_is_one_data_error_not_a_guessed_class_count(sequences):
    """Nothing to predict is refused: how many classes a file has shows only in its answers."""
    from edgeseq.core.errors import DataError
    from edgeseq.runtimes import load, predict_in_batches

    loaded = load(REPO / "models" / "rnn" / "rnn-fp32.onnx", RuntimeName.ONNXRUNTIME)
    with pytest.raises(DataError, match="no sequences to predict"):
        predict_in_batches(loaded, sequences[:0])
    assert predict_in_batches(loaded, sequences[:3]).shape == (3, 10)
