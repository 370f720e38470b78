"""One call that makes a run repeatable: the same seeds everywhere and deterministic TensorFlow ops."""
from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int = 0, deterministic_ops: bool = True) -> None:
    """Seed Python, NumPy, Keras and TensorFlow, and (by default) enable TensorFlow op determinism.

    Parameters
    ----------
    seed : int, default 0
        The seed given to Python's ``random``, NumPy's global generator and ``keras.utils.set_random_seed``
        (which also seeds TensorFlow), so that, among others, the initial weights of networks built
        afterwards repeat from run to run.
    deterministic_ops : bool, default True
        Call ``tf.config.experimental.enable_op_determinism()``, so that TensorFlow ops give the same results
        run after run (deterministic ops can be slower).
    """
    import keras
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (code that uses the legacy global RNG)
    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()
