"""The one detector API shared by every method: fit, score, infer_threshold, predict, save, load."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from . import persistence
from ._checks import as_float_array
from .detectors._engine import no_gradients
from .metrics import percentile_threshold

CONFIG_FILE = persistence.CONFIG_FILE
FORMAT_VERSION = 3  # 2: detector.json records every file's size and SHA-256; 3: AnoGAN and OCGAN
# save the moving averages of their networks
_REGISTRY: dict[str, type[Detector]] = {}


class ThresholdNotSetError(RuntimeError):
    """``predict`` was called before a threshold was inferred or set."""


class NumericalError(FloatingPointError, ValueError):
    """Training or scoring produced NaN or infinite values (a ``ValueError``, so one ``except``
    catches every bad-input error)."""


@dataclass
class Prediction:
    """What :meth:`Detector.predict` returns; ``is_outlier`` is ``instance_score > threshold``."""

    instance_score: np.ndarray
    is_outlier: np.ndarray
    threshold: float
    feature_score: np.ndarray | None = None
    p_value: np.ndarray | None = None  # split-conformal p-values (``predict(x, return_p_value=True)``)


def conformal_p_values(reference_scores: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Split-conformal p-values: for each score s, (1 + #{reference scores >= s}) / (n + 1).

    With reference scores of held-out normal data, a new normal sample's p-value is uniform (up to
    ties), so flagging p <= alpha flags at most a share alpha of normal data, whatever the detector.

    Parameters
    ----------
    reference_scores : array of shape (n,)
        Scores of normal data the detector was not trained on (the calibration set).
    scores : array of shape (m,)
        Scores to turn into p-values.

    Returns
    -------
    ndarray of shape (m,)
        p-values in (0, 1]; small means more anomalous than the reference data.
    """
    ref = np.sort(np.asarray(reference_scores, dtype=np.float64))
    at_least = len(ref) - np.searchsorted(ref, np.asarray(scores, dtype=np.float64), side="left")
    return (1.0 + at_least) / (len(ref) + 1.0)


def keras_progbar(target: int | None):
    """Keras' progress bar counting samples (imported here so that classical detectors need no Keras import)."""
    import keras
    return keras.utils.Progbar(target, unit_name="sample")


def is_stream(x) -> bool:
    """True for a ``tf.data.Dataset`` or any other iterable of batches that is not itself an array
    (NumPy arrays, lists and tuples are arrays here)."""
    if isinstance(x, (np.ndarray, list, tuple, str, bytes)) or hasattr(x, "__array__"):
        return False
    return hasattr(x, "as_numpy_iterator") or hasattr(x, "__iter__")


def stream_batches(x):
    """The batches of a dataset or iterable as NumPy arrays; ``(x, y)`` elements give their ``x``."""
    for batch in (x.as_numpy_iterator() if hasattr(x, "as_numpy_iterator") else x):
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        yield np.asarray(batch)


def _resolve_percentile(percentile: float | None, fpr: float | None) -> float:
    """The percentile that a threshold stated as ``percentile`` or as a false-positive rate ``fpr`` means."""
    if fpr is not None:
        if percentile is not None:
            raise ValueError("give percentile or fpr, not both (fpr=0.05 is percentile=95)")
        if not 0 < fpr < 1:
            raise ValueError(f"fpr is a false-positive rate in (0, 1); got {fpr}")
        return 100.0 * (1.0 - fpr)
    percentile = 95.0 if percentile is None else percentile
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be in [0, 100]; got {percentile}")
    return float(percentile)


def _intensities(raw, arr: np.ndarray) -> np.ndarray:
    """8-bit images (``uint8``) as intensities in [0, 1]; any other dtype as it is."""
    return arr / np.float32(255.0) if np.asarray(raw).dtype == np.uint8 else arr


def _checked_scores(scores, detector: str) -> np.ndarray:
    """Scores as float64; NaN (an overflow inside the networks) raises instead of ranking silently."""
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise NumericalError(f"{detector} produced {np.count_nonzero(np.isnan(scores))} NaN scores: the input "
                             "holds values so far outside the training data's range that the arithmetic "
                             "overflowed. Scale it like the training data.")
    return scores


def _jsonable(value):
    """``value`` with tuples and NumPy arrays as lists and NumPy scalars as Python numbers, so that
    ``json.dumps`` takes it (constructors keep their arguments as they were passed)."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class Detector(BaseEstimator):
    """Base class of every detector: higher score means more anomalous.

    A scikit-learn estimator: the constructor only stores its arguments (``get_params``,
    ``set_params`` and ``sklearn.base.clone`` come from ``BaseEstimator``), ``fit`` checks them
    (:meth:`_check_params`) and creates every fitted attribute (names ending in ``_``).

    Subclasses implement ``_fit`` and ``_score`` (and ``_feature_score`` where per-feature scores
    exist), ``_check_params`` for their arguments, ``get_config`` for their hyperparameters, and
    ``_save_state``/``_load_state`` for what they learned. Validation, thresholds and the save
    format are handled here, once.
    """

    has_feature_score: ClassVar[bool] = False
    # Scoring that runs for seconds per hundred inputs (a latent search per input) shows a progress bar
    # by default; one forward pass per batch does not.
    slow_scoring: ClassVar[bool] = False
    # Scores that depend on the whole batch scored (a density ratio fitted against it) cannot be
    # computed chunk by chunk behind a progress bar.
    scores_whole_batch: ClassVar[bool] = False
    # The data a detector is defined for: "table" (n, d) and "image" (n, h, w[, c]); see __sklearn_tags__.
    input_kinds: ClassVar[tuple[str, ...]] = ("table", "image")
    # Parameters renamed since a detector was saved: old name -> new name (read by load_detector).
    renamed_params: ClassVar[dict[str, str]] = {}

    # Jupyter shows adlib's own repr, not scikit-learn's HTML diagram of the parameters.
    _repr_html_ = None
    _repr_mimebundle_ = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ---------------------------------------------------------------- scikit-learn conventions
    def _check_params(self) -> None:
        """Raise ``ValueError`` for a constructor argument out of range; :meth:`fit` calls it first.
        Subclasses call ``super()._check_params()`` and then check their own arguments."""

    def set_params(self, **params) -> Detector:
        """Change constructor arguments (scikit-learn's ``set_params``); they are checked at the next ``fit``.

        What the detector learned is discarded (its fitted attributes are removed), so the next
        ``fit`` starts from scratch with the new arguments."""
        super().set_params(**params)
        for name in [name for name in vars(self) if name.endswith("_") or name.startswith("_")]:
            delattr(self, name)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """What ``sklearn.utils.validation.check_is_fitted`` asks: has ``fit`` (or ``load_detector``) run?"""
        return self.is_fitted

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.two_d_array = "table" in self.input_kinds
        tags.input_tags.three_d_array = "image" in self.input_kinds
        tags.target_tags.required = False
        return tags

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
        return getattr(self, "input_shape_", None) is not None

    def fit(self, x, y=None, **kwargs) -> Detector:
        """Learn what normal data looks like from ``x`` (samples first). Returns ``self``.

        The constructor arguments are checked first (a ``ValueError`` names the one out of range).
        ``uint8`` arrays are read as 8-bit intensities and divided by 255 (here and when scoring).
        Calling ``fit`` again continues training a Keras detector's networks.

        Parameters
        ----------
        x : array-like of shape (n, d) or (n, h, w[, c])
            Normal training samples: rows of a table or images.
        y : None
            Ignored: detectors learn from normal data without labels. Accepted so that a
            scikit-learn ``Pipeline`` or search can pass its ``y``.
        **kwargs
            Training settings of the method: for the Keras detectors ``steps`` or ``epochs``,
            ``batch_size``, ``validation_data``, ``callbacks``, ``verbose`` and ``steps_per_execution``
            (see the API guide); the classical detectors take none.

        Returns
        -------
        Detector
            ``self``, fitted; any earlier threshold is cleared.
        """
        self._check_params()
        arr = as_float_array(x, name="x")
        if self.is_fitted and tuple(arr.shape[1:]) != self.input_shape_:
            raise ValueError(f"this detector was fitted on samples of shape {self.input_shape_}; "
                             f"got {tuple(arr.shape[1:])}. Create a new detector for differently shaped data.")
        prepared = self._prepare(_intensities(x, arr))
        if kwargs.get("validation_data") is not None:  # checked and prepared exactly as x is
            x_val = kwargs["validation_data"]
            kwargs["validation_data"] = self._prepare(_intensities(x_val, as_float_array(
                x_val, name="validation_data", expected_shape=arr.shape[1:])))
        if not hasattr(self, "history_"):
            self.history_: dict[str, list[float]] = {}
        self._fit(prepared, **kwargs)
        self.input_shape_ = tuple(int(d) for d in arr.shape[1:])
        self._after_fit(prepared)
        self.threshold_ = None  # a threshold inferred for the old model does not hold for the new one
        return self

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(x_train) first.")

    def _checked(self, x) -> np.ndarray:
        """``x`` validated against the fitted shape, in the form the model takes (see :meth:`_prepare`)."""
        self._require_fitted()
        return self._prepare(_intensities(x, as_float_array(x, name="x", expected_shape=self.input_shape_)))

    def _after_fit(self, x: np.ndarray) -> None:
        """Checks on the trained detector with its (prepared) training data; the collapse guard lives here."""

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        """The validated float32 batch in the form the model takes (Keras image models add a channel axis)."""
        return x

    def _as_input_shape(self, values: np.ndarray) -> np.ndarray:
        """Per-feature values (scores, reconstructions) back in the shape of the user's samples."""
        values = np.asarray(values)
        return values.reshape(len(values), *self.input_shape_)

    def score(self, x, batch_size: int = 256, verbose: int | str = "auto") -> np.ndarray:
        """Instance-level anomaly scores, shape ``(n,)``: higher means more anomalous.

        Parameters
        ----------
        x : array-like, ``tf.data.Dataset`` or iterable of batches
            Samples shaped like the training data. A dataset or an iterable (a generator, say) is
            scored batch by batch as it arrives, so data larger than memory can be scored; elements
            that are ``(x, y)`` pairs contribute their ``x``.
        batch_size : int, default 256
            Samples per forward pass for array input.
        verbose : {"auto", 0, 1}, default "auto"
            1 shows a Keras progress bar (samples scored), 0 is silent; "auto" shows it where scoring
            is slow: a latent search per input (AnoGAN, ADGAN) and a dataset or iterable of batches.

        Returns
        -------
        ndarray of shape (n,)
        """
        streamed = is_stream(x)
        show = self._shows_progress(verbose, streamed)
        if streamed:
            bar = keras_progbar(None) if show else None
            parts, seen = [], 0
            for batch in stream_batches(x):
                parts.append(self.score(batch, batch_size, verbose=0))
                seen += len(parts[-1])
                if bar is not None:
                    bar.update(seen)
            if not parts:
                raise ValueError("x is an empty dataset or iterable: there is nothing to score")
            if bar is not None:
                bar.update(seen, finalize=True)
            return np.concatenate(parts)
        return _checked_scores(self._array_scores(self._checked(x), batch_size, show), type(self).__name__)

    def _array_scores(self, x: np.ndarray, batch_size: int, show: bool) -> np.ndarray:
        """``_score`` of a checked array, behind a progress bar when ``show``; no gradients are recorded."""
        with no_gradients():
            return self._score_with_progress(x, batch_size) if show else self._score(x, batch_size)

    def _shows_progress(self, verbose, streamed: bool) -> bool:
        """Whether scoring shows a progress bar (see :meth:`score`'s ``verbose``)."""
        if verbose not in ("auto", 0, 1):
            raise ValueError(f'verbose must be "auto", 0 or 1; got {verbose!r}')
        return verbose == 1 or (verbose == "auto" and (streamed or self.slow_scoring))

    def _score_with_progress(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """``_score`` in chunks of a few batches, with a progress bar; latent searches override this."""
        if self.scores_whole_batch:
            return self._score(x, batch_size)
        bar, chunk, parts = keras_progbar(len(x)), 16 * batch_size, []
        for start in range(0, len(x), chunk):
            parts.append(np.asarray(self._score(x[start:start + chunk], batch_size)))
            bar.add(len(parts[-1]))
        return np.concatenate(parts)

    def decision_function(self, x) -> np.ndarray:
        """PyOD/scikit-learn name for :meth:`score` (higher = more anomalous)."""
        return self.score(x, verbose=0)

    def feature_score(self, x, batch_size: int = 256) -> np.ndarray:
        """Per-feature (per pixel and channel, or per column) scores, same shape as ``x``."""
        with no_gradients():
            feature = self._feature_score(self._checked(x), batch_size)
        return self._as_input_shape(np.asarray(feature, dtype=np.float64))

    def infer_threshold(self, x, percentile: float | None = None, *, fpr: float | None = None,
                        verbose: int | str = "auto") -> float:
        """Set ``threshold_`` from the scores of reference data ``x``, and keep those scores as the
        calibration set of :meth:`predict`'s p-values.

        Use normal (or mostly normal) reference data that the detector was not trained on;
        never test data whose labels you will report.

        Parameters
        ----------
        x : array-like
            Held-out normal reference samples, shaped like the training data.
        percentile : float, default 95
            The threshold is this percentile of the reference scores (tie-aware, see
            :func:`adlib.metrics.percentile_threshold`).
        fpr : float, optional
            The same, stated as the false-positive rate to aim for: ``fpr=0.05`` is ``percentile=95``.
            Give one of ``percentile`` and ``fpr``.
        verbose : {"auto", 0, 1}, default "auto"
            Progress bar while the reference data is scored, as in :meth:`score`.

        Returns
        -------
        float
            The threshold, also stored as ``threshold_``.
        """
        percentile = _resolve_percentile(percentile, fpr)
        scores = self.score(x, verbose=verbose)
        if not np.all(np.isfinite(scores)):
            raise NumericalError(f"{np.count_nonzero(~np.isfinite(scores))} reference scores are infinite: the "
                                 "reference data holds values far outside the training data's range; a threshold "
                                 "needs normal reference data like the training data.")
        self.threshold_ = percentile_threshold(scores, percentile)
        self.reference_scores_ = np.sort(scores)
        return self.threshold_

    def predict(self, x, return_feature_score: bool = False, batch_size: int = 256, *,
                return_p_value: bool = False, verbose: int | str = "auto") -> Prediction:
        """Scores and outlier flags (``score > threshold_``) for ``x``.

        Parameters
        ----------
        x : array-like
            Samples shaped like the training data.
        return_feature_score : bool, default False
            Also return per-feature scores (one pass computes both).
        batch_size : int, default 256
            Samples scored per batch.
        return_p_value : bool, default False
            Also return split-conformal p-values against the reference scores that
            :meth:`infer_threshold` kept: on normal data they are uniform, so flagging
            ``p_value <= alpha`` flags at most a share ``alpha`` of normal samples.
        verbose : {"auto", 0, 1}, default "auto"
            Progress bar while ``x`` is scored, as in :meth:`score`.

        Returns
        -------
        Prediction
            ``instance_score``, ``is_outlier``, ``threshold``, and ``feature_score`` / ``p_value`` when asked.
        """
        streamed = is_stream(x)
        if not streamed:
            x = self._checked(x)
        if getattr(self, "threshold_", None) is None:
            raise ThresholdNotSetError(
                f"{type(self).__name__} has no threshold: call infer_threshold(x_ref, percentile=95) "
                "on normal reference data, or set threshold_ yourself, before predict.")
        if return_p_value and getattr(self, "reference_scores_", None) is None:
            raise ThresholdNotSetError(
                f"{type(self).__name__} has no reference scores for p-values: call infer_threshold(x_ref) on "
                "held-out normal data first (a threshold set by hand carries none).")
        if streamed:
            if return_feature_score:
                raise ValueError("feature scores are returned for arrays only: predict each batch of the stream")
            scores, feature = self.score(x, batch_size, verbose=verbose), None
        elif return_feature_score:  # one pass gives both the instance and the feature scores
            with no_gradients():
                scores, raw = self._score_with_features(x, batch_size)
            feature = self._as_input_shape(np.asarray(raw, dtype=np.float64))
        else:
            scores, feature = self._array_scores(x, batch_size, self._shows_progress(verbose, False)), None
        scores = _checked_scores(scores, type(self).__name__)
        p_value = conformal_p_values(self.reference_scores_, scores) if return_p_value else None
        return Prediction(scores, (scores > self.threshold_).astype(int), self.threshold_, feature, p_value)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Save to the folder ``path``: ``detector.json`` (settings, threshold, a size and SHA-256 of
        every file) and Keras-native weights. Returns the folder's absolute path.

        The save is atomic: it is written beside ``path`` and swapped into place, so a failure
        leaves an earlier save at ``path`` as it was. An earlier adlib save is overwritten; a file,
        or a folder holding anything else, is refused with ``FileExistsError`` and left alone.
        """
        if not self.is_fitted:
            raise NotFittedError(f"Nothing to save: this {type(self).__name__} is not fitted yet.")

        def write(folder: Path) -> dict:
            self._save_state(folder)
            reference = getattr(self, "reference_scores_", None)
            return {"format_version": FORMAT_VERSION, "class": type(self).__name__,
                    "config": _jsonable(self.get_config()), "input_shape": list(self.input_shape_),
                    "threshold": getattr(self, "threshold_", None), "history": getattr(self, "history_", {}),
                    "reference_scores": None if reference is None else reference.tolist(),
                    "feature_threshold": getattr(self, "feature_threshold_", None)}

        return persistence.atomic_write_folder(Path(path), write)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def load_detector(path: str | os.PathLike) -> Detector:
    """Load a detector saved with :meth:`Detector.save`: same settings, weights, threshold and scores.

    Every file is checked against the size and SHA-256 recorded at save time before it is read, so
    a truncated, missing or edited file raises ``ValueError`` naming it. Keras files are loaded in
    safe mode: a model that carries code (a ``Lambda`` layer) is refused.
    """
    path = Path(path).expanduser()
    persistence.recover_interrupted(path.absolute(), tidy=False)  # the next save tidies up
    config_file = path / CONFIG_FILE
    if not config_file.is_file():
        raise FileNotFoundError(f"{path} is not a saved adlib detector: {CONFIG_FILE} is missing.")
    try:
        meta = json.loads(config_file.read_text())
        cls_name, config = meta["class"], meta["config"]
        input_shape, threshold = meta["input_shape"], meta["threshold"]
        files = meta["files"] if meta.get("format_version") == FORMAT_VERSION else None
    except (ValueError, KeyError, TypeError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"{config_file} is corrupt ({type(exc).__name__}: {exc}); save the detector again.") from exc
    if not isinstance(meta.get("format_version"), int):
        raise ValueError(f"{config_file} is corrupt: it has no format_version; save the detector again.")
    if meta["format_version"] != FORMAT_VERSION:
        raise ValueError(f"{path} was saved in format {meta.get('format_version')}; this adlib reads format "
                         f"{FORMAT_VERSION}. Load it with the adlib that saved it and save it again.")
    if meta.get("checksum") != persistence.content_checksum(meta):
        raise ValueError(f"{config_file} has changed since it was saved (its checksum does not match its "
                         "content); it is corrupt or was edited. Save the detector again.")
    persistence.verify_manifest(path, files)
    if cls_name not in _REGISTRY:
        raise ValueError(f"{path} holds an unknown detector class {cls_name!r}; "
                         f"known: {', '.join(sorted(_REGISTRY))}")
    cls = _REGISTRY[cls_name]
    config = {cls.renamed_params.get(name, name): value for name, value in config.items()}
    try:
        detector = cls(**config)
        detector._check_params()
        detector.input_shape_ = tuple(int(d) for d in input_shape)
        detector._load_state(path)
    except Exception as exc:
        raise ValueError(f"could not load the learned state of {cls_name} from {path}: "
                         f"{type(exc).__name__}: {exc}. The files are corrupt or do not match detector.json.") from exc
    detector.threshold_ = None if threshold is None else float(threshold)
    if meta.get("reference_scores") is not None:
        detector.reference_scores_ = np.asarray(meta["reference_scores"], dtype=np.float64)
    detector.history_ = meta.get("history", {})
    if meta.get("feature_threshold") is not None:
        detector.feature_threshold_ = float(meta["feature_threshold"])
    return detector
