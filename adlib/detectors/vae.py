"""Variational autoencoder (Kingma & Welling 2014) as an outlier detector, in the style of Alibi Detect.

Training maximises the evidence lower bound (ELBO) with a Gaussian likelihood; scoring averages the
squared reconstruction error over ``samples`` draws from the encoder's posterior.
"""
from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from ._keras import SerializesNetworks
from .autoencoder import ReconstructionDetector

OBSERVATION_MODELS = ("fixed", "diagonal")


@keras.saving.register_keras_serializable(package="adlib")
class VAEModel(SerializesNetworks, keras.Model):
    """Encoder features -> (mean, log-variance) heads -> reparameterised code -> decoder.

    Negative ELBO per sample, averaged over the batch (so its scale does not depend on batch size):
    ``0.5 * sum(((x - x_hat) / s)^2) + sum(log s) + const + beta * KL(q(z|x) || N(0, I))``,
    where ``s`` is a fixed scale (``observation="fixed"``) or one learned scale per feature
    (``"diagonal"``).
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, latent_dim: int, beta: float = 1.0,
                 observation: str = "fixed", obs_scale: float = 0.05, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if observation not in OBSERVATION_MODELS:
            raise ValueError(f"observation must be one of {OBSERVATION_MODELS}; got {observation!r}")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.beta = int(latent_dim), float(beta)
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

    def _loss_terms(self, x, training):
        mean, log_var = self.encode(x, training=training)
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        z = mean + ops.exp(0.5 * log_var) * eps
        x_hat = self.decoder(z, training=training)
        log_s = self.log_scale if self.log_scale is not None else ops.full_like(x_hat, math.log(self.obs_scale))
        per_feature = 0.5 * ops.square((x - x_hat) / ops.exp(log_s)) + log_s + 0.5 * math.log(2 * math.pi)
        nll = ops.sum(ops.reshape(per_feature, (ops.shape(x)[0], -1)), axis=1)
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=1)
        return ops.mean(nll + self.beta * kl), ops.mean(nll), ops.mean(kl)

    def _track(self, loss, nll, kl):
        self.loss_tracker.update_state(loss)
        self.nll_tracker.update_state(nll)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            loss, nll, kl = self._loss_terms(x, training=True)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self._track(loss, nll, kl)

    def test_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        return self._track(*self._loss_terms(x, training=False))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "beta": self.beta,
                "observation": self.observation, "obs_scale": self.obs_scale, "seed": self.seed,
                **self.networks_config()}


class VAE(ReconstructionDetector):
    """Variational autoencoder detector: Monte-Carlo reconstruction error, per feature and per instance.

    ``encoder`` maps inputs to features (the mean and log-variance heads are added on top);
    ``decoder`` maps a code of size ``latent_dim`` back to the input shape. ``samples`` posterior
    draws are averaged when scoring; they are drawn from a fixed seed, so a detector scores the
    same input the same way every time, also after saving and loading.
    """

    def __init__(self, latent_dim: int = 2, hidden: Sequence[int] = (20, 15, 7),
                 filters: Sequence[int] = (32, 64, 128), encoder: keras.Model | None = None,
                 decoder: keras.Model | None = None, beta: float = 1.0, observation: str = "fixed",
                 obs_scale: float = 0.05, samples: int = 10, outlier_perc: float = 100.0,
                 learning_rate: float = 1e-3, seed: int | None = None) -> None:
        super().__init__(outlier_perc, learning_rate)
        if (encoder is None) != (decoder is None):
            raise ValueError("pass both encoder and decoder, or neither (to use the defaults)")
        if observation not in OBSERVATION_MODELS:
            raise ValueError(f"observation must be one of {OBSERVATION_MODELS}; got {observation!r}")
        if samples < 1 or obs_scale <= 0 or beta < 0:
            raise ValueError("samples must be >= 1, obs_scale > 0 and beta >= 0")
        self.latent_dim, self.hidden, self.filters = int(latent_dim), tuple(hidden), tuple(filters)
        self.encoder, self.decoder = encoder, decoder
        self.beta, self.observation, self.obs_scale = float(beta), observation, float(obs_scale)
        self.samples, self.seed = int(samples), seed

    def get_config(self):
        return {"latent_dim": self.latent_dim, "hidden": list(self.hidden), "filters": list(self.filters),
                "beta": self.beta, "observation": self.observation, "obs_scale": self.obs_scale,
                "samples": self.samples, "outlier_perc": self.outlier_perc,
                "learning_rate": self.learning_rate, "seed": self.seed}

    def _build_model(self, x: np.ndarray) -> keras.Model:
        encoder, decoder = self._autoencoder_networks(x, encoder_code=False)
        return VAEModel(encoder, decoder, self.latent_dim, beta=self.beta, observation=self.observation,
                        obs_scale=self.obs_scale, seed=self.seed)

    def encode(self, x, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and log-variance of the code of each sample."""
        x = self._checked(x)
        parts = [self.model_.encode(x[i:i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        return tuple(np.concatenate([ops.convert_to_numpy(p[k]) for p in parts]) for k in (0, 1))

    def _feature_score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        mean, log_var = self.encode(x, batch_size)
        rng = np.random.default_rng(0 if self.seed is None else self.seed)
        total = np.zeros_like(x, dtype=np.float64)
        for _ in range(self.samples):
            z = (mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape)).astype(np.float32)
            x_hat = self.model_.decoder.predict(z, batch_size=batch_size, verbose=0)
            total += np.square(x - x_hat)
        return total / self.samples

