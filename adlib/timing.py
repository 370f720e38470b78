"""Honest wall-clock measurement: warm-up excluded, several repeats, median reported."""
from __future__ import annotations

import time
from collections.abc import Callable

import keras
import numpy as np


class EpochTimer(keras.callbacks.Callback):
    """Record the wall-clock seconds of every training epoch in ``seconds``."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def median_seconds(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` runs, after ``warmup`` untimed runs
    (the first call of a compiled Keras function includes tracing and compilation).

    Parameters
    ----------
    fn : callable
        Called with no arguments; its result is discarded.
    repeats : int, default 3
        Timed runs (>= 1); the median ignores one slow outlier among three.
    warmup : int, default 1
        Untimed runs first, so that tracing and compilation are not counted.

    Returns
    -------
    float
        The median of the timed runs, in seconds.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
