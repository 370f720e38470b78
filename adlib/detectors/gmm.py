"""Deep autoencoding Gaussian mixture models, DAGMM (Zong et al., ICLR 2018): AEGMM and VAEGMM.

A compression network (autoencoder, or VAE for VAEGMM) gives each sample a code ``z_c`` and two
reconstruction features: the relative Euclidean distance ``|x - x'| / |x|`` and the cosine
similarity of ``x`` and ``x'``. ``z = [z_c, euclid, cosine]`` goes to an estimation network whose
softmax output ``gamma`` holds the soft memberships of a K-component Gaussian mixture. The score
is the sample energy ``E(z) = -log sum_k phi_k N(z | mu_k, Sigma_k)``.

Loss: ``reconstruction + energy_weight * mean E(z) + covariance_weight * sum_k sum_j 1 / Sigma_k[j, j]``.
The reconstruction term is the paper's squared L2 norm summed over features (``reconstruction="sum"``)
or Alibi Detect's mean over features (``"mean"``); the mean weakens it by the number of features
relative to the energy and covariance terms.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from ..base import NumericalError
from . import _engine as engine
from ._keras import KerasDetector, SerializesNetworks, predict_in_batches

EPS = 1e-12


DISTANCES = ("relative", "relative_min", "absolute")
RECONSTRUCTIONS = ("mean", "sum")


def reconstruction_features(x, x_hat, distance: str = "relative", max_distance: float = 100.0):
    """Reconstruction distance and cosine similarity between each sample and its reconstruction, (n, 2).

    ``distance``: ``"relative"`` is the paper's ``|x - x'| / |x|``; ``"relative_min"`` divides by
    ``min(|x|, |x'|)`` as Alibi Detect does; ``"absolute"`` is ``|x - x'|``. Distances are clipped at
    ``max_distance``. On standardised data, centred at zero, ``|x|`` is small for typical samples,
    which makes the paper's ratio noisy; the other two avoid that.

    Parameters
    ----------
    x : tensor
        A batch, samples first (flattened here).
    x_hat : tensor
        Its reconstruction, of the same shape.
    distance : {"relative", "relative_min", "absolute"}, default "relative"
        Which reconstruction distance, as above.
    max_distance : float, default 100.0
        Upper clip of the distance, so that a sample with ``|x|`` near zero cannot give an extreme feature.

    Returns
    -------
    tensor
        Shape ``(n, 2)``: the distance and the cosine similarity of every sample.
    """
    n = ops.shape(x)[0]
    x, x_hat = ops.reshape(x, (n, -1)), ops.reshape(x_hat, (n, -1))
    norm_x, norm_r = ops.norm(x, axis=1), ops.norm(x_hat, axis=1)
    dist = ops.norm(x - x_hat, axis=1)
    if distance == "relative":
        dist = dist / (norm_x + EPS)
    elif distance == "relative_min":
        dist = dist / (ops.minimum(norm_x, norm_r) + EPS)
    elif distance != "absolute":
        raise ValueError(f"distance must be one of {DISTANCES}; got {distance!r}")
    cosine = ops.sum(x * x_hat, axis=1) / (norm_x * norm_r + EPS)
    return ops.stack([ops.clip(dist, 0.0, max_distance), cosine], axis=1)


def gmm_parameters(gamma, z):
    """Mixture weights (K,), means (K, D) and covariances (K, D, D) from memberships ``gamma`` (N, K).

    Covariances are computed from centred samples, which keeps them positive semi-definite in
    float32 (the shortcut E[zz^T] - mu mu^T can lose that to cancellation).

    Parameters
    ----------
    gamma : tensor
        Soft memberships, shape (N, K), rows summing to 1.
    z : tensor
        The samples, shape (N, D).

    Returns
    -------
    phi, mu, cov : tensor
        Shapes (K,), (K, D) and (K, D, D).
    """
    s0 = ops.sum(gamma, axis=0)
    phi = s0 / ops.cast(ops.shape(z)[0], z.dtype)
    mu = ops.einsum("nk,nd->kd", gamma, z) / (s0[:, None] + EPS)
    centred = z[:, None, :] - mu[None, :, :]                                  # (N, K, D)
    cov = ops.einsum("nk,nkd,nke->kde", gamma, centred, centred) / (s0[:, None, None] + EPS)
    return phi, mu, cov


def gmm_sufficient_statistics(gamma, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float64 sums over a batch, to accumulate the mixture over many batches:
    sum gamma (K,), sum gamma z (K, D), sum gamma z z^T (K, D, D).

    Parameters
    ----------
    gamma : array-like
        Soft memberships of one batch, shape (N, K).
    z : array-like
        The batch's samples, shape (N, D).

    Returns
    -------
    tuple of numpy.ndarray
        The three sums, float64, to be added over batches and passed to
        :func:`gmm_parameters_from_statistics`.
    """
    gamma, z = np.asarray(gamma, dtype=np.float64), np.asarray(z, dtype=np.float64)
    return gamma.sum(axis=0), gamma.T @ z, np.einsum("nk,nd,ne->kde", gamma, z, z)


def gmm_parameters_from_statistics(s0, s1, s2, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mixture weights, means and covariances (float64) from accumulated sufficient statistics.

    Parameters
    ----------
    s0, s1, s2 : numpy.ndarray
        Sums of gamma (K,), gamma z (K, D) and gamma z z^T (K, D, D) over all samples
        (:func:`gmm_sufficient_statistics`).
    n : int
        The number of samples summed over.

    Returns
    -------
    phi, mu, cov : numpy.ndarray
        Weights (K,), means (K, D) and covariances (K, D, D), the covariances made exactly symmetric.
    """
    mu = s1 / (s0[:, None] + EPS)
    cov = s2 / (s0[:, None, None] + EPS) - np.einsum("kd,ke->kde", mu, mu)
    return s0 / n, mu, 0.5 * (cov + np.transpose(cov, (0, 2, 1)))


def gmm_energy(z, phi, mu, cov, jitter: float = 1e-6):
    """Sample energy ``-log sum_k phi_k N(z | mu_k, cov_k)`` via a Cholesky factor and log-sum-exp.

    Parameters
    ----------
    z : tensor
        Samples, shape (N, D).
    phi, mu, cov : tensor
        Mixture weights (K,), means (K, D) and covariances (K, D, D).
    jitter : float, default 1e-6
        Added to every covariance diagonal before the Cholesky factorisation, which fails on a singular
        covariance.

    Returns
    -------
    tensor
        The energy of every sample, shape (N,).
    """
    d = ops.shape(z)[1]
    eye = ops.eye(d, dtype=z.dtype)
    chol = ops.cholesky(cov + jitter * eye[None])                          # (K, D, D), lower
    diff = ops.transpose(z[None, :, :] - mu[:, None, :], (0, 2, 1))         # (K, D, N)
    solved = ops.solve_triangular(chol, diff, lower=True)                   # L^-1 (z - mu)
    mahalanobis = ops.sum(ops.square(solved), axis=1)                       # (K, N)
    log_det = 2.0 * ops.sum(ops.log(ops.diagonal(chol, axis1=1, axis2=2)), axis=1)  # (K,)
    log_prob = -0.5 * (mahalanobis + log_det[:, None] + ops.cast(d, z.dtype) * math.log(2 * math.pi))
    return -ops.logsumexp(ops.log(phi + EPS)[:, None] + log_prob, axis=0)


@keras.saving.register_keras_serializable(package="adlib")
class GMMModel(SerializesNetworks, keras.Model):
    """Compression network + estimation network + the mixture parameters used for scoring.

    ``phi``, ``mu`` and ``cov`` are non-trainable weights, set after training from the whole
    training set (:meth:`set_mixture`), so they are saved with the model.

    Parameters
    ----------
    encoder : keras.Model
        Compression encoder: from samples to the code (to features, for the variational heads, when
        ``variational``).
    decoder : keras.Model
        From codes back to samples.
    estimator : keras.Model
        Estimation network, from ``z`` (size ``latent_dim + 2``) to ``n_gmm`` softmax memberships.
    latent_dim : int
        Size of the code ``z_c``.
    n_gmm : int
        Mixture components K.
    variational : bool, default False
        Add mean and log-variance heads and sample the code in training (VAEGMM).
    energy_weight : float, default 0.1
        Weight of the mean sample energy in the loss.
    covariance_weight : float, default 0.005
        Weight of the penalty on small covariance diagonals, which keeps the covariances from becoming
        singular.
    kl_weight : float, default 1.0
        Weight of the KL term (variational only).
    cov_jitter : float, default 1e-6
        Added to covariance diagonals in :func:`gmm_energy`.
    distance : {"relative", "relative_min", "absolute"}, default "relative"
        The reconstruction distance in ``z`` (:func:`reconstruction_features`).
    reconstruction : {"mean", "sum"}, default "mean"
        Reconstruction error averaged or summed over features (see the module docstring).
    seed : int or None, default None
        Seed of the ``keras.random.SeedGenerator`` that samples the variational code; saved in the config.
    **kwargs
        Passed to ``keras.Model`` (e.g. ``name``, or what ``get_config`` saved when a model is loaded).
    """

    network_keys = ("encoder", "decoder", "estimator")

    def __init__(self, encoder: keras.Model, decoder: keras.Model, estimator: keras.Model, latent_dim: int,
                 n_gmm: int, variational: bool = False, energy_weight: float = 0.1, covariance_weight: float = 0.005,
                 kl_weight: float = 1.0, cov_jitter: float = 1e-6, distance: str = "relative",
                 reconstruction: str = "mean", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        _check_choices(distance, reconstruction)
        self.encoder, self.decoder, self.estimator = encoder, decoder, estimator
        self.distance, self.reconstruction = distance, reconstruction
        self.latent_dim, self.n_gmm, self.variational = int(latent_dim), int(n_gmm), bool(variational)
        self.energy_weight = float(energy_weight)
        self.covariance_weight = float(covariance_weight)
        self.kl_weight = float(kl_weight)
        self.cov_jitter, self.seed = float(cov_jitter), seed
        if self.variational:
            self.z_mean = layers.Dense(self.latent_dim, name="z_mean")
            self.z_log_var = layers.Dense(self.latent_dim, name="z_log_var")
        self.seed_generator = keras.random.SeedGenerator(seed)
        d = self.latent_dim + 2
        self.phi = self.add_weight(shape=(self.n_gmm,), initializer="zeros", trainable=False, name="phi")
        self.mu = self.add_weight(shape=(self.n_gmm, d), initializer="zeros", trainable=False, name="mu")
        self.cov = self.add_weight(shape=(self.n_gmm, d, d), initializer="zeros", trainable=False, name="cov")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "reconstruction", "energy", "cov_penalty")}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def code(self, x, training=False):
        """Code, reconstruction and KL term; the code is sampled only when training a VAEGMM."""
        h = self.encoder(x, training=training)
        if not self.variational:
            return h, self.decoder(h, training=training), 0.0
        mean, log_var = self.z_mean(h), self.z_log_var(h)
        z_c = mean
        if training:
            z_c = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=1)
        return z_c, self.decoder(z_c, training=training), kl

    def latent(self, x, training=False):
        """``z = [z_c, euclid, cosine]``, the memberships ``gamma``, and the losses' ingredients."""
        z_c, x_hat, kl = self.code(x, training=training)
        z = ops.concatenate([z_c, reconstruction_features(x, x_hat, self.distance)], axis=1)
        return z, self.estimator(z, training=training), x_hat, kl

    def call(self, x, training=False):
        """Sample energy under the stored mixture (inference)."""
        z, _, _, _ = self.latent(x, training=training)
        return gmm_energy(z, self.phi, self.mu, self.cov, self.cov_jitter)

    def _loss_terms(self, x, training):
        z, gamma, x_hat, kl = self.latent(x, training=training)
        phi, mu, cov = gmm_parameters(gamma, z)
        energy = ops.mean(gmm_energy(z, phi, mu, cov, self.cov_jitter))
        cov_penalty = ops.sum(1.0 / (ops.diagonal(cov, axis1=1, axis2=2) + EPS))
        sq = ops.square(ops.reshape(x - x_hat, (ops.shape(x)[0], -1)))
        if self.reconstruction == "sum":    # the paper's ||x - x'||^2, and the ELBO's own scale for the KL
            reconstruction = ops.mean(ops.sum(sq, axis=1) + self.kl_weight * kl)
        else:                               # Alibi Detect's per-feature mean, KL scaled alike
            reconstruction = ops.mean(ops.mean(sq, axis=1) + self.kl_weight * kl / ops.cast(ops.shape(sq)[1], z.dtype))
        loss = reconstruction + self.energy_weight * energy + self.covariance_weight * cov_penalty
        return {"loss": loss, "reconstruction": reconstruction, "energy": energy, "cov_penalty": cov_penalty}

    def _track(self, values):
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: t.result() for name, t in self.trackers.items()}

    def train_step(self, data):
        x = engine.inputs(data)
        values = engine.descend(self.optimizer, self.trainable_variables, lambda: self._loss_terms(x, training=True))
        return self._track(values)

    def test_step(self, data):
        x = engine.inputs(data)
        return self._track(self._loss_terms(x, training=False))

    def set_mixture(self, x: np.ndarray, batch_size: int = 1024) -> None:
        """Estimate phi, mu, cov from all of ``x``, accumulating sufficient statistics batch by batch
        (one full-data pass on the graph would need memory for every sample at once)."""
        totals = None
        for start in range(0, len(x), batch_size):
            z, gamma, _, _ = self.latent(x[start:start + batch_size], training=False)
            stats = gmm_sufficient_statistics(ops.convert_to_numpy(gamma), ops.convert_to_numpy(z))
            totals = stats if totals is None else [a + b for a, b in zip(totals, stats)]
        phi, mu, cov = gmm_parameters_from_statistics(*totals, len(x))
        self.phi.assign(phi.astype(np.float32))
        self.mu.assign(mu.astype(np.float32))
        self.cov.assign(cov.astype(np.float32))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "n_gmm": self.n_gmm,
                "variational": self.variational, "energy_weight": self.energy_weight,
                "covariance_weight": self.covariance_weight, "kl_weight": self.kl_weight, "cov_jitter": self.cov_jitter,
                "distance": self.distance, "reconstruction": self.reconstruction, "seed": self.seed,
                **self.networks_config()}


def _check_choices(distance: str | None, reconstruction: str, allow_auto: bool = False) -> None:
    if not (distance in DISTANCES or (allow_auto and distance is None)):
        raise ValueError(f"distance must be one of {DISTANCES}{' or None' if allow_auto else ''}; got {distance!r}")
    if reconstruction not in RECONSTRUCTIONS:
        raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}; got {reconstruction!r}")


def default_distance(x: np.ndarray) -> str:
    """The reconstruction distance that suits ``x``: ``"relative"`` (the paper's ``|x - x'| / |x|``) when
    no value is negative, ``"absolute"`` otherwise.

    The relative distance assumes that ``|x|`` is well away from zero, as for images in [0, 1] or the
    paper's min-max scaled tables. Standardised tables are centred at zero: there the most typical rows
    have the smallest ``|x|``, so dividing by it gives them the largest distances, and the energy ranks
    normal rows above anomalies (measured on benchmarks/table_suite.py: AUROC 0.55 on wine, 0.67 on
    digits with the relative distance; 0.96 and 0.9995 with the absolute one).

    Parameters
    ----------
    x : numpy.ndarray
        The training data.

    Returns
    -------
    str
        ``"relative"`` or ``"absolute"``.
    """
    return "relative" if float(np.min(x)) >= 0.0 else "absolute"


def estimation_network(input_dim: int, n_gmm: int, hidden: int = 10, dropout: float = 0.5) -> keras.Model:
    """DAGMM's estimation network: dense tanh layer, dropout, softmax over mixture components.

    Parameters
    ----------
    input_dim : int
        Size of ``z``, the code plus the two reconstruction features.
    n_gmm : int
        Mixture components, the size of the softmax output.
    hidden : int, default 10
        Units of the tanh layer.
    dropout : float, default 0.5
        Dropout rate after it, active in training only.

    Returns
    -------
    keras.Model
        The network, named ``"estimator"``.
    """
    z_in = keras.Input((input_dim,), name="z")
    h = layers.Dense(hidden, activation="tanh")(z_in)
    h = layers.Dropout(dropout)(h)
    return keras.Model(z_in, layers.Dense(n_gmm, activation="softmax", name="gamma")(h), name="estimator")


def mixture_parameters(code_size: int, n_gmm: int) -> int:
    """Free parameters of DAGMM's mixture: ``n_gmm`` full-covariance Gaussians over ``z`` (the code and
    two reconstruction features), their means, covariances and weights."""
    p = code_size + 2
    return n_gmm * (p + p * (p + 1) // 2) + n_gmm - 1


class AEGMM(KerasDetector):
    """DAGMM with a plain autoencoder (Alibi Detect's OutlierAEGMM). Score: sample energy.

    Defaults follow Alibi Detect's KDD Cup example (encoder 60-30-10 tanh, code size 1 for tables, 2
    mixture components; images get the DCGAN backbone and a 16-number code) and the paper's loss weights
    (0.1 and 0.005), except on tables with enough rows for a larger mixture: from
    ``ROWS_PER_PARAMETER`` (5) rows per parameter of a mixture of 4 Gaussians over a code of 4 (111
    parameters, so 555 rows), the default code and mixture are 4 and 4. A code of one number and two
    components cannot describe a table whose normal rows form several groups or lie near a plane: on the
    table suite (book/tables.md) the small defaults rank such tables near chance (two seeds: 4 separated
    modes 0.51, rows driven by 2 factors 0.63, KDD http 0.66), code 4 with 4 components 0.75, 0.93, 0.75;
    on tables of 35 to 214 rows the larger mixture is estimated from too few rows and ranks worse
    (breast cancer 0.93 -> 0.75, wine 0.97 -> 0.70). The paper, too, sets both sizes per data set.
    ``code_size_`` and ``n_gmm_`` give the sizes used.

    Parameters
    ----------
    latent_dim : int or None, default None
        Size (>= 1) of the code ``z_c``. None: the input size of your ``decoder`` if given, else 1 for tables
        (2 for :class:`VAEGMM`), 4 for tables of at least 555 rows (see above), and 16 for images.
    n_gmm : int or None, default None
        Mixture components K (>= 1). None: 4 for tables of at least 555 rows (see above), else 2.
    hidden : sequence of int, default (60, 30, 10)
        Widths of the dense layers of the default table encoder; the decoder uses them in reverse. Unused for
        images.
    base_filters : int, default 16
        Filters of the first convolution of the default image networks (doubled at every stride-2 layer).
        Unused for tables.
    activation : str, default "tanh"
        Activation of the dense layers of the default table networks (Alibi Detect's choice); unused for images.
    estimator_hidden : int, default 10
        Units of the estimation network's tanh layer; unused when ``estimator`` is given.
    dropout : float, default 0.5
        Dropout rate of the estimation network; unused when ``estimator`` is given.
    energy_weight : float, default 0.1
        λ₁, the weight of the mean sample energy in the loss (the paper: 0.1).
    covariance_weight : float, default 0.005
        λ₂, the weight of the penalty on small covariance diagonals (the paper: 0.005).
    kl_weight : float, default 1.0
        Weight of the KL term; used by :class:`VAEGMM` only.
    cov_jitter : float, default 1e-6
        Amount (>= 0) added to covariance diagonals when computing energies; raise it if training or scoring
        reports a singular covariance.
    distance : {"relative", "relative_min", "absolute"} or None, default None
        The reconstruction distance in ``z`` (:func:`reconstruction_features`). None chooses from the
        training data (:func:`default_distance`): the paper's ``"relative"`` for data with no negative
        values (images, min-max scaled tables, as in the paper), ``"absolute"`` for centred data such as
        standardised tables, where ``|x|`` is near zero for the most typical rows and the relative
        distance would rank them as the most anomalous. The choice is stored as ``distance_``.
    reconstruction : {"mean", "sum"}, default "mean"
        Reconstruction error averaged (Alibi Detect) or summed (the paper) over features.
    encoder : keras.Model or None, default None
        Your own compression encoder (from samples to codes, or, for VAEGMM, to features under the variational
        heads). Give both ``encoder`` and ``decoder`` or neither.
    decoder : keras.Model or None, default None
        Your own decoder, from codes to samples.
    estimator : keras.Model or None, default None
        Your own estimation network, from ``latent_dim + 2`` inputs to ``n_gmm`` softmax memberships.
    learning_rate : float, default 1e-4
        Step size of the Adam optimiser.
    seed : int or None, default None
        Seed of the shuffling of batches under a budget of steps (and of the code sampled in VAEGMM's
        training). It does not seed the initial weights: use :func:`adlib.seed_everything`.
    """

    variational = False
    table_code_size = 1
    # Tables with at least ROWS_PER_PARAMETER rows per parameter of the larger mixture get it by default.
    LARGE_TABLE_SIZES, ROWS_PER_PARAMETER = (4, 4), 5  # (code size, components)
    # The default budget is trained in full on tables too, on every row (the paper, too, trains a fixed
    # number of epochs): no term of the DAGMM loss on held-out rows says when to stop. Energy and covariance
    # penalty are computed under a mixture fitted to each validation batch itself (32 rows, the last one
    # fewer), so they describe that batch, not the model (649 rows hold out 65: the batch of 1 row has zero
    # covariance, a penalty of 1e12 per diagonal entry, val_loss 4e10), and the energy, a density of the
    # code z whose scale training changes, is not comparable from chunk to chunk. The reconstruction term
    # is traded against the energy, so it can rise while the mixture settles (on a 649-row table it rose
    # for the first 300 steps, and stopping on it kept 100 steps), and on the table suite, at this
    # learning rate, it was lowest in the last two of 20 chunks in 22 of 24 runs: nothing to stop for.
    # Watching val_loss stopped VAEGMM after its first chunk (100 steps) on 6 of the suite's 8 runs on
    # tables of 555 rows or more.
    stops_early_on_tables = False

    def __init__(self, latent_dim: int | None = None, n_gmm: int | None = None, hidden: Sequence[int] = (60, 30, 10),
                 base_filters: int = 16, activation: str = "tanh", estimator_hidden: int = 10,
                 dropout: float = 0.5, energy_weight: float = 0.1, covariance_weight: float = 0.005, kl_weight: float = 1.0,
                 cov_jitter: float = 1e-6, distance: str | None = None, reconstruction: str = "mean",
                 encoder: keras.Model | None = None, decoder: keras.Model | None = None,
                 estimator: keras.Model | None = None, learning_rate: float = 1e-4, seed: int | None = None) -> None:
        super().__init__(learning_rate)
        self.latent_dim, self.n_gmm, self.hidden, self.base_filters = latent_dim, n_gmm, hidden, base_filters
        self.activation, self.estimator_hidden, self.dropout = activation, estimator_hidden, dropout
        self.energy_weight, self.covariance_weight, self.kl_weight = energy_weight, covariance_weight, kl_weight
        self.cov_jitter, self.distance, self.reconstruction = cov_jitter, distance, reconstruction
        self.encoder, self.decoder, self.estimator = encoder, decoder, estimator
        self.seed = seed

    def _check_params(self) -> None:
        super()._check_params()
        if (self.encoder is None) != (self.decoder is None):
            raise ValueError("pass both encoder and decoder, or neither (to use the defaults)")
        if ((self.n_gmm is not None and self.n_gmm < 1) or (self.latent_dim is not None and self.latent_dim < 1)
                or self.cov_jitter < 0):
            raise ValueError("n_gmm and latent_dim must be >= 1 and cov_jitter >= 0")
        _check_choices(self.distance, self.reconstruction, allow_auto=True)

    def get_config(self):
        return {"latent_dim": self.latent_dim, "n_gmm": self.n_gmm, "hidden": list(self.hidden),
                "base_filters": self.base_filters, "activation": self.activation,
                "estimator_hidden": self.estimator_hidden, "dropout": self.dropout,
                "energy_weight": self.energy_weight, "covariance_weight": self.covariance_weight, "kl_weight": self.kl_weight,
                "cov_jitter": self.cov_jitter, "distance": self.distance, "reconstruction": self.reconstruction,
                "learning_rate": self.learning_rate, "seed": self.seed}

    def large_table(self, x: np.ndarray) -> bool:
        """Whether ``x`` is a table with at least ``ROWS_PER_PARAMETER`` rows per parameter of the larger
        default mixture (``LARGE_TABLE_SIZES``): 555 rows."""
        return x.ndim == 2 and len(x) >= self.ROWS_PER_PARAMETER * mixture_parameters(*self.LARGE_TABLE_SIZES)

    def code_size(self, x: np.ndarray) -> int:
        if self.latent_dim is None and self.decoder is None and self.large_table(x):
            return self.LARGE_TABLE_SIZES[0]
        return super().code_size(x)

    def mixture_size(self, x: np.ndarray) -> int:
        """``n_gmm``, or by default 4 components for a table of at least 555 rows and 2 otherwise."""
        if self.n_gmm is not None:
            return int(self.n_gmm)
        if self.estimator is not None:  # the user's estimation network says how many memberships it gives
            return int(self.estimator.output_shape[-1])
        return self.LARGE_TABLE_SIZES[1] if self.large_table(x) else 2

    @property
    def code_size_(self) -> int:
        """The size of the code in use (``latent_dim``, or the default chosen from the training data)."""
        self._require_fitted()
        return self.model_.latent_dim

    @property
    def n_gmm_(self) -> int:
        """The number of mixture components in use (``n_gmm``, or the default chosen from the training data)."""
        self._require_fitted()
        return self.model_.n_gmm

    def _build_model(self, x: np.ndarray) -> keras.Model:
        latent_dim, n_gmm = self.code_size(x), self.mixture_size(x)
        encoder, decoder = self._autoencoder_networks(x, activation=self.activation, latent_dim=latent_dim,
                                                      encoder_code=not self.variational)
        estimator = self.estimator or estimation_network(latent_dim + 2, n_gmm,
                                                         int(self.estimator_hidden), float(self.dropout))
        return GMMModel(encoder, decoder, estimator, latent_dim, n_gmm, variational=self.variational,
                        energy_weight=float(self.energy_weight), covariance_weight=float(self.covariance_weight),
                        kl_weight=float(self.kl_weight), cov_jitter=float(self.cov_jitter),
                        distance=self.distance or default_distance(x), reconstruction=self.reconstruction,
                        seed=self.seed)

    @property
    def distance_(self) -> str:
        """The reconstruction distance in use: ``distance``, or the one chosen from the training data."""
        self._require_fitted()
        return self.model_.distance

    def _fit(self, x: np.ndarray, **kwargs) -> None:
        try:
            super()._fit(x, **kwargs)
        except engine.NUMERICAL_ERRORS as exc:
            raise NumericalError(
                f"{type(self).__name__}: a mixture covariance stopped being positive definite during training "
                f"({str(exc).splitlines()[0]}). Raise cov_jitter, lower learning_rate, or standardise x.") from exc
        with engine.no_gradients():
            self.model_.set_mixture(x)

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        energy = np.asarray(predict_in_batches(self.model_, x, batch_size), dtype=np.float64)
        if not np.all(np.isfinite(energy)):
            raise NumericalError("energies are not finite: the mixture covariance is singular; "
                                     "refit with a larger cov_jitter")
        return energy

    def latent(self, x, batch_size: int = 1024) -> np.ndarray:
        """``z = [code, relative Euclidean distance, cosine similarity]`` of each sample (for plots)."""
        x = self._checked(x)
        with engine.no_gradients():
            parts = [ops.convert_to_numpy(self.model_.latent(x[i:i + batch_size])[0])
                     for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)


class VAEGMM(AEGMM):
    """DAGMM with a variational autoencoder as the compression network (Alibi Detect's OutlierVAEGMM).

    Training samples the code; scoring uses the posterior mean, so scores are deterministic.
    Defaults follow Alibi Detect's KDD Cup example (encoder 20-15-7 tanh, code size 2 for tables).

    Parameters
    ----------
    latent_dim : int or None, default None
        Size of the code. None: the input size of your ``decoder`` if given, else 2 for tables, 4 for tables
        of at least 555 rows (as for :class:`AEGMM`), and 16 for images.
    n_gmm : int or None, default None
        Mixture components K (>= 1). None: 4 for tables of at least 555 rows, else 2 (as for :class:`AEGMM`).
    hidden : sequence of int, default (20, 15, 7)
        Widths of the dense layers of the default table encoder (the variational heads go on its last layer);
        the decoder uses them in reverse.
    base_filters : int, default 16
        Filters of the first convolution of the default image networks (doubled at every stride-2 layer).
        Unused for tables.
    activation : str, default "tanh"
        Activation of the dense layers of the default table networks (Alibi Detect's choice); unused for images.
    estimator_hidden : int, default 10
        Units of the estimation network's tanh layer; unused when ``estimator`` is given.
    dropout : float, default 0.5
        Dropout rate of the estimation network; unused when ``estimator`` is given.
    energy_weight : float, default 0.1
        λ₁, the weight of the mean sample energy in the loss (the paper: 0.1).
    covariance_weight : float, default 0.005
        λ₂, the weight of the penalty on small covariance diagonals (the paper: 0.005).
    kl_weight : float, default 1.0
        Weight of the KL term of the variational code in the loss.
    cov_jitter : float, default 1e-6
        Amount (>= 0) added to covariance diagonals when computing energies; raise it if training or scoring
        reports a singular covariance.
    distance : {"relative", "relative_min", "absolute"} or None, default None
        The reconstruction distance in ``z`` (:func:`reconstruction_features`). None chooses from the
        training data (:func:`default_distance`): the paper's ``"relative"`` for data with no negative
        values (images, min-max scaled tables, as in the paper), ``"absolute"`` for centred data such as
        standardised tables, where ``|x|`` is near zero for the most typical rows and the relative
        distance would rank them as the most anomalous. The choice is stored as ``distance_``.
    reconstruction : {"mean", "sum"}, default "mean"
        Reconstruction error averaged (Alibi Detect) or summed (the paper) over features.
    encoder : keras.Model or None, default None
        Your own compression encoder, from samples to features (the variational heads go on top). Give both
        ``encoder`` and ``decoder`` or neither.
    decoder : keras.Model or None, default None
        Your own decoder, from codes to samples.
    estimator : keras.Model or None, default None
        Your own estimation network, from ``latent_dim + 2`` inputs to ``n_gmm`` softmax memberships.
    learning_rate : float, default 1e-4
        Step size of the Adam optimiser.
    seed : int or None, default None
        Seed of the shuffling of batches under a budget of steps and of the code sampled in training. It does
        not seed the initial weights: use :func:`adlib.seed_everything`.
    """

    variational = True

    table_code_size = 2

    def __init__(self, latent_dim: int | None = None, n_gmm: int | None = None, hidden: Sequence[int] = (20, 15, 7),
                 base_filters: int = 16, activation: str = "tanh", estimator_hidden: int = 10,
                 dropout: float = 0.5, energy_weight: float = 0.1, covariance_weight: float = 0.005, kl_weight: float = 1.0,
                 cov_jitter: float = 1e-6, distance: str | None = None, reconstruction: str = "mean",
                 encoder: keras.Model | None = None, decoder: keras.Model | None = None,
                 estimator: keras.Model | None = None, learning_rate: float = 1e-4, seed: int | None = None) -> None:
        super().__init__(latent_dim=latent_dim, n_gmm=n_gmm, hidden=hidden, base_filters=base_filters,
                         activation=activation, estimator_hidden=estimator_hidden, dropout=dropout,
                         energy_weight=energy_weight, covariance_weight=covariance_weight, kl_weight=kl_weight,
                         cov_jitter=cov_jitter, distance=distance, reconstruction=reconstruction, encoder=encoder,
                         decoder=decoder, estimator=estimator, learning_rate=learning_rate, seed=seed)
