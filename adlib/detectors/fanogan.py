"""f-AnoGAN (Schlegl et al., Medical Image Analysis 2019): AnoGAN with a learned inverse.

First a Wasserstein GAN with gradient penalty (WGAN-GP) learns to generate normal images. Then,
with generator G and critic C frozen, an encoder E is trained to invert G on real images
("izi_f": image and critic-feature residuals). The score needs one pass, no search:
``A(x) = mean (x - G(E(x)))² + κ · mean (f(x) - f(G(E(x))))²`` with κ = 1.
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from .. import nets
from . import _engine as engine
from ._gan import AdversarialDetector, AdversarialModel


def mean_per_sample(values):
    """Mean of ``values`` over all axes but the first: one number per sample.

    Parameters
    ----------
    values : tensor
        A batch, samples first.

    Returns
    -------
    tensor
        Shape ``(n,)``.
    """
    return ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package="adlib")
class FAnoGANModel(AdversarialModel):
    """Generator, critic and encoder. ``phase`` selects the training step: ``"gan"`` (WGAN-GP) or
    ``"encoder"`` (izi_f, generator and critic frozen).

    Parameters
    ----------
    generator : keras.Model
        G, from codes to samples; its input size is the model's ``latent_dim``.
    critic : keras.Model
        C, from samples to ``[score, features]``; the features enter izi_f.
    encoder : keras.Model
        E, from samples to codes, trained in the ``"encoder"`` phase.
    feature_weight : float, default 1.0
        κ, the weight of the critic-feature residual against the image residual in izi_f (loss and score).
    n_critic : int, default 5
        Critic updates per generator update; each takes its own slice of the batch.
    gp_weight : float, default 10.0
        Weight of WGAN-GP's gradient penalty in the critic's loss.
    **kwargs
        Passed to ``AdversarialModel`` (``seed``) and ``keras.Model`` (e.g. ``name``).
    """

    network_keys = ("generator", "critic", "encoder")
    loss_names = ("g_loss", "d_loss", "gradient_penalty", "encoder_loss")

    def __init__(self, generator, critic, encoder, feature_weight: float = 1.0, n_critic: int = 5,
                 gp_weight: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.critic, self.encoder = generator, critic, encoder
        self.feature_weight, self.n_critic, self.gp_weight = float(feature_weight), int(n_critic), float(gp_weight)
        self.phase = "gan"

    @property
    def latent_dim(self) -> int:
        return int(self.generator.input_shape[-1])

    def izif(self, x, training=False):
        """Per-sample izi_f residual: image MSE + κ · critic-feature MSE."""
        x_rec = self.generator(self.encoder(x, training=training), training=False)
        _, f_real = self.critic(x, training=False)
        _, f_rec = self.critic(x_rec, training=False)
        return mean_per_sample(ops.square(x - x_rec)) + self.feature_weight * mean_per_sample(ops.square(f_real - f_rec))

    def call(self, x, training=False):
        return self.izif(x, training)

    def critic_losses(self, x, fake, mixed, training=False):
        """WGAN-GP's critic loss, E[D(G(z))] - E[D(x)] + λ·penalty, and the gradient penalty
        E[(‖∇D(x̂)‖ - 1)²] at the points ``mixed`` between real and generated images."""
        _, (grads,) = engine.value_and_gradients(lambda points: self.critic(points, training=training)[0], [mixed],
                                                 differentiable=True)
        norms = ops.sqrt(ops.sum(ops.square(ops.reshape(grads, (ops.shape(x)[0], -1))), axis=1) + 1e-12)
        penalty = ops.mean(ops.square(norms - 1.0))
        wasserstein = ops.mean(self.critic(fake, training=training)[0]) - ops.mean(self.critic(x, training=training)[0])
        return wasserstein + self.gp_weight * penalty, penalty

    def generator_loss(self, z, training=False):
        """WGAN's generator loss, -E[D(G(z))]."""
        return -ops.mean(self.critic(self.generator(z, training=training), training=training)[0])

    def encoder_loss(self, x, training=False):
        """izi_f training loss: the mean residual of G(E(x)) against x, with G and D fixed."""
        return ops.mean(self.izif(x, training=training))

    def _critic_step(self, x):
        batch = ops.shape(x)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z, training=True)
        eps = keras.random.uniform((batch,) + (1,) * (len(x.shape) - 1), seed=self.seed_generator)
        mixed = eps * x + (1.0 - eps) * fake
        return engine.descend(self.d_optimizer, self.critic.trainable_variables,
                              lambda: self.critic_losses(x, fake, mixed, training=True))

    def train_step(self, data):
        x = engine.inputs(data)
        if self.phase == "encoder":
            loss = engine.descend(self.c_optimizer, self.encoder.trainable_variables,
                                  lambda: self.encoder_loss(x, training=True))
            return self._report(encoder_loss=loss)
        # the batch holds n_critic batches: each critic update sees fresh real images, as in WGAN-GP
        n = ops.shape(x)[0]
        # a known batch size (JAX, PyTorch) slices with Python integers, as JAX's compiled steps require;
        # TensorFlow's graph has it as a tensor
        small, large = (min, max) if isinstance(n, int) else (ops.minimum, ops.maximum)
        size = large(n // self.n_critic, 1)
        for i in range(self.n_critic):
            start = small(i * size, n - size)
            d_loss, penalty = self._critic_step(x[start:start + size])
        z = keras.random.normal((size, self.latent_dim), seed=self.seed_generator)
        g_loss = engine.descend(self.g_optimizer, self.generator.trainable_variables,
                                lambda: self.generator_loss(z, training=True))
        return self._report(g_loss=g_loss, d_loss=d_loss, gradient_penalty=penalty)

    def validation_losses(self, x):
        if self.phase == "encoder":
            return dict(encoder_loss=self.encoder_loss(x))
        batch = ops.shape(x)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.validation_seed())
        fake = self.generator(z)
        eps = keras.random.uniform((batch,) + (1,) * (len(x.shape) - 1), seed=self.validation_seed(1))
        d_loss, penalty = self.critic_losses(x, fake, eps * x + (1.0 - eps) * fake)
        return dict(g_loss=self.generator_loss(z), d_loss=d_loss, gradient_penalty=penalty)

    def get_config(self):
        return {**super().get_config(), "feature_weight": self.feature_weight, "n_critic": self.n_critic,
                "gp_weight": self.gp_weight}


class FAnoGAN(AdversarialDetector):
    """f-AnoGAN detector. ``fit(x, epochs=..., encoder_epochs=...)`` trains the WGAN-GP for
    ``epochs``, then the izi_f encoder for ``encoder_epochs`` (default: as many); ``steps`` counts
    generator updates, each after ``n_critic`` critic updates on fresh batches (as in the authors'
    code). The critic has no BatchNorm (the gradient penalty is per sample). Adam with betas (0, 0.9)
    as in WGAN-GP, but a step size of 5e-4 rather than its 1e-4: the authors train for tens of
    thousands of steps, and at a budget of 500 steps the larger step learns a generator that the
    encoder can invert (MNIST digits 2/5/8, dev split: mean AUROC 0.63 with 1e-4 and one batch
    for all critic updates, 0.90 with 5e-4 and fresh batches).

    Parameters
    ----------
    latent_dim : int, default 64
        Size of G's code and E's output.
    base_filters : int, default 16
        Filters of the first convolution of the DCGAN networks (doubled at every stride-2 layer); unused for
        tables.
    hidden : sequence of int, default (128, 64)
        Widths of the dense layers of the table networks; unused for images.
    feature_weight : float, default 1.0
        κ (>= 0), the weight of the critic-feature residual in izi_f.
    n_critic : int, default 5
        Critic updates (>= 1) per generator update, each on its own batch: a GAN-phase step draws
        ``n_critic * batch_size`` samples.
    gp_weight : float, default 10.0
        Weight (>= 0) of the gradient penalty (WGAN-GP: 10).
    learning_rate : float, default 5e-4
        Adam step size of all phases (see above for why not 1e-4).
    beta_1 : float, default 0.0
        Adam's ``beta_1`` (``beta_2`` is 0.9), as in WGAN-GP.
    seed : int or None, default None
        Seed of the codes and interpolation weights drawn in training, and of the shuffling of batches under a
        budget of steps. It does not seed the initial weights: use :func:`adlib.seed_everything`.
    encoder : keras.Model or None, default None
        Your own encoder, from a batch of inputs to codes (n, k); None builds the default. Without your own
        generator, its code size k replaces ``latent_dim``. A network whose shapes do not fit the data is refused at
        ``fit`` with what it must map.
    generator : keras.Model or None, default None
        Your own generator, from codes (n, k) to samples shaped like the training data (images (h, w, c) or rows
        (d,)); its input size k is the code size (``latent_dim`` sizes only the default networks then). None builds
        the default.
    discriminator : keras.Model or None, default None
        Your own critic (the WGAN discriminator), from samples to ``[value, features]``: an unbounded value (n, 1)
        and the features of a hidden layer, which the encoder's feature loss compares. No batch normalisation: the
        gradient penalty is taken per sample. None builds the default.
    """

    network_params = ("encoder", "generator", "discriminator")  # the user networks it takes (see the parameters)

    def __init__(self, latent_dim: int = 64, base_filters: int = 16, hidden: Sequence[int] = (128, 64),
                 feature_weight: float = 1.0, n_critic: int = 5, gp_weight: float = 10.0, learning_rate: float = 5e-4,
                 beta_1: float = 0.0, seed: int | None = None,
                 encoder: keras.Model | None = None, generator: keras.Model | None = None,
                 discriminator: keras.Model | None = None) -> None:
        super().__init__(latent_dim, base_filters, hidden, learning_rate, beta_1, seed)
        self.encoder, self.generator, self.discriminator = encoder, generator, discriminator
        self.feature_weight, self.n_critic, self.gp_weight = feature_weight, n_critic, gp_weight

    def _check_params(self) -> None:
        super()._check_params()
        if self.feature_weight < 0 or self.n_critic < 1 or self.gp_weight < 0:
            raise ValueError("need feature_weight >= 0, n_critic >= 1, gp_weight >= 0; got "
                             f"{self.feature_weight}, {self.n_critic}, {self.gp_weight}")

    def get_config(self):
        return {**super().get_config(), "feature_weight": self.feature_weight, "n_critic": self.n_critic,
                "gp_weight": self.gp_weight}

    def _optimizer(self):
        return keras.optimizers.Adam(self.learning_rate, beta_1=float(self.beta_1), beta_2=0.9)

    def _build_model(self, x: np.ndarray) -> keras.Model:
        encoder, generator, critic = self._networks(x)
        if self.discriminator is None:  # a WGAN critic: no batch normalisation, no dropout
            critic = (nets.dcgan_discriminator(x.shape[1:], base_filters=int(self.base_filters), norm=None,
                                               name="critic") if x.ndim == 4
                      else nets.mlp_discriminator(x.shape[1], tuple(self.hidden), dropout=0.0, name="critic"))
        return FAnoGANModel(generator, critic, encoder, feature_weight=float(self.feature_weight),
                            n_critic=int(self.n_critic), gp_weight=float(self.gp_weight), seed=self.seed)

    def _fit(self, x: np.ndarray, *, epochs: int | None = None, encoder_epochs: int | None = None,
             steps: int | None = None, encoder_steps: int | None = None, batch_size: int = 64, **kwargs) -> None:
        """WGAN-GP training, then encoder training. Each phase takes its ``*_epochs`` or ``*_steps``;
        the encoder phase defaults to the GAN phase's length, and with neither to ``default_steps``."""
        self._ensure_model(x)
        if encoder_epochs is None and encoder_steps is None:
            encoder_epochs, encoder_steps = epochs, steps
        for phase, n_epochs, n_steps in (("gan", epochs, steps), ("encoder", encoder_epochs, encoder_steps)):
            self.model_.phase = phase
            self.model_.train_function = self.model_.test_function = None  # retrace the steps for this phase
            # a generator step consumes n_critic batches (one per critic update)
            size = batch_size * int(self.n_critic) if phase == "gan" else batch_size
            if n_epochs != 0 and n_steps != 0:
                super()._fit(x, epochs=n_epochs, steps=n_steps, batch_size=size, **kwargs)

    def reconstruct(self, x, batch_size: int = 256) -> np.ndarray:
        """G(E(x)) in inference mode."""
        return self._reconstruction(x, "encoder", "generator", batch_size=batch_size)
