"""Classical baselines with the adlib API: Hotelling's T^2, k-nearest neighbours, one-class SVM and
Isolation Forest, using scikit-learn where it has the algorithm (naive Bayes and the Gaussian
mixture are in ``probabilistic``, k-means in ``clustering``, density ratios in ``density_ratio``).

Each is fitted on samples flattened to vectors. Saving stores the training data (``train.npz``)
and refits on load: every estimator here is deterministic given its data and ``seed``, so the
loaded detector scores exactly like the saved one, and nothing is pickled.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.covariance import EmpiricalCovariance
from sklearn.ensemble import IsolationForest as _IsolationForest
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import OneClassSVM as _OneClassSVM

from ..base import Detector, NumericalError

TRAIN_FILE = "train.npz"
# Keras training arguments a benchmark may pass to every detector; they mean nothing here.
_KERAS_ONLY = {"epochs", "steps", "batch_size", "verbose", "callbacks", "validation_data", "shuffle",
               "steps_per_execution"}


class ClassicalDetector(Detector):
    """Shared fitting, scoring and saving for the scikit-learn based baselines."""

    def _make_estimator(self):
        raise NotImplementedError

    def _raw_score(self, x_flat: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fit(self, x: np.ndarray, **kwargs) -> None:
        unknown = set(kwargs) - _KERAS_ONLY
        if unknown:
            raise TypeError(f"{type(self).__name__}.fit() got unexpected arguments {sorted(unknown)}")
        self.x_fit_ = x.reshape(len(x), -1)
        with np.errstate(all="ignore"):
            try:
                self.estimator_ = self._make_estimator().fit(self.x_fit_)
                probe = self._probe_scores()
            except ValueError as exc:  # scikit-learn's own finiteness check, after an overflow
                if "NaN" not in str(exc) and "infinity" not in str(exc):
                    raise
                probe = np.array([np.nan])
        if np.isnan(probe).any():
            raise NumericalError(f"{type(self).__name__} could not be fitted: its statistics of x overflowed "
                                 f"(largest |x| = {np.abs(self.x_fit_).max():.3g}). Standardise the columns first.")

    def _probe_scores(self) -> np.ndarray:
        """Scores of a few training rows, to catch statistics that overflowed while fitting."""
        return self._raw_score(self.x_fit_[:16])

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return np.concatenate([self._raw_score(x[i:i + batch_size].reshape(len(x[i:i + batch_size]), -1))
                               for i in range(0, len(x), batch_size)])

    def _save_state(self, path: Path) -> None:
        np.savez_compressed(path / TRAIN_FILE, x=self.x_fit_)

    def _load_state(self, path: Path) -> None:
        with np.load(path / TRAIN_FILE) as f:
            x = f["x"]
        if x.shape[1] != int(np.prod(self.input_shape_)):
            raise ValueError(f"{TRAIN_FILE} holds {x.shape[1]} features per sample; detector.json says "
                             f"{self.input_shape_}")
        self.x_fit_ = x
        self.estimator_ = self._make_estimator().fit(x)


class HotellingT2(ClassicalDetector):
    """Hotelling's T^2: squared Mahalanobis distance from the mean of the training data.

    ``reg`` is added to the covariance diagonal, so that flat directions (constant pixels) do not
    make the inverse blow up.

    Parameters
    ----------
    reg : float, default 1e-6
        Amount (>= 0) added to every diagonal entry of the covariance before it is inverted; :meth:`f_threshold`
        is exact only for ``reg=0``.
    """

    def __init__(self, reg: float = 1e-6) -> None:
        super().__init__()
        self.reg = reg

    def _check_params(self) -> None:
        super()._check_params()
        if self.reg < 0:
            raise ValueError(f"reg must be >= 0; got {self.reg}")

    def get_config(self):
        return {"reg": self.reg}

    def _make_estimator(self):
        return _RegularisedCovariance(float(self.reg))

    def _raw_score(self, x_flat):
        return self.estimator_.mahalanobis(x_flat)

    def f_threshold(self, false_alarm_rate: float = 0.05) -> float:
        """Set ``threshold_`` to the T² that a new normal sample exceeds with probability
        ``false_alarm_rate``, if the normal data are Gaussian, and return it. With n training
        samples in d dimensions and the maximum-likelihood covariance used here,
        T² · (n − d) / (d (n + 1)) follows an F(d, n − d) distribution (exact for ``reg=0``).
        Unlike :meth:`infer_threshold` it needs no reference data, but it is only as right as the
        Gaussian assumption."""
        self._require_fitted()
        if not 0 < false_alarm_rate < 1:
            raise ValueError(f"false_alarm_rate must be in (0, 1); got {false_alarm_rate}")
        n, d = self.x_fit_.shape
        if n <= d:
            raise ValueError(f"the F threshold needs more training samples than features; got n={n}, d={d}")
        self.threshold_ = float(d * (n + 1) / (n - d) * stats.f.ppf(1 - false_alarm_rate, d, n - d))
        return self.threshold_


class _RegularisedCovariance(EmpiricalCovariance):
    """EmpiricalCovariance with ``reg`` added to the diagonal before inversion."""

    def __init__(self, reg: float = 0.0):
        super().__init__()
        self.reg = reg

    def fit(self, X, y=None):
        super().fit(X)
        self._set_covariance(self.covariance_ + self.reg * np.eye(len(self.covariance_)))
        return self


class KNN(ClassicalDetector):
    """Distance to the ``n_neighbors``-th nearest training sample (``method="largest"``) or the mean
    distance to the ``n_neighbors`` nearest (``"mean"``).

    Parameters
    ----------
    n_neighbors : int, default 5
        k (>= 1), the number of nearest training samples looked at; the larger it is, the less a score
        depends on any single training sample.
    method : {"largest", "mean"}, default "largest"
        Score by the distance to the k-th neighbour, or by the mean distance to the k nearest.
    """

    def __init__(self, n_neighbors: int = 5, method: str = "largest") -> None:
        super().__init__()
        self.n_neighbors, self.method = n_neighbors, method

    def _check_params(self) -> None:
        super()._check_params()
        if self.n_neighbors < 1 or self.method not in ("largest", "mean"):
            raise ValueError("n_neighbors must be >= 1 and method 'largest' or 'mean'")

    def get_config(self):
        return {"n_neighbors": self.n_neighbors, "method": self.method}

    def _make_estimator(self):
        return NearestNeighbors(n_neighbors=int(self.n_neighbors))

    def _raw_score(self, x_flat):
        dist, _ = self.estimator_.kneighbors(x_flat)
        return dist[:, -1] if self.method == "largest" else dist.mean(axis=1)


class OCSVM(ClassicalDetector):
    """One-class SVM (Schölkopf et al. 2001); score = minus the signed distance to the boundary.

    Parameters
    ----------
    nu : float, default 0.1
        ν in (0, 1], scikit-learn's ``nu``: an upper bound on the share of training samples left outside the
        boundary (and a lower bound on the share of support vectors).
    kernel : str, default "rbf"
        scikit-learn's ``kernel`` (``"rbf"``, ``"linear"``, ``"poly"``, ``"sigmoid"``).
    gamma : "scale", "auto" or float, default "scale"
        scikit-learn's kernel coefficient; ``"scale"`` is 1 / (d · variance of the training data), which
        adapts the kernel width to the scale of the data.
    """

    def __init__(self, nu: float = 0.1, kernel: str = "rbf", gamma: str | float = "scale") -> None:
        super().__init__()
        self.nu, self.kernel, self.gamma = nu, kernel, gamma

    def _check_params(self) -> None:
        super()._check_params()
        if not 0 < self.nu <= 1:
            raise ValueError(f"nu must be in (0, 1]; got {self.nu}")

    def get_config(self):
        return {"nu": self.nu, "kernel": self.kernel, "gamma": self.gamma}

    def _make_estimator(self):
        return _OneClassSVM(nu=float(self.nu), kernel=self.kernel, gamma=self.gamma)

    def _raw_score(self, x_flat):
        return -self.estimator_.decision_function(x_flat)


class IForest(ClassicalDetector):
    """Isolation Forest (Liu et al. 2008); score = minus scikit-learn's ``score_samples``
    (anomalies are isolated by fewer random splits).

    Parameters
    ----------
    n_estimators : int, default 100
        Trees (>= 1) in the forest; more trees make the score less noisy.
    max_samples : int, float or "auto", default "auto"
        scikit-learn's ``max_samples``, the training samples drawn to build each tree (``"auto"``:
        min(256, n)).
    seed : int, default 0
        scikit-learn's ``random_state``: the same seed and data build the same forest (which is why saving can
        refit on load).
    """

    def __init__(self, n_estimators: int = 100, max_samples: int | str = "auto", seed: int = 0) -> None:
        super().__init__()
        self.n_estimators, self.max_samples, self.seed = n_estimators, max_samples, seed

    def _check_params(self) -> None:
        super()._check_params()
        if self.n_estimators < 1:
            raise ValueError(f"n_estimators must be >= 1; got {self.n_estimators}")

    def get_config(self):
        return {"n_estimators": self.n_estimators, "max_samples": self.max_samples, "seed": self.seed}

    def _make_estimator(self):
        return _IsolationForest(n_estimators=int(self.n_estimators), max_samples=self.max_samples,
                                random_state=int(self.seed))

    def _raw_score(self, x_flat):
        return -self.estimator_.score_samples(x_flat)
