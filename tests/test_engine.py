"""The training engine (``adlib.detectors._engine``) is the one place that speaks to the Keras backend:
the detector modules state their losses in ``keras.ops`` and hand them to it."""
import re
from pathlib import Path

import numpy as np
import pytest
from keras import ops

from adlib.detectors import _engine as engine

DETECTOR_MODULES = sorted(p for p in (Path(__file__).parent.parent / "adlib" / "detectors").glob("*.py")
                          if p.name != "_engine.py")
BACKEND_CODE = re.compile(r"GradientTape|^\s*(import|from) (tensorflow|torch|jax)\b|\btf\.", re.M)


@pytest.mark.parametrize("path", DETECTOR_MODULES, ids=lambda p: p.name)
def test_no_detector_module_speaks_to_the_backend_itself(path):
    found = sorted({m.group(0).strip() for m in BACKEND_CODE.finditer(path.read_text())})
    assert not found, f"{path.name} uses {found}: move it into adlib/detectors/_engine.py"


def test_value_and_gradients_differentiates_with_respect_to_inputs():
    x = engine.constant(np.array([[1.0, 2.0], [3.0, -1.0]], dtype="float32"))
    value, (grad,) = engine.value_and_gradients(lambda t: ops.sum(ops.square(t)), [x])
    np.testing.assert_allclose(float(value), 15.0)
    np.testing.assert_allclose(np.asarray(grad), 2 * np.asarray(x))


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
