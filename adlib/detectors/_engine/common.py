"""Pieces of the training engine that every backend shares."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def inputs(data):
    """The input batch of what ``keras.Model.fit`` hands a step: the data itself, or the first item of the
    tuple (TensorFlow) or list (PyTorch) it arrives in."""
    return data[0] if isinstance(data, (tuple, list)) else data


def loss_of(out):
    """The scalar to minimise in what a loss function returned: itself, a tuple's first item, or a dict's
    ``"loss"``."""
    if isinstance(out, tuple):
        return out[0]
    if isinstance(out, dict):
        return out["loss"]
    return out


def numpy_batches(x: np.ndarray, batch_size: int, shuffle: bool, seed: int | None) -> Iterator[np.ndarray]:
    """Full batches of ``x`` without end, in a new random order every pass (seeded), as 1-tuples (the form
    Keras expects from a generator), for backends whose ``fit`` takes a Python iterator."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        for start in range(0, len(x) - batch_size + 1, batch_size):
            yield (x[order[start:start + batch_size]],)
