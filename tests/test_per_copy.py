"""PerCopyNetwork (ADGAN's batched search): copy i of the weights gives exactly what the Keras network
gives with those weights, for the generators adlib builds, and unsupported layers are refused."""
import keras
import numpy as np
import pytest

from adlib import nets
from adlib.detectors._per_copy import PerCopyNetwork


def randomised(network: keras.Model, rng) -> keras.Model:
    """Give every BatchNormalization non-trivial statistics, scale and offset, so the test sees them."""
    for layer in network.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            for variable, low, high in [(layer.moving_mean, -0.2, 0.2), (layer.moving_variance, 0.5, 1.5),
                                        (layer.gamma, 0.5, 1.5), (layer.beta, -0.2, 0.2)]:
                variable.assign(rng.uniform(low, high, variable.shape).astype("float32"))
    return network


@pytest.mark.parametrize("make", [
    lambda: nets.dcgan_decoder(16, (28, 28, 1), base_filters=8),  # padded to 32x32, cropped back
    lambda: nets.dcgan_decoder(16, (20, 20, 3), base_filters=8, output_activation=None),  # resized
    lambda: nets.dense_decoder(16, (32, 8), 5, name="generator"),
], ids=["28x28", "20x20x3", "table"])
def test_each_copy_computes_the_network_with_its_own_weights(make):
    rng = np.random.default_rng(0)
    network = randomised(make(), rng)
    per_copy = PerCopyNetwork(network)
    z = rng.standard_normal((4, 16)).astype("float32")
    np.testing.assert_allclose(per_copy(per_copy.initial_weights(4), z), network(z, training=False), atol=1e-5)
    weights = [w + 0.05 * rng.standard_normal(w.shape).astype("float32") for w in per_copy.initial_weights(4)]
    out = np.asarray(per_copy(weights, z))
    for i in range(4):
        own = {id(v): w[i] for v, w in zip(per_copy.variables, weights)}
        expected, _ = network.stateless_call([own[id(v)] for v in network.trainable_variables],
                                             network.non_trainable_variables, z[i:i + 1], training=False)
        np.testing.assert_allclose(out[i:i + 1], expected, atol=1e-5)
    assert not np.allclose(out[0], out[1])  # the copies differ, so do their outputs


def test_layers_without_a_per_copy_form_are_refused():
    x_in = keras.Input((4,))
    network = keras.Model(x_in, keras.layers.LayerNormalization()(keras.layers.Dense(3)(x_in)))
    with pytest.raises(TypeError, match="LayerNormalization"):
        PerCopyNetwork(network)
