"""Input validation shared by detectors, metrics and data helpers: clear errors, never silent wrong answers."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_float_array(x, *, name: str = "x", min_rank: int = 2,
                   expected_shape: Sequence[int] | None = None) -> np.ndarray:
    """Validate a batch of samples and return it as float32.

    Rejects non-numeric data, empty batches, NaN/inf, a rank below ``min_rank`` and,
    when ``expected_shape`` (the per-sample shape seen at fit) is given, any other shape.
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular numeric array; NumPy could not make one ({exc}).") from exc
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} has complex dtype {arr.dtype}; pass real values (e.g. np.abs(x) or x.real).")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(
            f"{name} must be a numeric array; got dtype {arr.dtype}. "
            "Encode categorical columns (e.g. one-hot) before passing them to a detector."
        )
    if arr.ndim < min_rank:
        raise ValueError(
            f"{name} must have at least {min_rank} dimensions (samples first); got shape {arr.shape}. "
            "For a single sample use x[None, ...]; for a 1-D feature vector use x.reshape(-1, 1)."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one sample.")
    if expected_shape is not None and tuple(arr.shape[1:]) != tuple(expected_shape):
        raise ValueError(
            f"{name} has samples of shape {tuple(arr.shape[1:])}, but the detector was fitted on "
            f"samples of shape {tuple(expected_shape)}; reshape or preprocess the input the same way."
        )
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite values; impute or drop them first.")
    with np.errstate(over="ignore"):
        arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds values beyond float32's range (|x| > 3.4e38); rescale it "
                         "(e.g. standardise the columns) first.")
    return arr


def as_binary_labels(y, *, name: str = "y") -> np.ndarray:
    """Validate 0/1 (or boolean) outlier labels and return them as int."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of 0/1 labels; got shape {arr.shape}")
    values = set(np.unique(arr).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"{name} must contain only 0 (normal) and 1 (outlier); found {sorted(values)[:5]}")
    return arr.astype(int)
