"""One call that makes a run repeatable: the same seeds everywhere and deterministic backend ops."""
from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int = 0, deterministic_ops: bool = True) -> None:
    """Seed Python, NumPy, Keras and the backend, and (by default) ask the backend for deterministic ops.

    Parameters
    ----------
    seed : int, default 0
        The seed given to Python's ``random``, NumPy's global generator and ``keras.utils.set_random_seed``
        (which also seeds the backend), so that, among others, the initial weights of networks built
        afterwards repeat from run to run.
    deterministic_ops : bool, default True
        Ask the backend for deterministic kernels (on TensorFlow
        ``tf.config.experimental.enable_op_determinism()``), so that its ops give the same results run
        after run (deterministic ops can be slower).
    """
    import keras

    from .detectors._engine import set_op_determinism

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (code that uses the legacy global RNG)
    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        set_op_determinism()
