"""Inlier-based outlier detection by density-ratio estimation (Hido et al., KAIS 2011), with uLSIF
(unconstrained least-squares importance fitting; Kanamori, Hido and Sugiyama, JMLR 2009).

The ratio w(x) = p_normal(x) / p_batch(x) of the density of the normal training data to the density
of the batch being scored is close to 1 where the batch looks like the training data and close to
0 at an outlier, which the training data never produced. uLSIF fits w without estimating either
density: w(x) = Σ_l α_l exp(−‖x − c_l‖² / 2σ²), with centres c_l drawn from the training data and
α = max(0, (Ĥ + λI)⁻¹ ĥ), where Ĥ = mean over the batch of φ(x)φ(x)ᵀ and ĥ = mean over the
training data of φ(x). σ and λ are chosen by K-fold cross-validation of uLSIF's own criterion,
½ E_batch[w²] − E_normal[w], which needs no labels.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics.pairwise import euclidean_distances, rbf_kernel

from .classical import ClassicalDetector


class _ULSIF:
    """The training data and the kernel centres; ``ratio(batch)`` fits uLSIF against a batch."""

    def __init__(self, n_centers: int, width_factors: Sequence[float], regularisations: Sequence[float],
                 n_folds: int, seed: int) -> None:
        self.n_centers, self.width_factors, self.regularisations = n_centers, width_factors, regularisations
        self.n_folds, self.seed = n_folds, seed

    def fit(self, x: np.ndarray) -> _ULSIF:
        rng = np.random.default_rng(self.seed)
        self.x_normal_ = x
        self.centers_ = x[rng.permutation(len(x))[:self.n_centers]]
        return self

    def _features(self, x: np.ndarray, sigma: float) -> np.ndarray:
        return rbf_kernel(x, self.centers_, gamma=1.0 / (2.0 * sigma ** 2))

    @staticmethod
    def _alpha(phi_normal: np.ndarray, phi_batch: np.ndarray, lam: float) -> np.ndarray:
        h_matrix = phi_batch.T @ phi_batch / len(phi_batch)
        h_vector = phi_normal.mean(axis=0)
        return np.maximum(0.0, np.linalg.solve(h_matrix + lam * np.eye(len(h_vector)), h_vector))

    def _cv_criterion(self, phi_normal: np.ndarray, phi_batch: np.ndarray, lam: float, rng) -> float:
        folds_n = rng.permutation(len(phi_normal)) % self.n_folds
        folds_b = rng.permutation(len(phi_batch)) % self.n_folds
        total = 0.0
        for k in range(self.n_folds):
            alpha = self._alpha(phi_normal[folds_n != k], phi_batch[folds_b != k], lam)
            w_batch, w_normal = phi_batch[folds_b == k] @ alpha, phi_normal[folds_n == k] @ alpha
            total += 0.5 * np.mean(w_batch ** 2) - np.mean(w_normal)
        return total / self.n_folds

    def ratio(self, batch: np.ndarray) -> np.ndarray:
        """w(x) for every row of ``batch``, with σ and λ chosen by cross-validation on this batch."""
        rng = np.random.default_rng(self.seed)
        probe = batch[rng.permutation(len(batch))[:500]]
        median = float(np.median(euclidean_distances(probe, self.centers_)))
        median = median if median > 0 else 1.0
        self.cv_ = {}
        for factor in self.width_factors:
            sigma = factor * median
            phi_normal, phi_batch = self._features(self.x_normal_, sigma), self._features(batch, sigma)
            for lam in self.regularisations:
                self.cv_[(sigma, lam)] = self._cv_criterion(phi_normal, phi_batch, lam,
                                                            np.random.default_rng(self.seed))
        self.sigma_, self.regularisation_ = min(self.cv_, key=self.cv_.get)
        alpha = self._alpha(self._features(self.x_normal_, self.sigma_), self._features(batch, self.sigma_),
                            self.regularisation_)
        return self._features(batch, self.sigma_) @ alpha


class DensityRatio(ClassicalDetector):
    """Outlier score −w(x) from uLSIF density-ratio estimation of the normal training data against the
    batch being scored (see the module docstring).

    The score is *transductive*: it compares the batch with the training data, so a sample's score
    depends on the rest of its batch, and ``score`` needs at least ``2 * n_folds`` samples at once.
    A batch of normal data has w ≈ 1 everywhere; thresholds therefore do not carry over between
    batches that hold different shares of outliers, and ranking within a batch (AUROC) is what the
    score is for. σ is ``width_factors`` times the median distance from the batch to the centres;
    ``sigma_``, ``regularisation_`` and ``cv_`` hold the last batch's choice and criterion.

    Parameters
    ----------
    n_centers : int, default 100
        Kernel centres c_l (>= 1), drawn at random from the training data (all of it if it has fewer rows).
        The model has one weight α_l per centre.
    width_factors : sequence of float, default (0.25, 0.5, 1.0, 2.0)
        Candidate kernel widths σ, as multiples of the median distance from (up to 500 rows of) the batch to
        the centres; positive, non-empty.
    regularisations : sequence of float, default (1e-3, 1e-2, 1e-1, 1.0)
        Candidate λ; positive, non-empty. Every pair (σ, λ) is cross-validated on each scored batch.
    n_folds : int, default 5
        K (>= 2) of the cross-validation; ``fit`` and ``score`` need at least ``2 * n_folds`` samples.
    seed : int, default 0
        Seed of the centres, the rows used for the median distance, and the folds.
    """

    scores_whole_batch = True  # the ratio is fitted against the batch scored

    def __init__(self, n_centers: int = 100, width_factors: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
                 regularisations: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0), n_folds: int = 5,
                 seed: int = 0) -> None:
        super().__init__()
        self.n_centers, self.width_factors, self.regularisations = n_centers, width_factors, regularisations
        self.n_folds, self.seed = n_folds, seed

    def _check_params(self) -> None:
        super()._check_params()
        if self.n_centers < 1 or self.n_folds < 2:
            raise ValueError(f"n_centers must be >= 1 and n_folds >= 2; got {self.n_centers}, {self.n_folds}")
        width_factors, regularisations = self.width_factors, self.regularisations
        if not len(width_factors) or min(width_factors) <= 0 or not len(regularisations) or min(regularisations) <= 0:
            raise ValueError("width_factors and regularisations must be non-empty and positive")

    def get_config(self):
        return {"n_centers": self.n_centers, "width_factors": [float(f) for f in self.width_factors],
                "regularisations": [float(r) for r in self.regularisations], "n_folds": self.n_folds,
                "seed": self.seed}

    def _make_estimator(self):
        return _ULSIF(int(self.n_centers), tuple(float(f) for f in self.width_factors),
                      tuple(float(r) for r in self.regularisations), int(self.n_folds), int(self.seed))

    def _raw_score(self, x_flat):
        return -self.estimator_.ratio(x_flat)

    def _fit(self, x: np.ndarray, **kwargs) -> None:
        if len(x) < 2 * self.n_folds:
            self._too_few(len(x), "fit")
        super()._fit(x, **kwargs)

    def _probe_scores(self) -> np.ndarray:
        """The kernel features of a few training rows: a ratio needs a batch, and fitting has none."""
        return self.estimator_._features(self.x_fit_[:16], 1.0).sum(axis=1)

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """The whole batch at once (``batch_size`` is unused): the ratio is fitted against it."""
        if len(x) < 2 * self.n_folds:
            self._too_few(len(x), "score")
        return self._raw_score(x.reshape(len(x), -1))

    def _too_few(self, n: int, what: str) -> None:
        raise ValueError(f"DensityRatio compares the training data with the batch it scores, and chooses its "
                         f"kernel by {self.n_folds}-fold cross-validation: {what} needs at least "
                         f"{2 * self.n_folds} samples at once; got {n}")

    def _last_fit(self, name: str):
        self._require_fitted()
        if not hasattr(self.estimator_, "sigma_"):
            raise AttributeError(f"{name} is set when a batch is scored: call score(x) first")
        return getattr(self.estimator_, name)

    @property
    def sigma_(self) -> float:
        return float(self._last_fit("sigma_"))

    @property
    def regularisation_(self) -> float:
        return float(self._last_fit("regularisation_"))

    @property
    def cv_(self) -> dict:
        return dict(self._last_fit("cv_"))
