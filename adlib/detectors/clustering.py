"""Clustering baseline: the distance of a sample to the nearest k-means centre of the normal data."""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from .classical import ClassicalDetector


class KMeansDetector(ClassicalDetector):
    """k-means on the normal data; score = Euclidean distance to the nearest centre.

    ``n_clusters="auto"`` tries 2 to ``max_clusters`` clusters and keeps the number with the best
    silhouette on (a sample of up to ``silhouette_sample`` rows of) the training data: no labels are
    used. ``n_clusters_`` is the number chosen, ``silhouettes_`` the score of every number tried.

    Parameters
    ----------
    n_clusters : int or "auto", default "auto"
        The number of centres (>= 1), or ``"auto"`` to choose it by silhouette.
    max_clusters : int, default 10
        The largest number (>= 2) tried by ``"auto"`` (at most the number of training samples minus one).
    silhouette_sample : int, default 2000
        Training rows (more than ``max_clusters``) drawn at random to compute the silhouettes on, which keeps
        the choice affordable on large data.
    seed : int, default 0
        Seed of scikit-learn's ``KMeans`` (4 initialisations per fit) and of the rows drawn for the silhouette.
    """

    def __init__(self, n_clusters: int | str = "auto", max_clusters: int = 10, silhouette_sample: int = 2000,
                 seed: int = 0) -> None:
        super().__init__()
        self.n_clusters, self.max_clusters, self.silhouette_sample = n_clusters, max_clusters, silhouette_sample
        self.seed = seed

    def _check_params(self) -> None:
        super()._check_params()
        n_clusters, max_clusters, silhouette_sample = self.n_clusters, self.max_clusters, self.silhouette_sample
        if n_clusters != "auto" and (not isinstance(n_clusters, (int, np.integer)) or n_clusters < 1):
            raise ValueError(f"n_clusters must be 'auto' or an integer >= 1; got {n_clusters!r}")
        if max_clusters < 2:
            raise ValueError(f"max_clusters must be >= 2; got {max_clusters}")
        if silhouette_sample <= max_clusters:
            raise ValueError(f"silhouette_sample must exceed max_clusters; got {silhouette_sample} <= {max_clusters}")

    def get_config(self):
        return {"n_clusters": self.n_clusters, "max_clusters": self.max_clusters,
                "silhouette_sample": self.silhouette_sample, "seed": self.seed}

    def _kmeans(self, k: int) -> KMeans:
        return KMeans(n_clusters=int(k), n_init=4, random_state=int(self.seed))

    def _make_estimator(self):
        return _SilhouetteSelectedKMeans(self) if self.n_clusters == "auto" else self._kmeans(self.n_clusters)

    def _raw_score(self, x_flat):
        return self.estimator_.transform(x_flat).min(axis=1)

    @property
    def n_clusters_(self) -> int:
        self._require_fitted()
        return int(self.estimator_.n_clusters)

    @property
    def silhouettes_(self) -> dict[int, float]:
        """Silhouette of every number of clusters tried (empty if ``n_clusters`` was given)."""
        self._require_fitted()
        return dict(getattr(self.estimator_, "silhouettes_", {}))


class _SilhouetteSelectedKMeans:
    """Fits k-means for 2..max_clusters and returns the fit with the highest silhouette."""

    def __init__(self, detector: KMeansDetector) -> None:
        self.detector = detector

    def fit(self, x: np.ndarray) -> KMeans:
        upper = min(int(self.detector.max_clusters), len(x) - 1)
        if upper < 2:
            raise ValueError(f"choosing the number of clusters needs at least 3 training samples; got {len(x)}")
        rows = np.random.default_rng(int(self.detector.seed)).permutation(len(x))[:int(self.detector.silhouette_sample)]
        fits, silhouettes = {}, {}
        for k in range(2, upper + 1):
            fits[k] = self.detector._kmeans(k).fit(x)
            labels = fits[k].labels_[rows]
            n_labels = len(np.unique(labels))
            silhouettes[k] = float(silhouette_score(x[rows], labels)) if 1 < n_labels < len(rows) else -1.0
        best = fits[max(silhouettes, key=silhouettes.get)]
        best.silhouettes_ = silhouettes
        return best
