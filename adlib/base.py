"""The one detector API shared by every method: fit, score, infer_threshold, predict, save, load."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.exceptions import NotFittedError

from ._checks import as_float_array

CONFIG_FILE = "detector.json"
FORMAT_VERSION = 1
_REGISTRY: dict[str, type["Detector"]] = {}


class ThresholdNotSetError(RuntimeError):
    """``predict`` was called before a threshold was inferred or set."""


@dataclass
class Prediction:
    """What :meth:`Detector.predict` returns; ``is_outlier`` is ``instance_score > threshold``."""

    instance_score: np.ndarray
    is_outlier: np.ndarray
    threshold: float
    feature_score: np.ndarray | None = None


def percentile_threshold(scores: np.ndarray, percentile: float) -> float:
    """The ``percentile``-th percentile of ``scores``, as a threshold for ``score > threshold``.

    When the percentile falls on a block of identical scores (duplicated rows, as in KDD Cup 99),
    ``>`` would leave the whole block unflagged; the threshold is then moved just below the block
    if that brings the share flagged on ``scores`` closer to ``1 - percentile / 100``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    threshold = float(np.percentile(scores, percentile))
    if np.any(scores == threshold):
        target = 1.0 - percentile / 100.0
        below = float(np.nextafter(threshold, -np.inf))
        if abs(np.mean(scores > below) - target) < abs(np.mean(scores > threshold) - target):
            threshold = below
    return threshold


class Detector:
    """Base class of every detector: higher score means more anomalous.

    Subclasses implement ``_fit`` and ``_score`` (and ``_feature_score`` where per-feature scores
    exist), ``get_config`` for their hyperparameters, and ``_save_state``/``_load_state`` for what
    they learned. Validation, thresholds and the save format are handled here, once.
    """

    has_feature_score: ClassVar[bool] = False

    def __init__(self) -> None:
        self.threshold_: float | None = None
        self.input_shape_: tuple[int, ...] | None = None
        self.history_: dict[str, list[float]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ---------------------------------------------------------------- to implement
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this detector (JSON-serialisable)."""
        return {}

    def _fit(self, x: np.ndarray, **kwargs) -> None:
        raise NotImplementedError

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        raise NotImplementedError

    def _feature_score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no feature-level scores")

    def _scores_from_features(self, feature_scores: np.ndarray) -> np.ndarray:
        """Instance scores from feature scores (detectors with ``has_feature_score`` only)."""
        raise NotImplementedError(f"{type(self).__name__} has no feature-level scores")

    def _score_with_features(self, x: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Instance and feature scores from one pass; override when the instance score needs more
        than the feature scores (the VAE's ELBO adds a per-sample KL term)."""
        feature = self._feature_score(x, batch_size)
        return self._scores_from_features(feature), feature

    def _save_state(self, path: Path) -> None:
        raise NotImplementedError

    def _load_state(self, path: Path) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- public API
    @property
    def is_fitted(self) -> bool:
        return self.input_shape_ is not None

    def fit(self, x, **kwargs) -> "Detector":
        """Learn what normal data looks like from ``x`` (samples first). Returns ``self``."""
        x = as_float_array(x, name="x")
        if self.is_fitted and tuple(x.shape[1:]) != self.input_shape_:
            raise ValueError(f"this detector was fitted on samples of shape {self.input_shape_}; "
                             f"got {tuple(x.shape[1:])}. Create a new detector for differently shaped data.")
        self._fit(x, **kwargs)
        self.input_shape_ = tuple(int(d) for d in x.shape[1:])
        self.threshold_ = None  # a threshold inferred for the old model does not hold for the new one
        return self

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(x_train) first.")

    def _checked(self, x) -> np.ndarray:
        self._require_fitted()
        return as_float_array(x, name="x", expected_shape=self.input_shape_)

    def score(self, x, batch_size: int = 256) -> np.ndarray:
        """Instance-level anomaly scores, shape ``(n,)``: higher means more anomalous."""
        return np.asarray(self._score(self._checked(x), batch_size), dtype=np.float64)

    def decision_function(self, x) -> np.ndarray:
        """PyOD/scikit-learn name for :meth:`score` (higher = more anomalous)."""
        return self.score(x)

    def feature_score(self, x, batch_size: int = 256) -> np.ndarray:
        """Per-feature (per pixel and channel, or per column) scores, same shape as ``x``."""
        return np.asarray(self._feature_score(self._checked(x), batch_size), dtype=np.float64)

    def infer_threshold(self, x, percentile: float = 95.0) -> float:
        """Set ``threshold_`` to the ``percentile``-th percentile of the scores of reference data ``x``.

        Use normal (or mostly normal) reference data that the detector was not trained on;
        never test data whose labels you will report.
        """
        if not 0 <= percentile <= 100:
            raise ValueError(f"percentile must be in [0, 100]; got {percentile}")
        self.threshold_ = percentile_threshold(self.score(x), percentile)
        return self.threshold_

    def predict(self, x, return_feature_score: bool = False, batch_size: int = 256) -> Prediction:
        """Scores and outlier flags (``score > threshold_``) for ``x``."""
        x = self._checked(x)
        if self.threshold_ is None:
            raise ThresholdNotSetError(
                f"{type(self).__name__} has no threshold: call infer_threshold(x_ref, percentile=95) "
                "on normal reference data, or set threshold_ yourself, before predict.")
        if return_feature_score:  # one pass gives both the instance and the feature scores
            scores, raw = self._score_with_features(x, batch_size)
            feature = np.asarray(raw, dtype=np.float64)
        else:
            scores, feature = self._score(x, batch_size), None
        scores = np.asarray(scores, dtype=np.float64)
        return Prediction(scores, (scores > self.threshold_).astype(int), self.threshold_, feature)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Save to the folder ``path`` (``detector.json`` and Keras-native weights); overwrites it."""
        if not self.is_fitted:
            raise NotFittedError(f"Nothing to save: this {type(self).__name__} is not fitted yet.")
        path = Path(path)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        meta = {"format_version": FORMAT_VERSION, "class": type(self).__name__,
                "config": self.get_config(), "input_shape": list(self.input_shape_),
                "threshold": self.threshold_, "history": self.history_,
                "feature_threshold": getattr(self, "feature_threshold_", None)}
        self._save_state(path)
        (path / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
        return path

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def load_detector(path: str | os.PathLike) -> Detector:
    """Load a detector saved with :meth:`Detector.save`: same settings, weights, threshold and scores."""
    path = Path(path)
    config_file = path / CONFIG_FILE
    if not config_file.is_file():
        raise FileNotFoundError(f"{path} is not a saved adlib detector: {CONFIG_FILE} is missing.")
    try:
        meta = json.loads(config_file.read_text())
        cls_name, config = meta["class"], meta["config"]
        input_shape, threshold = meta["input_shape"], meta["threshold"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{config_file} is corrupt ({exc}); save the detector again.") from exc
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} was saved in format {meta.get('format_version')}; "
                         f"this adlib reads format {FORMAT_VERSION}.")
    if cls_name not in _REGISTRY:
        raise ValueError(f"{path} holds an unknown detector class {cls_name!r}; "
                         f"known: {', '.join(sorted(_REGISTRY))}")
    detector = _REGISTRY[cls_name](**config)
    detector.input_shape_ = tuple(input_shape)
    try:
        detector._load_state(path)
    except Exception as exc:
        raise ValueError(f"could not load the learned state of {cls_name} from {path}: "
                         f"{type(exc).__name__}: {exc}. The files are corrupt or do not match detector.json.") from exc
    detector.threshold_ = None if threshold is None else float(threshold)
    detector.history_ = meta.get("history", {})
    if meta.get("feature_threshold") is not None:
        detector.feature_threshold_ = float(meta["feature_threshold"])
    return detector
