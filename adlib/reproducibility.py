"""One call that makes a run repeatable: the same seeds everywhere and deterministic TensorFlow ops."""
from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int = 0, deterministic_ops: bool = True) -> None:
    """Seed Python, NumPy, Keras and TensorFlow, and (by default) enable TensorFlow op determinism."""
    import keras
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()
