"""A scikit-learn view of any adlib detector, for tools that expect scikit-learn's outlier-detector API
(``Pipeline``, ``GridSearchCV``, ``cross_val_score``, PyOD-style benchmarks).

The view is a separate class because the two APIs give the same names opposite meanings:

- scores: a detector's ``score(x)`` (and its PyOD alias ``decision_function``) is *higher for more
  anomalous* samples; scikit-learn's ``score_samples(X)`` is *higher for more normal* ones, and its
  ``decision_function(X) = score_samples(X) - offset_`` is negative for outliers.
- ``predict``: a detector returns a :class:`~adlib.Prediction` (scores, 0/1 flags, threshold);
  scikit-learn returns an int array of +1 (inlier) / -1 (outlier).
- threshold: the book sets it with ``infer_threshold`` on held-out normal data; scikit-learn's
  ``contamination`` flags a share of the *training* rows.

Changing the detectors themselves would change every chapter of the book; wrapping them keeps both.
"""
from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from .detectors.classical import KNN
from .metrics import percentile_threshold

TABLE, IMAGES = "table", "image"


def input_kinds(detector: Any) -> tuple[str, ...]:
    """The kinds of input (``"table"``: rows ``(n, d)``; ``"image"``: ``(n, h, w[, c])``) that a detector
    takes: its ``input_kinds`` attribute, or both for an object without one."""
    return tuple(getattr(detector, "input_kinds", (TABLE, IMAGES)))


class OutlierDetector(OutlierMixin, BaseEstimator):
    """An adlib detector behind scikit-learn's outlier-detector API.

    ``fit`` trains a clone of ``detector`` and sets a threshold that flags the share ``contamination``
    of the training rows, as scikit-learn's ``IsolationForest`` and PyOD do. The signs follow
    scikit-learn, which are the opposite of the book's (see the module docstring):
    ``score_samples`` is *higher for more normal* samples (minus the detector's score),
    ``decision_function`` is negative for outliers, and ``predict`` returns +1 (inlier) / -1 (outlier).
    The fitted detector is ``detector_``, with the book's API; its ``threshold_`` is set to the same
    threshold, so ``view.detector_.predict(x)`` flags the same samples.

    Tables are validated by scikit-learn (``validate_data``: no NaN, inf, sparse or complex input; a
    DataFrame's column names are remembered). Images ``(n, h, w[, c])`` are passed through unchanged
    (``uint8`` still reads as 8-bit intensities) to the detectors that take images; a detector that
    takes images only (``OCGAN``) refuses a 2-D table.

    Parameters
    ----------
    detector : adlib detector or None, default None
        The detector to train (an unfitted template: ``fit`` clones it, so it is never modified). None
        means ``adlib.KNN()``. Its hyperparameters are reachable as ``detector__<name>``, e.g. in a
        grid search.
    contamination : float, default 0.1
        The share of training rows, in (0, 0.5], that the threshold flags: the 100 (1 - contamination)-th
        percentile of the training scores (tie-aware, as in ``infer_threshold``). A share of training
        rows is scikit-learn's convention; the book's ``infer_threshold`` on held-out normal data gives
        a better-calibrated false-positive rate, because training scores are optimistic.
    fit_params : dict or None, default None
        Keyword arguments of the detector's ``fit``, e.g. ``{"steps": 200, "verbose": 0}`` for a Keras
        detector; None passes none (the detector's default budget).

    Attributes
    ----------
    detector_ : adlib detector
        The fitted clone of ``detector``.
    threshold_ : float
        The threshold on the detector's score (higher = more anomalous): ``score > threshold_`` is an
        outlier.
    offset_ : float
        ``-threshold_``, scikit-learn's offset: ``decision_function = score_samples - offset_``.
    n_features_in_ : int
        Columns of the training table (for images, ``X.shape[1]``, as scikit-learn counts).
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    """

    def __init__(self, detector: Any = None, contamination: float = 0.1,
                 fit_params: dict[str, Any] | None = None) -> None:
        self.detector = detector
        self.contamination = contamination
        self.fit_params = fit_params

    # ---------------------------------------------------------------- checks
    def _template(self) -> Any:
        """``detector``, or a fresh ``adlib.KNN()`` for None; checked to be a detector instance."""
        if self.detector is None:
            return KNN()
        if isinstance(self.detector, type):
            raise TypeError(f"detector must be a detector instance, e.g. {self.detector.__name__}(); "
                            f"got the class {self.detector.__name__}")
        if not all(callable(getattr(self.detector, verb, None)) for verb in ("fit", "score")):
            raise TypeError(f"detector must have fit(x) and score(x) (an adlib detector); got {self.detector!r}")
        return self.detector

    def _check_settings(self) -> None:
        if (isinstance(self.contamination, bool) or not isinstance(self.contamination, Real)
                or not 0 < self.contamination <= 0.5):
            raise ValueError(f"contamination must be a share of the training rows in (0, 0.5], as in "
                             f"scikit-learn's IsolationForest; got {self.contamination!r}")
        if self.fit_params is not None and not isinstance(self.fit_params, dict):
            raise TypeError(f"fit_params must be a dict of keyword arguments of the detector's fit, or None; "
                            f"got {type(self.fit_params).__name__}")

    def _validated(self, X, detector: Any, *, reset: bool) -> np.ndarray:
        """``X`` checked by scikit-learn: a 2-D table, or images left as they are for a detector that takes images."""
        kinds = input_kinds(detector)
        X = validate_data(self, X, reset=reset, allow_nd=IMAGES in kinds)
        if X.ndim == 2 and TABLE not in kinds:
            raise ValueError(f"{type(detector).__name__} takes images (n, h, w) or (n, h, w, c) only; got a 2-D "
                             f"table of shape {X.shape}. Use a detector that takes tables (AE, KNN, ...) on tables.")
        return X

    # ---------------------------------------------------------------- scikit-learn API
    def fit(self, X, y=None) -> OutlierDetector:
        """Train a clone of ``detector`` on ``X`` and flag the share ``contamination`` of its rows.

        Parameters
        ----------
        X : array-like of shape (n, d), or (n, h, w[, c]) for detectors that take images
            Training samples, mostly normal.
        y : None
            Ignored: outlier detection is unsupervised. Present for scikit-learn's API.

        Returns
        -------
        OutlierDetector
            ``self``, fitted.
        """
        self._check_settings()
        template = self._template()
        X = self._validated(X, template, reset=True)
        detector = clone(template)
        detector.fit(X, **(self.fit_params or {}))
        scores = np.asarray(detector.score(X, verbose=0), dtype=np.float64)
        self.threshold_ = float(percentile_threshold(scores, 100.0 * (1.0 - self.contamination)))
        detector.threshold_ = self.threshold_
        self.detector_ = detector
        self.offset_ = -self.threshold_
        return self

    def score_samples(self, X) -> np.ndarray:
        """Minus the detector's score: **higher means more normal** (scikit-learn's sign, the opposite of
        :meth:`adlib.Detector.score`).

        Parameters
        ----------
        X : array-like
            Samples shaped like the training data.

        Returns
        -------
        ndarray of shape (n,)
        """
        check_is_fitted(self)
        X = self._validated(X, self.detector_, reset=False)
        return -np.asarray(self.detector_.score(X, verbose=0), dtype=np.float64)

    def decision_function(self, X) -> np.ndarray:
        """``score_samples(X) - offset_`` = ``threshold_ - score``: **negative for outliers**, positive for
        inliers (scikit-learn's sign; :meth:`adlib.Detector.decision_function` is the score itself).

        Parameters
        ----------
        X : array-like
            Samples shaped like the training data.

        Returns
        -------
        ndarray of shape (n,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """+1 for inliers and -1 for outliers (``decision_function < 0``, i.e. ``score > threshold_``), as
        scikit-learn's outlier detectors return; the book's ``predict`` returns a ``Prediction`` instead.

        Parameters
        ----------
        X : array-like
            Samples shaped like the training data.

        Returns
        -------
        ndarray of int, shape (n,)
        """
        return np.where(self.decision_function(X) < 0, -1, 1).astype(int)

    def __sklearn_tags__(self):
        """scikit-learn's tags, from the kinds of input the detector takes: tables are 2-D arrays, images
        3-D (grey) or 4-D; no NaN and no sparse input in either."""
        tags = super().__sklearn_tags__()
        kinds = input_kinds(self.detector) if self.detector is not None else (TABLE, IMAGES)
        tags.input_tags.two_d_array = TABLE in kinds
        tags.input_tags.three_d_array = IMAGES in kinds
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags


def held_out_flag_rate_error(estimator: Any, X, y=None) -> float:
    """A labels-free scorer for model selection: minus the gap between the share of held-out rows that a
    fitted :class:`OutlierDetector` (or a ``Pipeline`` ending in one) flags and its ``contamination``.

    0 is best; ``GridSearchCV(..., scoring=held_out_flag_rate_error)`` picks the settings whose
    threshold, set on the training rows, flags the same share of unseen rows from the same data.
    Settings that fit their training rows too closely fail it: ``KNN(n_neighbors=1)`` scores every
    training row 0 (each row is its own nearest neighbour), so its threshold is 0 and it flags every
    held-out row; an autoencoder that memorised its rows does the same to a lesser degree.

    Why not the mean ``score_samples`` of the held-out rows: scores of different settings are on
    different scales (the distance to the 5th neighbour is larger than to the 1st, whatever the
    data), so comparing them across a grid says nothing. This criterion compares shares, which every
    setting shares. It measures *calibration*, not detection power: two settings that are equally
    well calibrated can tell outliers apart very differently, and without labels nothing can measure
    that. Use it where the held-out rows are like the training rows (mostly normal), and prefer
    labelled validation data, when there are any, to choose among calibrated settings.

    Parameters
    ----------
    estimator : OutlierDetector or Pipeline
        Fitted; a ``Pipeline``'s last step must be an :class:`OutlierDetector`.
    X : array-like
        Held-out rows (a cross-validation fold).
    y : None
        Ignored: no labels are needed. Present for scikit-learn's scorer signature.

    Returns
    -------
    float
        ``-|share of X flagged - contamination|``, in [-1, 0]; higher is better.
    """
    view = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if not isinstance(view, OutlierDetector):
        raise TypeError(f"held_out_flag_rate_error scores an OutlierDetector or a Pipeline ending in one; "
                        f"got {type(view).__name__}")
    return -abs(float(np.mean(estimator.predict(X) == -1)) - float(view.contamination))
