"""Density baselines: naive Bayes (one Gaussian per feature) and a Gaussian mixture.

Both score a sample by its negative log-likelihood under a density fitted to the normal data, so
that a higher score means less likely, hence more anomalous. They differ in what they can model:
naive Bayes ignores every correlation between features; the mixture models correlations and
several modes, at the price of d² parameters per component.
"""
from __future__ import annotations

import numpy as np
from sklearn.mixture import GaussianMixture as _GaussianMixture

from .classical import ClassicalDetector

_LOG_2PI = float(np.log(2 * np.pi))


class _IndependentGaussians:
    """Per-feature mean and variance (``var_floor`` added), an estimator with ``fit`` like scikit-learn's."""

    def __init__(self, var_floor: float) -> None:
        self.var_floor = var_floor

    def fit(self, x: np.ndarray) -> _IndependentGaussians:
        self.mean_ = x.mean(axis=0)
        self.var_ = x.var(axis=0) + self.var_floor
        return self

    def terms(self, x: np.ndarray) -> np.ndarray:
        """−log N(x_j; μ_j, σ_j²) for every sample and feature."""
        return 0.5 * (_LOG_2PI + np.log(self.var_) + (x - self.mean_) ** 2 / self.var_)


class NaiveBayes(ClassicalDetector):
    """Naive Bayes density: each feature an independent Gaussian fitted to the normal data.

    score(x) = −log p(x) = Σ_j [½ log 2πσ_j² + (x_j − μ_j)² / 2σ_j²]; the feature scores are the
    terms of that sum, so they say which features made a sample unlikely. ``var_floor`` is added to
    every variance, so that a constant feature (a blank pixel) does not divide by zero.

    Parameters
    ----------
    var_floor : float, default 1e-6
        Amount (> 0) added to every feature's variance.
    """

    has_feature_score = True

    def __init__(self, var_floor: float = 1e-6) -> None:
        super().__init__()
        self.var_floor = var_floor

    def _check_params(self) -> None:
        super()._check_params()
        if self.var_floor <= 0:
            raise ValueError(f"var_floor must be > 0; got {self.var_floor}")

    def get_config(self):
        return {"var_floor": self.var_floor}

    def _make_estimator(self):
        return _IndependentGaussians(float(self.var_floor))

    def _raw_score(self, x_flat):
        return self.estimator_.terms(x_flat).sum(axis=1)

    def _feature_score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return self.estimator_.terms(x.reshape(len(x), -1))

    def _scores_from_features(self, feature_scores: np.ndarray) -> np.ndarray:
        return feature_scores.reshape(len(feature_scores), -1).sum(axis=1)


class GMM(ClassicalDetector):
    """Gaussian-mixture density (EM, scikit-learn); score = −log p(x).

    ``n_components="auto"`` fits 1 to ``max_components`` components and keeps the number with the
    lowest BIC on the training data, so no labels are needed; ``n_components_`` is the number
    chosen. ``reg_covar`` is added to every covariance diagonal (flat directions).

    Parameters
    ----------
    n_components : int or "auto", default "auto"
        Mixture components (>= 1), or ``"auto"`` to choose their number by BIC.
    max_components : int, default 8
        The largest number (>= 1) tried by ``"auto"`` (at most half the number of training samples).
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
        scikit-learn's ``covariance_type``; anything but ``"full"`` gives up correlations, or per-component
        shapes, for fewer parameters.
    reg_covar : float, default 1e-6
        scikit-learn's ``reg_covar``, added to every covariance diagonal.
    seed : int, default 0
        scikit-learn's ``random_state`` (2 initialisations per fit).
    """

    def __init__(self, n_components: int | str = "auto", max_components: int = 8,
                 covariance_type: str = "full", reg_covar: float = 1e-6, seed: int = 0) -> None:
        super().__init__()
        self.n_components, self.max_components, self.covariance_type = n_components, max_components, covariance_type
        self.reg_covar, self.seed = reg_covar, seed

    def _check_params(self) -> None:
        super()._check_params()
        n_components, covariance_type = self.n_components, self.covariance_type
        if n_components != "auto" and (not isinstance(n_components, (int, np.integer)) or n_components < 1):
            raise ValueError(f"n_components must be 'auto' or an integer >= 1; got {n_components!r}")
        if self.max_components < 1:
            raise ValueError(f"max_components must be >= 1; got {self.max_components}")
        if covariance_type not in ("full", "tied", "diag", "spherical"):
            raise ValueError(f"covariance_type must be full, tied, diag or spherical; got {covariance_type!r}")

    def get_config(self):
        return {"n_components": self.n_components, "max_components": self.max_components,
                "covariance_type": self.covariance_type, "reg_covar": self.reg_covar, "seed": self.seed}

    def _mixture(self, k: int) -> _GaussianMixture:
        return _GaussianMixture(n_components=int(k), covariance_type=self.covariance_type,
                                reg_covar=float(self.reg_covar), n_init=2, random_state=int(self.seed))

    def _make_estimator(self):
        return _BICSelectedMixture(self)

    def _raw_score(self, x_flat):
        return -self.estimator_.score_samples(x_flat.astype(np.float64))

    @property
    def n_components_(self) -> int:
        self._require_fitted()
        return int(self.estimator_.n_components)

    @property
    def bics_(self) -> dict[int, float]:
        """BIC on the training data of every number of components fitted."""
        self._require_fitted()
        return dict(self.estimator_.bics_)


class _BICSelectedMixture:
    """Fits mixtures of 1..max_components components (or the one number asked for), in float64,
    and returns the one with the lowest BIC, with ``bics_`` attached."""

    def __init__(self, detector: GMM) -> None:
        self.detector = detector

    def fit(self, x: np.ndarray) -> _GaussianMixture:
        x = x.astype(np.float64)
        if self.detector.n_components == "auto":
            candidates = range(1, max(1, min(int(self.detector.max_components), len(x) // 2)) + 1)
        else:
            candidates = [int(self.detector.n_components)]
        fits = {k: self.detector._mixture(k).fit(x) for k in candidates}
        bics = {k: float(m.bic(x)) for k, m in fits.items()}
        best = fits[min(bics, key=bics.get)]
        best.bics_ = bics
        return best
