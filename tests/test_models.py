import numpy as np
import pytest

from edgeseq import models
from edgeseq.models import Arch


@pytest.mark.parametrize("arch, params", [(Arch.RNN, 2282), (Arch.LSTM, 216426)])
def test_parameter_counts_and_shapes(arch, params):
    model = models.build(arch)
    assert model.count_params() == params == models.ARCHITECTURES[arch].parameters
    assert tuple(model.input_shape) == (None, 28, 28) and tuple(model.output_shape) == (None, 10)


def test_layers_are_as_published():
    lstm = models.build(Arch.LSTM)
    kinds = [type(layer).__name__ for layer in lstm.layers]
    assert kinds == ["LSTM", "Dropout", "LSTM", "Dropout", "Dense", "Dropout", "Dense"]
    assert [layer.activation.__name__ for layer in lstm.layers if type(layer).__name__ == "LSTM"] == ["relu", "relu"]
    rnn = models.build(Arch.RNN)
    assert [type(layer).__name__ for layer in rnn.layers] == ["SimpleRNN", "Dense"]
    assert rnn.layers[0].units == 32 and rnn.layers[0].activation.__name__ == "relu"


@pytest.mark.parametrize("arch", list(Arch))
def test_unrolled_twin_computes_the_same(arch, sample):
    model = models.build(arch)
    twin = models.rebuild_with_weights(model, unroll=True)
    x = sample.x_test[:4]
    np.testing.assert_allclose(model(x, training=False), twin(x, training=False), atol=1e-5)


def test_unknown_architecture_lists_choices():
    with pytest.raises(ValueError, match="choose from rnn, lstm"):
        models.architecture("gru")
