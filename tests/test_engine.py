"""The training engine (``adlib.detectors._engine``) is the one place that speaks to the Keras backend:
the detector modules state their losses in ``keras.ops`` and hand them to it."""
import re
from pathlib import Path

import numpy as np
import pytest
from keras import ops

from adlib.detectors import _engine as engine

DETECTOR_MODULES = sorted((Path(__file__).parent.parent / "adlib" / "detectors").glob("*.py"))  # not _engine/
BACKEND_CODE = re.compile(r"GradientTape|^\s*(import|from) (tensorflow|torch|jax)\b|\btf\.", re.M)


@pytest.mark.parametrize("path", DETECTOR_MODULES, ids=lambda p: p.name)
def test_no_detector_module_speaks_to_the_backend_itself(path):
    found = sorted({m.group(0).strip() for m in BACKEND_CODE.finditer(path.read_text())})
    assert not found, f"{path.name} uses {found}: move it into adlib/detectors/_engine/"


def test_value_and_gradients_differentiates_with_respect_to_inputs():
    x = engine.constant(np.array([[1.0, 2.0], [3.0, -1.0]], dtype="float32"))
    value, (grad,) = engine.value_and_gradients(lambda t: ops.sum(ops.square(t)), [x])
    np.testing.assert_allclose(float(value), 15.0)
    np.testing.assert_allclose(np.asarray(grad), 2 * np.asarray(x))


def test_a_differentiable_input_gradient_carries_the_weights_gradient():
    """A gradient penalty differentiates an input gradient again, with respect to the weights: for
    f(x) = w * x^2 the input gradient is 2 w x, and descending on (2 w x)^2 moves w by lr * 8 w x^2."""
    import keras
    weight = keras.Variable(np.array(0.5, dtype="float32"))
    optimizer = keras.optimizers.SGD(learning_rate=0.01)
    x = engine.constant(np.array(2.0, dtype="float32"))

    def penalty():
        _, (grad,) = engine.value_and_gradients(lambda t: weight * ops.square(t), [x], differentiable=True)
        return ops.square(grad)

    out = engine.descend(optimizer, [weight], penalty)
    np.testing.assert_allclose(float(out), (2 * 0.5 * 2.0) ** 2)
    np.testing.assert_allclose(np.asarray(weight), 0.5 - 0.01 * 8 * 0.5 * 2.0**2, rtol=1e-6)


def test_a_variable_the_loss_does_not_reach_is_left_alone():
    import keras
    if engine.BACKEND == "jax":
        pytest.skip("JAX gives an unreached variable a zero gradient, which Adam's weight decay still applies to "
                    "(see adlib.detectors._engine.jax.descend)")
    used, unused = keras.Variable(np.array([1.0], dtype="float32")), keras.Variable(np.array([1.0], dtype="float32"))
    optimizer = keras.optimizers.Adam(learning_rate=0.1, weight_decay=0.5)
    for _ in range(2):
        engine.descend(optimizer, [used, unused], lambda: ops.sum(ops.square(used)))
    np.testing.assert_allclose(np.asarray(unused), [1.0])
    assert float(np.asarray(used)[0]) < 1.0


def test_repeated_batches_leave_no_sample_out():
    """Passes follow each other in one stream: over three passes every sample is seen three times,
    also when the batch size does not divide the number of samples."""
    x = np.arange(10, dtype="float32")[:, None]
    stream = iter(engine.repeated_batches(x, batch_size=4, shuffle=True, seed=0))
    seen = []
    for _ in range(30 // 4):
        batch = next(stream)
        batch = batch[0] if isinstance(batch, (tuple, list)) else batch
        seen.extend(np.asarray(batch).ravel().tolist())
    counts = np.bincount(np.asarray(seen[:28], dtype=int), minlength=10)
    assert counts.min() >= 2 and counts.sum() == 28, counts


def test_descend_takes_one_optimiser_step_down_the_named_loss():
    import keras
    weight = keras.Variable(np.array([3.0], dtype="float32"))
    optimizer = keras.optimizers.SGD(learning_rate=0.25)
    out = engine.descend(optimizer, [weight], lambda: (ops.sum(ops.square(weight)), "extra"))
    assert out[1] == "extra"
    np.testing.assert_allclose(float(out[0]), 9.0)
    np.testing.assert_allclose(np.asarray(weight), [3.0 - 0.25 * 6.0])  # w - lr * dL/dw
    terms = engine.descend(optimizer, [weight], lambda: {"loss": ops.sum(weight), "other": 1})
    assert terms["other"] == 1
    np.testing.assert_allclose(np.asarray(weight), [1.5 - 0.25])


@pytest.mark.parametrize("name", ["GANomaly", "FAnoGAN"])
def test_a_training_step_with_several_optimisers_is_traced_once(name):
    """On TensorFlow the engine builds the optimisers before the first compiled step: a ``tf.function``
    that creates variables (Adam's slots, in its first update) is traced twice. f-AnoGAN's encoder
    phase, with its own optimiser, is traced once more."""
    if engine.BACKEND != "tensorflow":
        pytest.skip("only TensorFlow traces the step twice when it creates variables")
    import warnings

    import adlib
    from adlib.detectors._engine import tensorflow as tf_engine
    from adlib.detectors.fanogan import FAnoGANModel
    from adlib.detectors.ganomaly import GANomalyModel
    model_class = {"GANomaly": GANomalyModel, "FAnoGAN": FAnoGANModel}[name]
    real_step, traced = model_class.train_step, []

    def counting_step(model, data):
        if tf_engine._RECORDING is None:  # not the engine's own trace that finds the optimisers
            traced.append(model.phase if name == "FAnoGAN" else "step")
        return real_step(model, data)

    images = np.random.default_rng(0).uniform(size=(32, 8, 8)).astype("float32")
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as patch:
        warnings.simplefilter("ignore", adlib.CollapseWarning)
        patch.setattr(model_class, "train_step", counting_step)
        getattr(adlib, name)(latent_dim=8, base_filters=4, seed=0).fit(images, steps=4, batch_size=8, verbose=0)
    assert traced == (["gan", "encoder"] if name == "FAnoGAN" else ["step"]), traced
