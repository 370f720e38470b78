"""Evaluation of anomaly scores against 0/1 outlier labels, via scikit-learn."""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from ._checks import as_binary_labels


def evaluate(y_true, scores, threshold: float | None = None) -> dict[str, float]:
    """AUROC and AUPRC of ``scores`` (higher = more anomalous), and precision/recall/F1 at ``threshold``.

    ``y_true`` is 1 for outliers. Samples with ``score > threshold`` are flagged, matching
    :meth:`adlib.base.Detector.predict`. Without a threshold only the ranking metrics are returned.

    Parameters
    ----------
    y_true : array-like
        0/1 labels, 1 for outliers; both classes must occur.
    scores : array-like
        One finite score per label, higher = more anomalous.
    threshold : float or None, default None
        Flag ``score > threshold`` and add precision, recall, F1 and accuracy of those flags; None gives the
        ranking metrics only.

    Returns
    -------
    dict of str to float
        ``auroc`` and ``auprc`` (average precision), and with a threshold ``precision``, ``recall``, ``f1``
        and ``accuracy`` (0 where undefined, e.g. precision with nothing flagged).
    """
    y = as_binary_labels(y_true, name="y_true")
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores has {s.size} values but y_true has {y.size}; they must match one to one")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinite values")
    if len(np.unique(y)) < 2:
        raise ValueError("y_true must contain both normal (0) and outlier (1) samples to compute AUROC")
    result = {"auroc": float(skm.roc_auc_score(y, s)),
              "auprc": float(skm.average_precision_score(y, s))}
    if threshold is not None:
        pred = (s > threshold).astype(int)
        p, r, f1, _ = skm.precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
        result.update(precision=float(p), recall=float(r), f1=float(f1),
                      accuracy=float(skm.accuracy_score(y, pred)))
    return result


def percentile_threshold(scores: np.ndarray, percentile: float) -> float:
    """The ``percentile``-th percentile of ``scores``, as a threshold for ``score > threshold``.

    When the percentile falls on a block of identical scores (duplicated rows, as in KDD Cup 99),
    ``>`` would leave the whole block unflagged; the threshold is then moved just below the block
    if that brings the share flagged on ``scores`` closer to ``1 - percentile / 100``.

    Parameters
    ----------
    scores : numpy.ndarray
        Scores of reference data, normally held-out normal samples.
    percentile : float
        Percentile in [0, 100]; 95 flags about 5% of data like the reference.

    Returns
    -------
    float
        The threshold.
    """
    scores = np.asarray(scores, dtype=np.float64)
    threshold = float(np.percentile(scores, percentile))
    if np.any(scores == threshold):
        target = 1.0 - percentile / 100.0
        below = float(np.nextafter(threshold, -np.inf))
        if abs(np.mean(scores > below) - target) < abs(np.mean(scores > threshold) - target):
            threshold = below
    return threshold


def top_fraction_threshold(scores, fraction: float) -> float:
    """Threshold that flags the ``fraction`` of samples with the highest scores (DAGMM's top-20% rule),
    tie-aware like :func:`percentile_threshold`: a block of tied scores at the cut (duplicated rows)
    is flagged when that brings the share flagged closer to ``fraction``.

    The rule assumes the anomaly rate is known; say so wherever it is used.

    Parameters
    ----------
    scores : array-like
        Scores of the samples to be flagged (e.g. the whole test set, under DAGMM's protocol).
    fraction : float
        Share in (0, 1) of samples to flag, e.g. 0.2.

    Returns
    -------
    float
        The threshold, for ``score > threshold``.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1); got {fraction}")
    return percentile_threshold(scores, 100 * (1 - fraction))
