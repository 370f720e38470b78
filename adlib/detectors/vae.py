"""Variational autoencoder (Kingma & Welling 2014) as an outlier detector, in the style of Alibi Detect.

Training maximises the evidence lower bound (ELBO) with a Gaussian likelihood. Scoring averages the
squared reconstruction error over ``samples`` draws from the encoder's posterior (``score_type="mse"``,
Alibi Detect's score) or estimates the negative ELBO itself, a bound on ``-log p(x)`` that also charges
the code for straying from the prior (``score_type="elbo"``).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from . import _engine as engine
from ._keras import SerializesNetworks, validation_seed
from .autoencoder import ReconstructionDetector, top_percent_mean

OBSERVATION_MODELS = ("fixed", "diagonal")
SCORE_TYPES = ("mse", "elbo")


@keras.saving.register_keras_serializable(package="adlib")
class VAEModel(SerializesNetworks, keras.Model):
    """Encoder features -> (mean, log-variance) heads -> reparameterised code -> decoder.

    Negative ELBO per sample, averaged over the batch (so its scale does not depend on batch size):
    ``0.5 * sum(((x - x_hat) / s)^2) + sum(log s) + const + kl_weight * KL(q(z|x) || N(0, I))``,
    where ``s`` is a fixed scale (``observation="fixed"``) or one learned scale per feature
    (``"diagonal"``).

    Parameters
    ----------
    encoder : keras.Model
        Maps inputs to features; the model adds two dense heads of ``latent_dim`` units on top, the posterior
        mean and log-variance.
    decoder : keras.Model
        Maps a code of size ``latent_dim`` back to the input shape.
    latent_dim : int
        Size of the code.
    kl_weight : float, default 1.0
        Weight of the KL term in the loss; 1 is the ELBO, larger values pull the codes harder towards the
        prior.
    observation : {"fixed", "diagonal"}, default "fixed"
        The Gaussian likelihood's scale ``s``: fixed at ``obs_scale``, or one learned scale per output feature
        (a weight initialised to ``log(obs_scale)``).
    obs_scale : float, default 0.05
        ``s`` for ``"fixed"``, the starting ``s`` for ``"diagonal"``. The squared error is divided by ``s²``,
        so a smaller scale weighs reconstruction more against the KL term.
    seed : int or None, default None
        Seed of the ``keras.random.SeedGenerator`` that draws the reparameterisation noise; saved in the config.
    **kwargs
        Passed to ``keras.Model`` (e.g. ``name``, or what ``get_config`` saved when a model is loaded).
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, latent_dim: int, kl_weight: float = 1.0,
                 observation: str = "fixed", obs_scale: float = 0.05, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if observation not in OBSERVATION_MODELS:
            raise ValueError(f"observation must be one of {OBSERVATION_MODELS}; got {observation!r}")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.kl_weight = int(latent_dim), float(kl_weight)
        self.observation, self.obs_scale, self.seed = observation, float(obs_scale), seed
        self.z_mean = layers.Dense(self.latent_dim, name="z_mean")
        self.z_log_var = layers.Dense(self.latent_dim, name="z_log_var")  # linear: log-variances may be negative
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.log_scale = None
        if observation == "diagonal":
            shape = tuple(decoder.output.shape[1:])
            self.log_scale = self.add_weight(shape=shape, initializer=keras.initializers.Constant(math.log(obs_scale)),
                                             name="log_scale")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.nll_tracker = keras.metrics.Mean(name="nll")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    def encode(self, x, training=False):
        h = self.encoder(x, training=training)
        return self.z_mean(h), self.z_log_var(h)

    def call(self, x, training=False):
        """Reconstruction from the posterior mean (deterministic)."""
        mean, _ = self.encode(x, training=training)
        return self.decoder(mean, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker, self.nll_tracker, self.kl_tracker]

    def _loss_terms(self, x, training, seed=None):
        """The negative ELBO (chapter 03) and its two terms, means over the batch; the code is drawn with ``seed``, by default
        the training's seed generator."""
        mean, log_var = self.encode(x, training=training)
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator if seed is None else seed)
        z = mean + ops.exp(0.5 * log_var) * eps
        x_hat = self.decoder(z, training=training)
        log_s = self.log_scale if self.log_scale is not None else ops.full_like(x_hat, math.log(self.obs_scale))
        per_feature = 0.5 * ops.square((x - x_hat) / ops.exp(log_s)) + log_s + 0.5 * math.log(2 * math.pi)
        nll = ops.sum(ops.reshape(per_feature, (ops.shape(x)[0], -1)), axis=1)
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=1)
        return ops.mean(nll + self.kl_weight * kl), ops.mean(nll), ops.mean(kl)

    def _track(self, loss, nll, kl):
        self.loss_tracker.update_state(loss)
        self.nll_tracker.update_state(nll)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x = engine.inputs(data)
        loss, nll, kl = engine.descend(self.optimizer, self.trainable_variables,
                                       lambda: self._loss_terms(x, training=True))
        return self._track(loss, nll, kl)

    def test_step(self, data):
        x = engine.inputs(data)
        return self._track(*self._loss_terms(x, training=False, seed=validation_seed(self.seed)))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "kl_weight": self.kl_weight,
                "observation": self.observation, "obs_scale": self.obs_scale, "seed": self.seed,
                **self.networks_config()}


class VAE(ReconstructionDetector):
    """Variational autoencoder detector: Monte-Carlo reconstruction error, per feature and per instance.

    ``encoder`` maps inputs to features (the mean and log-variance heads are added on top);
    ``decoder`` maps a code of size ``latent_dim`` (by default 2 for tables, 16 for images:
    ``KerasDetector.code_size``) back to the input shape. ``samples`` posterior
    draws are averaged when scoring; they are drawn from a fixed seed, so a detector scores the
    same input the same way every time, also after saving and loading.

    ``score_type="mse"`` scores by squared reconstruction error (feature scores) and the mean of the
    top ``outlier_perc`` percent of them (instance score). ``"elbo"`` scores by the Gaussian negative
    log-likelihood of each feature and, per instance, their sum plus ``KL(q(z|x) || N(0, I))``: the
    negative ELBO. An input the decoder can rebuild only from an unlikely code is then still flagged.

    Parameters
    ----------
    latent_dim : int or None, default None
        Size of the code. None: the input size of your ``decoder`` if given, else 2 for tables and 16 for
        images (``KerasDetector.code_size``).
    hidden : sequence of int, default (20, 15, 7)
        Widths of the dense layers of the default table encoder (the heads go on its last layer); the decoder
        uses them in reverse. Unused for images.
    base_filters : int, default 16
        Filters of the first convolution of the default image networks (the DCGAN backbone, doubled at every
        stride-2 layer). Unused for tables.
    encoder : keras.Model or None, default None
        Your own encoder, from inputs to features (not to the code: the mean and log-variance heads are added).
        Give both ``encoder`` and ``decoder`` or neither.
    decoder : keras.Model or None, default None
        Your own decoder, from a code to the input shape.
    kl_weight : float, default 1.0
        β (>= 0), the weight of the KL term in the training loss (the β of a β-VAE); 1 is the ELBO.
    observation : {"fixed", "diagonal"}, default "fixed"
        Likelihood scale: fixed at ``obs_scale``, or learned per feature (starting at ``obs_scale``).
    obs_scale : float, default 0.05
        The likelihood's std (> 0), or its starting value; the smaller, the more the loss weighs reconstruction
        against the KL term. It also scales the ``"elbo"`` score.
    samples : int, default 10
        Posterior draws (>= 1) averaged per input when scoring; each costs one pass of the decoder, and more
        draws make the score less noisy.
    outlier_perc : float, default 100.0
        Percentage in (0, 100] of the highest feature scores averaged into the ``"mse"`` instance score; must
        be 100 with ``score_type="elbo"``.
    score_type : {"mse", "elbo"}, default "mse"
        Score by squared reconstruction error, or by the negative ELBO (Gaussian negative log-likelihood plus
        KL), see above. :meth:`using_score` switches a trained VAE.
    learning_rate : float, default 1e-3
        Step size of the Adam optimiser.
    seed : int or None, default None
        Seed of the noise drawn in training, of the shuffling of batches under a budget of steps, and of the
        posterior draws when scoring (seed 0 when None, so scores repeat either way). It does not seed the
        initial weights: use :func:`adlib.seed_everything`.
    """

    # The Monte-Carlo noise is drawn afresh, from the detector's seed, for every array scored, so a
    # sample's score depends on the array it is scored with: no chunking behind a progress bar.
    scores_whole_batch = True

    def __init__(self, latent_dim: int | None = None, hidden: Sequence[int] = (20, 15, 7),
                 base_filters: int = 16, encoder: keras.Model | None = None,
                 decoder: keras.Model | None = None, kl_weight: float = 1.0, observation: str = "fixed",
                 obs_scale: float = 0.05, samples: int = 10, outlier_perc: float = 100.0,
                 score_type: str = "mse", learning_rate: float = 1e-3, seed: int | None = None) -> None:
        super().__init__(outlier_perc, learning_rate)
        self.latent_dim, self.hidden, self.base_filters = latent_dim, hidden, base_filters
        self.encoder, self.decoder = encoder, decoder
        self.kl_weight, self.observation, self.obs_scale = kl_weight, observation, obs_scale
        self.samples, self.score_type, self.seed = samples, score_type, seed

    def _check_params(self) -> None:
        super()._check_params()
        if (self.encoder is None) != (self.decoder is None):
            raise ValueError("pass both encoder and decoder, or neither (to use the defaults)")
        if self.observation not in OBSERVATION_MODELS:
            raise ValueError(f"observation must be one of {OBSERVATION_MODELS}; got {self.observation!r}")
        if self.samples < 1 or self.obs_scale <= 0 or self.kl_weight < 0:
            raise ValueError("samples must be >= 1, obs_scale > 0 and kl_weight >= 0")
        if self.score_type not in SCORE_TYPES:
            raise ValueError(f"score_type must be one of {SCORE_TYPES}; got {self.score_type!r}")
        if self.score_type == "elbo" and self.outlier_perc != 100:
            raise ValueError("score_type='elbo' sums the likelihood over all features; "
                             f"outlier_perc applies to score_type='mse' only (got {self.outlier_perc})")

    def get_config(self):
        return {"latent_dim": self.latent_dim, "hidden": list(self.hidden), "base_filters": self.base_filters,
                "kl_weight": self.kl_weight, "observation": self.observation, "obs_scale": self.obs_scale,
                "samples": self.samples, "outlier_perc": self.outlier_perc, "score_type": self.score_type,
                "learning_rate": self.learning_rate, "seed": self.seed}

    def _build_model(self, x: np.ndarray) -> keras.Model:
        latent_dim = self.code_size(x)
        encoder, decoder = self._autoencoder_networks(x, encoder_code=False, latent_dim=latent_dim)
        return VAEModel(encoder, decoder, latent_dim, kl_weight=float(self.kl_weight), observation=self.observation,
                        obs_scale=float(self.obs_scale), seed=self.seed)

    def encode(self, x, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and log-variance of the code of each sample."""
        with engine.no_gradients():
            return self._encode(self._checked(x), batch_size)

    def _encode(self, x: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        parts = [self.model_.encode(x[i:i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        return tuple(np.concatenate([ops.convert_to_numpy(p[k]) for p in parts]) for k in (0, 1))

    def using_score(self, score_type: str) -> VAE:
        """The same trained VAE scoring by ``score_type`` instead: it shares the network, has no
        threshold yet, and lets one compare scores without training twice."""
        self._require_fitted()
        outlier_perc = self.outlier_perc if score_type == "mse" else 100.0
        other = VAE(**{**self.get_config(), "score_type": score_type, "outlier_perc": outlier_perc})
        other.encoder, other.decoder = self.encoder, self.decoder
        other._check_params()
        other.model_, other.input_shape_, other.threshold_ = self.model_, self.input_shape_, None
        other.history_ = dict(self.history_)
        for name in ("epoch_seconds_", "epoch_steps_", "batches_per_pass_"):  # absent on a loaded VAE
            if hasattr(self, name):
                setattr(other, name, copy.copy(getattr(self, name)))
        return other

    def _posterior_errors(self, x: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Squared error per feature averaged over ``samples`` posterior draws, and the KL term of each sample."""
        mean, log_var = self._encode(x, batch_size)
        rng = np.random.default_rng(0 if self.seed is None else self.seed)
        total = np.zeros_like(x, dtype=np.float64)
        for _ in range(int(self.samples)):
            z = (mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape)).astype(np.float32)
            x_hat = self.model_.decoder.predict(z, batch_size=batch_size, verbose=0)
            total += np.square(x - x_hat)
        kl = -0.5 * np.sum(1.0 + log_var - np.square(mean) - np.exp(log_var), axis=1, dtype=np.float64)
        return total / int(self.samples), kl

    def _gaussian_nll(self, squared_error: np.ndarray) -> np.ndarray:
        """Per-feature negative log-likelihood under the observation model, from the mean squared error."""
        if self.observation == "fixed":
            log_s = math.log(float(self.obs_scale))
        else:
            log_s = ops.convert_to_numpy(self.model_.log_scale).astype(np.float64)
        return 0.5 * squared_error * np.exp(-2.0 * log_s) + log_s + 0.5 * math.log(2 * math.pi)

    def _score_with_features(self, x: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        squared_error, kl = self._posterior_errors(x, batch_size)
        if self.score_type == "mse":
            return top_percent_mean(squared_error, self.outlier_perc), squared_error
        nll = self._gaussian_nll(squared_error)
        return nll.reshape(len(x), -1).sum(axis=1) + kl, nll

    def _feature_score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return self._score_with_features(x, batch_size)[1]

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return self._score_with_features(x, batch_size)[0]
