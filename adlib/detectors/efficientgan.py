"""Efficient GAN-based anomaly detection (Zenati et al., 2018), "EGBAD": a BiGAN whose encoder E
replaces AnoGAN's latent search.

E, G and a discriminator on pairs (x, z) are trained together, so that (x, E(x)) and (G(z), z) are
indistinguishable: E learns to invert G. Scoring is then one pass per input:
``(1 - α)·‖x - G(E(x))‖₁ + α·L_D``, with L_D feature matching ``‖f(x, E(x)) - f(G(E(x)), E(x))‖₁``
or the cross-entropy of D calling the reconstruction real.
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .. import nets
from ._gan import AdversarialDetector, AdversarialModel, bce_logits
from .anogan import l1_per_sample


@keras.saving.register_keras_serializable(package="adlib")
class BiGANModel(AdversarialModel):
    """Encoder, generator and joint discriminator; the BiGAN training step; the EGBAD score."""

    network_keys = ("encoder", "generator", "discriminator")
    loss_names = ("g_loss", "d_loss")

    def __init__(self, encoder, generator, discriminator, alpha: float = 0.1,
                 discrimination: str = "feature_matching", **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.generator, self.discriminator = encoder, generator, discriminator
        self.alpha, self.discrimination = float(alpha), discrimination

    @property
    def latent_dim(self) -> int:
        return int(self.generator.input_shape[-1])

    def call(self, x, training=False):
        z = self.encoder(x, training=training)
        x_rec = self.generator(z, training=training)
        if self.discrimination == "feature_matching":
            _, f_real = self.discriminator([x, z], training=training)
            logit, f_fake = self.discriminator([x_rec, z], training=training)
            l_d = l1_per_sample(f_real, f_fake)
        else:
            logit, _ = self.discriminator([x_rec, z], training=training)
            l_d = ops.squeeze(ops.binary_crossentropy(ops.ones_like(logit), logit, from_logits=True), -1)
        return (1.0 - self.alpha) * l1_per_sample(x, x_rec) + self.alpha * l_d

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        z = keras.random.normal((ops.shape(x)[0], self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            d_loss = (bce_logits(self.discriminator([x, self.encoder(x, training=True)], training=True)[0], 1.0)
                      + bce_logits(self.discriminator([self.generator(z, training=True), z], training=True)[0], 0.0))
        self._step(tape, d_loss, self.discriminator.trainable_variables, self.d_optimizer)
        ge_vars = self.generator.trainable_variables + self.encoder.trainable_variables
        with tf.GradientTape() as tape:
            real_logit, _ = self.discriminator([x, self.encoder(x, training=True)], training=True)
            fake_logit, _ = self.discriminator([self.generator(z, training=True), z], training=True)
            g_loss = bce_logits(fake_logit, 1.0) + bce_logits(real_logit, 0.0)
        self._step(tape, g_loss, ge_vars, self.g_optimizer)
        return self._report(g_loss=g_loss, d_loss=d_loss)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "discrimination": self.discrimination}


class EfficientGAN(AdversarialDetector):
    """EGBAD detector: dense networks for tables (n, d), the DCGAN backbone for images of any size.
    ``alpha`` weighs the discriminator term (paper: 0.1); ``discrimination`` is
    ``"feature_matching"`` (default) or ``"cross_entropy"``."""

    def __init__(self, latent_dim: int = 200, base_filters: int = 32, hidden: Sequence[int] = (128, 64),
                 alpha: float = 0.1, discrimination: str = "feature_matching", learning_rate: float = 2e-4,
                 beta_1: float = 0.5, seed: int | None = None) -> None:
        super().__init__(latent_dim, base_filters, hidden, learning_rate, beta_1, seed)
        if discrimination not in ("feature_matching", "cross_entropy"):
            raise ValueError(f"discrimination must be 'feature_matching' or 'cross_entropy'; got {discrimination!r}")
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be in [0, 1]; got {alpha}")
        self.alpha, self.discrimination = float(alpha), discrimination

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "discrimination": self.discrimination}

    def _build_model(self, x: np.ndarray) -> keras.Model:
        encoder, generator, _ = self._networks(x)
        discriminator = nets.joint_discriminator(x.shape[1:], self.latent_dim, base_filters=self.base_filters,
                                                 hidden=self.hidden)
        return BiGANModel(encoder, generator, discriminator, alpha=self.alpha,
                          discrimination=self.discrimination, seed=self.seed)

    def reconstruct(self, x, batch_size: int = 256) -> np.ndarray:
        """G(E(x)) in inference mode."""
        return self._reconstruction(x, "encoder", "generator", batch_size=batch_size)
