"""GANomaly (Akçay, Atapour-Abarghouei and Breckon, ACCV 2018).

The generator is an encoder-decoder-encoder: x -> z = G_E(x) -> x_hat = G_D(z) -> z_hat = E(x_hat).
Trained only on normal data, it learns to keep z and z_hat close for normal inputs; for an
anomaly the reconstruction moves towards the normal manifold, so its code z_hat drifts from z.
Score: ``mean((z - z_hat)**2)``. A discriminator's features make reconstructions realistic.
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from . import _engine as engine
from ._gan import AdversarialDetector, AdversarialModel, bce_logits


@keras.saving.register_keras_serializable(package="adlib")
class GANomalyModel(AdversarialModel):
    """The four GANomaly networks and one training step of generator and discriminator.

    Parameters
    ----------
    encoder : keras.Model
        G_E, from images to codes z.
    decoder : keras.Model
        G_D, from codes to reconstructions x_hat.
    encoder2 : keras.Model
        E, from reconstructions to codes z_hat (the detector passes a fresh clone of ``encoder``).
    discriminator : keras.Model
        From images to ``[logit, features]``; the features give the adversarial loss.
    adversarial_weight : float, default 1.0
        Weight of the feature-matching adversarial loss in the generator's loss.
    reconstruction_weight : float, default 50.0
        Weight of the contextual L1 loss ``mean|x - x_hat|``.
    latent_weight : float, default 1.0
        Weight of the latent loss ``mean (z - z_hat)²``, the quantity that scores.
    **kwargs
        Passed to ``AdversarialModel`` (``seed``) and ``keras.Model`` (e.g. ``name``).
    """

    network_keys = ("encoder", "decoder", "encoder2", "discriminator")
    loss_names = ("g_loss", "adv_loss", "con_loss", "enc_loss", "d_loss")

    def __init__(self, encoder, decoder, encoder2, discriminator, adversarial_weight: float = 1.0,
                 reconstruction_weight: float = 50.0,
                 latent_weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.encoder2, self.discriminator = encoder, decoder, encoder2, discriminator
        self.adversarial_weight = float(adversarial_weight)
        self.reconstruction_weight = float(reconstruction_weight)
        self.latent_weight = float(latent_weight)
        self.last_d_loss = keras.Variable(1.0, trainable=False, name="last_d_loss")

    def generate(self, x, training=False):
        """``(z, x_hat, z_hat)``: code, reconstruction and the code of the reconstruction."""
        z = self.encoder(x, training=training)
        x_hat = self.decoder(z, training=training)
        return z, x_hat, self.encoder2(x_hat, training=training)

    def call(self, x, training=False):
        z, _, z_hat = self.generate(x, training=training)
        return ops.mean(ops.square(z - z_hat), axis=-1)

    def generator_losses(self, x, training=False):
        """The generator's loss, eq. (ganomaly-loss), its terms by name, and the reconstructions ``x_hat``."""
        z, x_hat, z_hat = self.generate(x, training=training)  # z = G_E(x), x_hat = G_D(z), z_hat = E(x_hat)
        _, real_features = self.discriminator(x, training=training)
        _, fake_features = self.discriminator(x_hat, training=training)
        # each term a mean over the batch and over its features, pixels or code:
        adv = ops.mean(ops.square(real_features - fake_features))  # feature matching per image, as in the authors' code
        con = ops.mean(ops.abs(x - x_hat))  # contextual L1
        enc = ops.mean(ops.square(z - z_hat))  # latent consistency, what the score reads
        g_loss = self.adversarial_weight * adv + self.reconstruction_weight * con + self.latent_weight * enc
        return g_loss, dict(g_loss=g_loss, adv_loss=adv, con_loss=con, enc_loss=enc), x_hat

    def discriminator_loss(self, x, x_hat, training=False):
        """Cross-entropy of the discriminator: real images against the (fixed) reconstructions."""
        real_logit, _ = self.discriminator(x, training=training)
        fake_logit, _ = self.discriminator(ops.stop_gradient(x_hat), training=training)
        return bce_logits(real_logit, 1.0) + bce_logits(fake_logit, 0.0)

    def train_step(self, data):
        x = engine.inputs(data)
        generator_vars = (self.encoder.trainable_variables + self.decoder.trainable_variables
                          + self.encoder2.trainable_variables)
        _, terms, x_hat = engine.descend(self.g_optimizer, generator_vars,
                                         lambda: self.generator_losses(x, training=True))
        d_loss = engine.descend(self.d_optimizer, self.discriminator.trainable_variables,
                                lambda: self.discriminator_loss(x, x_hat, training=True))
        self.last_d_loss.assign(d_loss)
        return self._report(**terms, d_loss=d_loss)

    def validation_losses(self, x):
        _, terms, x_hat = self.generator_losses(x)
        return {**terms, "d_loss": self.discriminator_loss(x, x_hat)}

    def get_config(self):
        return {**super().get_config(), "adversarial_weight": self.adversarial_weight,
                "reconstruction_weight": self.reconstruction_weight, "latent_weight": self.latent_weight}


class ReinitialiseCollapsedDiscriminator(keras.callbacks.Callback):
    """Re-draw the discriminator's weights when its loss falls below ``tolerance``: a discriminator
    that wins outright gives the generator no gradient (GANomaly's reference code does the same).

    Parameters
    ----------
    tolerance : float, default 1e-5
        Discriminator loss below which, after a batch, its weights are replaced by freshly initialised ones;
        ``resets`` counts how often.
    """

    def __init__(self, tolerance: float = 1e-5) -> None:
        super().__init__()
        self.tolerance, self.resets = tolerance, 0

    def on_train_batch_end(self, batch, logs=None):
        if float(ops.convert_to_numpy(self.model.last_d_loss)) < self.tolerance:
            fresh = keras.models.clone_model(self.model.discriminator)
            self.model.discriminator.set_weights(fresh.get_weights())
            self.model.last_d_loss.assign(1.0)
            self.resets += 1


class GANomaly(AdversarialDetector):
    """GANomaly detector. Images of any size: the shared DCGAN backbone;
    tables: MLPs. Losses weighted ``adversarial_weight``, ``reconstruction_weight``, ``latent_weight`` (the
    paper's w_adv, w_con, w_enc: 1, 50, 1); Adam 2e-4, beta_1 0.5.

    Scores are raw latent distances. The paper min-max scales them with the *test* set's extremes,
    which uses test data; AUROC does not change under that scaling, so we do not offer it.

    Parameters
    ----------
    latent_dim : int, default 100
        Size of the codes z and z_hat.
    base_filters : int, default 16
        Filters of the first convolution of the DCGAN networks (doubled at every stride-2 layer); unused for
        tables.
    hidden : sequence of int, default (128, 64)
        Widths of the dense layers of the table networks; unused for images.
    adversarial_weight : float, default 1.0
        Weight (>= 0) of the adversarial (feature-matching) loss.
    reconstruction_weight : float, default 50.0
        Weight (>= 0) of the contextual L1 reconstruction loss (the paper: 50).
    latent_weight : float, default 1.0
        Weight (>= 0) of the latent loss between z and z_hat.
    learning_rate : float, default 2e-4
        Adam step size of the generator and the discriminator.
    beta_1 : float, default 0.5
        Adam's ``beta_1``.
    seed : int or None, default None
        Seed of the shuffling of batches under a budget of steps. It does not seed the initial weights: use
        :func:`adlib.seed_everything`.
    encoder : keras.Model or None, default None
        Your own encoder, from a batch of inputs to codes (n, k); None builds the default. Without your own decoder,
        its code size k replaces ``latent_dim``. A network whose shapes do not fit the data is refused at ``fit``
        with what it must map.
    decoder : keras.Model or None, default None
        Your own decoder, from codes (n, k) to samples shaped like the training data (images (h, w, c) or rows
        (d,)); its input size k is the code size (``latent_dim`` sizes only the default networks then). None builds
        the default.
    discriminator : keras.Model or None, default None
        Your own discriminator, from samples to two outputs ``[logit, features]``: a logit (n, 1) that the sample is
        real and the features of a hidden layer, which the adversarial (feature-matching) loss uses. None builds the
        default.
    """

    network_params = ("encoder", "decoder", "discriminator")  # the user networks it takes (see the parameters)

    def __init__(self, latent_dim: int = 100, base_filters: int = 16, hidden: Sequence[int] = (128, 64),
                 adversarial_weight: float = 1.0, reconstruction_weight: float = 50.0, latent_weight: float = 1.0,
                 learning_rate: float = 2e-4,
                 beta_1: float = 0.5, seed: int | None = None,
                 encoder: keras.Model | None = None, decoder: keras.Model | None = None,
                 discriminator: keras.Model | None = None) -> None:
        super().__init__(latent_dim, base_filters, hidden, learning_rate, beta_1, seed)
        self.encoder, self.decoder, self.discriminator = encoder, decoder, discriminator
        self.adversarial_weight = adversarial_weight
        self.reconstruction_weight = reconstruction_weight
        self.latent_weight = latent_weight

    def _check_params(self) -> None:
        super()._check_params()
        if min(self.adversarial_weight, self.reconstruction_weight, self.latent_weight) < 0:
            raise ValueError("loss weights must be non-negative; got "
                             f"{self.adversarial_weight}, {self.reconstruction_weight}, {self.latent_weight}")

    def get_config(self):
        return {**super().get_config(), "adversarial_weight": self.adversarial_weight,
                "reconstruction_weight": self.reconstruction_weight, "latent_weight": self.latent_weight}

    def _build_model(self, x: np.ndarray) -> keras.Model:
        encoder, decoder, discriminator = self._networks(x)
        encoder2 = keras.models.clone_model(encoder)
        encoder2.name = "encoder2"
        return GANomalyModel(encoder, decoder, encoder2, discriminator, adversarial_weight=float(self.adversarial_weight),
                             reconstruction_weight=float(self.reconstruction_weight),
                             latent_weight=float(self.latent_weight), seed=self.seed)

    def _fit(self, x: np.ndarray, *, callbacks=None, **kwargs) -> None:
        reset = ReinitialiseCollapsedDiscriminator()
        super()._fit(x, callbacks=[reset, *(callbacks or [])], **kwargs)
        self.discriminator_resets_ = getattr(self, "discriminator_resets_", 0) + reset.resets

    def reconstruct(self, x, batch_size: int = 256) -> np.ndarray:
        """``G_D(G_E(x))`` in inference mode."""
        return self._reconstruction(x, "encoder", "decoder", batch_size=batch_size)
