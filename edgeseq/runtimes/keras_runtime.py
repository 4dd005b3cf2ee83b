"""The reference: the trained .keras model through a compiled tf.function (eager calls are ~50x slower)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.core.errors import ModelError, cause_line
from edgeseq.core.tfsupport import import_tensorflow, load_keras_model


class KerasRuntime:
    name = "keras"
    batch_one_only = False
    input_name, output_name = "pixels", "probabilities"

    def __init__(self, path: Path, threads: int) -> None:
        tf = import_tensorflow()
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # already initialised in this process: the first setting stays (recorded in backend)
        self._tf, self._path = tf, path
        self._model = load_keras_model(path)
        self._function = tf.function(lambda x: self._model(x, training=False), reduce_retracing=True)
        actual = tf.config.threading.get_intra_op_parallelism_threads()
        self.backend = (f"keras {metadata.version('keras')} via tf.function (compiled graph),"
                        f" {actual or 'default'} intra-op thread(s)")

    def bind(self, sequences: np.ndarray) -> Callable[[], np.ndarray]:
        """One call of the compiled function on `sequences`, the result brought back as numpy."""
        tensor, function = self._tf.constant(sequences.astype(np.float32)), self._function
        return lambda: function(tensor).numpy()

    def predict(self, sequences: np.ndarray) -> np.ndarray:
        try:
            return np.asarray(self._function(sequences.astype(np.float32, copy=False)), dtype=np.float32)
        except (ValueError, TypeError, self._tf.errors.OpError) as err:  # a model that does not take (N, 28, 28)
            raise ModelError(f"{self._path}: Keras cannot run it ({cause_line(err)})") from err


def load(path: Path, threads: int = 1, **_: Any) -> KerasRuntime:
    return KerasRuntime(path, threads)


def import_library(**_: Any) -> None:
    """Import TensorFlow (bench measures a runtime's baseline memory after this)."""
    import_tensorflow()
