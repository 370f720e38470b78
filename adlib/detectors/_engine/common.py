"""Pieces of the training engine that every backend shares."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

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


def build_recorded_optimizers(pairs: Sequence[tuple]) -> list:
    """Build every optimiser of ``pairs`` (``(optimiser, variables)``, what a recording trace of a training
    step found ``descend`` called with) that is not built yet, for all the variables it updates, as it
    would build itself in its first update. Returns the optimisers, in the order the step used them."""
    grouped: dict[int, tuple] = {}
    for optimizer, variables in pairs:
        known = grouped.setdefault(id(optimizer), (optimizer, {}))[1]
        known.update({id(v): v for v in variables})
    for optimizer, variables in grouped.values():
        if not optimizer.built:
            optimizer.build(list(variables.values()))
    return [optimizer for optimizer, _ in grouped.values()]


def numpy_batches(x: np.ndarray, batch_size: int, shuffle: bool, seed: int | None) -> Iterator[np.ndarray]:
    """Batches of ``x`` without end, as 1-tuples (the form Keras expects from a generator), for backends
    whose ``fit`` takes a Python iterator. Passes over the data follow each other in one stream, a new
    random order each (when ``shuffle``), so a batch may span two passes and no sample is left out, as
    TensorFlow's ``repeat().batch()`` does. Without a ``seed`` the order follows NumPy's global state
    (which ``adlib.seed_everything`` seeds)."""
    rng = np.random.default_rng(seed if seed is not None else np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (the seeded global state)
    pending = np.empty(0, dtype=np.int64)
    while True:
        while len(pending) < batch_size:
            pending = np.concatenate([pending, rng.permutation(len(x)) if shuffle else np.arange(len(x))])
        yield (x[pending[:batch_size]],)
        pending = pending[batch_size:]
