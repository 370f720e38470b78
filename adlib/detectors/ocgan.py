"""OCGAN (Perera, Nallapati and Xiang, CVPR 2019): one-class novelty detection with a latent space
in which *every* point decodes to an in-class image.

A denoising autoencoder alone also reconstructs out-of-class images well. OCGAN bounds its codes to
(-1, 1)^d with tanh, pushes them towards U(-1, 1) with a latent discriminator, makes images decoded
from random codes look real with a visual discriminator, and uses a classifier to find random codes
that still decode badly (informative-negative mining) and trains the decoder on exactly those.
Score: reconstruction error ``mean((x - De(En(x)))**2)``, with moving averages of En's and De's
weights over training (see :class:`OCGAN`).
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from .. import nets
from . import _engine as engine
from ._gan import (
    AdversarialDetector,
    AdversarialModel,
    AveragesWeights,
    averaged_copy,
    bce_logits,
    checked_average_decay,
)


def latent_discriminator(latent_dim: int, hidden: Sequence[int] = (128, 64)) -> keras.Model:
    """Dense discriminator on codes: real = samples of U(-1, 1)^d, fake = encodings.

    Parameters
    ----------
    latent_dim : int
        Size of the codes.
    hidden : sequence of int, default (128, 64)
        Widths of the dense LeakyReLU layers.

    Returns
    -------
    keras.Model
        One logit per code, named ``"latent_discriminator"``.
    """
    z_in = keras.Input((latent_dim,), name="z")
    h = z_in
    for units in hidden:
        h = layers.LeakyReLU(0.2)(layers.Dense(units)(h))
    return keras.Model(z_in, layers.Dense(1, name="logit")(h), name="latent_discriminator")


@keras.saving.register_keras_serializable(package="adlib")
class OCGANModel(AveragesWeights, AdversarialModel):
    """Encoder, decoder, latent and visual discriminators, classifier, and one OCGAN training step;
    ``average_encoder`` and ``average_decoder`` hold moving averages of the encoder's and decoder's
    weights (decay ``average_decay``), which score.

    Parameters
    ----------
    encoder, decoder : keras.Model
        En (codes in (-1, 1)^d) and De.
    latent_discriminator : keras.Model
        D_l, from codes to one logit.
    visual_discriminator : keras.Model
        D_v, from images to ``[logit, features]``.
    classifier : keras.Model
        C, from images to a logit (or ``[logit, ...]``): reconstruction of a real image or not.
    average_encoder, average_decoder : keras.Model
        Copies of En and De (:func:`~adlib.detectors._gan.averaged_copy`) that hold the moving averages.
    noise_std : float, default 0.2
        Std of the Gaussian noise added to the training inputs of En.
    reconstruction_weight : float, default 10.0
        Weight of the reconstruction error in En's and De's loss.
    mining_steps : int, default 5
        Gradient steps of informative-negative mining.
    mining_step_size : float, default 0.1
        Step size of each mining step.
    average_decay : float, default 0.99
        Cap of the moving average's decay; 0 makes the averages the last weights.
    **kwargs
        Passed to ``AdversarialModel`` (``seed``) and ``keras.Model`` (e.g. ``name``).
    """

    network_keys = ("encoder", "decoder", "latent_discriminator", "visual_discriminator", "classifier",
                    "average_encoder", "average_decoder")
    loss_names = ("g_loss", "rec_loss", "latent_adv_loss", "visual_adv_loss", "d_loss", "classifier_loss")

    def __init__(self, encoder, decoder, latent_discriminator, visual_discriminator, classifier,
                 average_encoder, average_decoder, noise_std: float = 0.2, reconstruction_weight: float = 10.0,
                 mining_steps: int = 5, mining_step_size: float = 0.1, average_decay: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.average_encoder, self.average_decoder = average_encoder, average_decoder
        self._init_average(average_decay)
        self.latent_discriminator, self.visual_discriminator = latent_discriminator, visual_discriminator
        self.classifier = classifier
        self.noise_std, self.reconstruction_weight = float(noise_std), float(reconstruction_weight)
        self.mining_steps, self.mining_step_size = int(mining_steps), float(mining_step_size)
        self.mining_on = keras.Variable(0.0, trainable=False, name="mining_on")

    @property
    def latent_dim(self) -> int:
        return int(self.encoder.output_shape[-1])

    def call(self, x, training=False):
        """De(En(x)) with the averaged weights (what scores)."""
        return self.average_decoder(self.average_encoder(x, training=training), training=training)

    def classifier_logit(self, images, training=False):
        logit = self.classifier(images, training=training)
        return logit[0] if isinstance(logit, (list, tuple)) else logit

    def mine(self, l2, steps: int | None = None):
        """Informative-negative mining, eq. (ocgan-mining): move the codes ``l2`` by gradient descent
        on ``-log(1 - C(De(l2)))``, towards codes whose decodings the classifier finds least like
        reconstructions of real images; kept in [-1, 1]."""
        steps = self.mining_steps if steps is None else steps
        for _ in range(steps):
            # -log(1 - sigmoid(logit)), summed: each code gets the gradient of its own term
            _, (grad,) = engine.value_and_gradients(lambda codes: ops.sum(ops.softplus(
                self.classifier_logit(self.decoder(codes, training=False), training=False))), [l2])
            l2 = ops.clip(l2 - self.mining_step_size * grad, -1.0, 1.0)
        return ops.stop_gradient(l2)

    def classifier_loss(self, reconstructions, generated, training=False):
        """Classifier C, eq. (ocgan-classifier): De(l1) is positive, De(l2) negative."""
        return (bce_logits(self.classifier_logit(reconstructions, training=training), 1.0)
                + bce_logits(self.classifier_logit(generated, training=training), 0.0))

    def discriminator_loss(self, x, l1, l2, generated, training=False):
        """Discriminators D_l, eq. (ocgan-latent), and D_v, eq. (ocgan-visual), summed."""
        d_latent = (bce_logits(self.latent_discriminator(l2, training=training), 1.0)
                    + bce_logits(self.latent_discriminator(ops.stop_gradient(l1), training=training), 0.0))
        d_visual = (bce_logits(self.visual_discriminator(x, training=training)[0], 1.0)
                    + bce_logits(self.visual_discriminator(generated, training=training)[0], 0.0))
        return d_latent + d_visual

    def generator_losses(self, x, noisy, l2_mined, training=False):
        """Encoder and decoder: reconstruction_weight * L_MSE, eq. (ocgan-mse), and both adversarial losses
        with the labels flipped, the visual one on the mined codes: ``(loss, its terms by name)``."""
        l1 = self.encoder(noisy, training=training)
        rec = ops.mean(ops.square(x - self.decoder(l1, training=training)))  # mean over pixels and batch: 1/P
        adv_latent = bce_logits(self.latent_discriminator(l1, training=training), 1.0)
        adv_visual = bce_logits(self.visual_discriminator(self.decoder(l2_mined, training=training),
                                                          training=training)[0], 1.0)
        g_loss = self.reconstruction_weight * rec + adv_latent + adv_visual
        return g_loss, dict(g_loss=g_loss, rec_loss=rec, latent_adv_loss=adv_latent, visual_adv_loss=adv_visual)

    def _mined(self, l2):
        """Informative-negative mining, eq. (ocgan-mining), once switched on."""
        return engine.cond(self.mining_on > 0.5, lambda: self.mine(l2), lambda: l2)

    def train_step(self, data):
        x = engine.inputs(data)
        batch = ops.shape(x)[0]
        noisy = x + self.noise_std * keras.random.normal(ops.shape(x), seed=self.seed_generator)  # x + n
        l2 = keras.random.uniform((batch, self.latent_dim), -1.0, 1.0, seed=self.seed_generator)  # l2 ~ U(-1, 1)^d

        l1 = self.encoder(noisy, training=True)  # l1 = En(x + n)
        reconstructions = ops.stop_gradient(self.decoder(l1, training=True))
        generated = ops.stop_gradient(self.decoder(l2, training=True))
        c_loss = engine.descend(self.c_optimizer, self.classifier.trainable_variables,
                                lambda: self.classifier_loss(reconstructions, generated, training=True))

        d_vars = self.latent_discriminator.trainable_variables + self.visual_discriminator.trainable_variables
        d_loss = engine.descend(self.d_optimizer, d_vars,
                                lambda: self.discriminator_loss(x, l1, l2, generated, training=True))

        l2_mined = self._mined(l2)
        g_vars = self.encoder.trainable_variables + self.decoder.trainable_variables
        _, terms = engine.descend(self.g_optimizer, g_vars,
                                  lambda: self.generator_losses(x, noisy, l2_mined, training=True))
        self._update_average((self.average_encoder, self.encoder), (self.average_decoder, self.decoder))
        return self._report(**terms, d_loss=d_loss, classifier_loss=c_loss)

    def validation_losses(self, x):
        batch = ops.shape(x)[0]
        noisy = x + self.noise_std * keras.random.normal(ops.shape(x), seed=self.validation_seed())
        l2 = keras.random.uniform((batch, self.latent_dim), -1.0, 1.0, seed=self.validation_seed(1))
        l1 = self.encoder(noisy)
        generated = self.decoder(l2)
        _, terms = self.generator_losses(x, noisy, self._mined(l2))
        return dict(**terms,
                    d_loss=self.discriminator_loss(x, l1, l2, generated),
                    classifier_loss=self.classifier_loss(self.decoder(l1), generated))

    def get_config(self):
        return {**super().get_config(), "noise_std": self.noise_std, "reconstruction_weight": self.reconstruction_weight,
                "mining_steps": self.mining_steps, "mining_step_size": self.mining_step_size,
                "average_decay": self.average_decay}


class StartMining(keras.callbacks.Callback):
    """Switch informative-negative mining on from epoch ``start_epoch`` (counted over all fit calls).

    Parameters
    ----------
    start_epoch : int
        The first epoch, counted over all fit calls, with mining on.
    epochs_done : int
        Keras epochs of earlier fit calls, added to this fit's epoch number.
    """

    def __init__(self, start_epoch: int, epochs_done: int) -> None:
        super().__init__()
        self.start_epoch, self.epochs_done = start_epoch, epochs_done

    def on_epoch_begin(self, epoch, logs=None):
        self.model.mining_on.assign(1.0 if self.epochs_done + epoch >= self.start_epoch else 0.0)


class OCGAN(AdversarialDetector):
    """OCGAN detector for images of any size (the shared DCGAN backbone).

    ``mining=False`` switches informative-negative mining off (the paper's ablation).
    From the authors' code: ``latent_dim=16``, reconstruction weight ``reconstruction_weight=500``, input noise of
    variance 0.02 (``noise_std=0.14``), Adam with beta_1 0.5. ``mining_steps=5`` follows the paper.
    ``mining_step_size``, ``mining_start_epoch`` and ``learning_rate=3e-3`` (the authors use 2e-4
    over ~200 epochs; we train for a few hundred steps) are this implementation's choices, and so is
    scoring with moving averages of the encoder's and decoder's weights (``average_decay=0.99``, ramped
    up over the first steps, see ``AveragesWeights``; 0 scores with the last weights, as the paper
    does). Chosen on MNIST training rows only (80% of a digit to train, its other 20% and 2,000
    other-digit training images to score), 250 steps, digits 8/2/3/5/9/7: learning rate 1e-3
    0.838/0.881/0.931/0.956/0.952/0.958, 2e-3 0.877/0.891/0.929 (first three), 3e-3
    0.893/0.921/0.936/0.969/0.958/0.965, 5e-3 0.873/0.921/0.931. Averaging was chosen earlier, at
    1e-3 on a different held-out split of the training rows, digits 2/3/5/8: 0.898/0.915/0.946/0.855
    with the last weights, 0.893/0.925/0.947/0.890 averaged (not re-measured at 3e-3).
    The code passes a BatchNormalization without learned scale before its tanh
    (:func:`adlib.nets.bounded_code`), also this implementation's choice: without it, on contrast-normalised
    CIFAR-10 (4,000 training images of a class to train, its other 1,000 and 2,000 other-class training
    images to score, 250 steps) every code saturated at +-1 and the decoder returned one image for all
    inputs (bird: reconstruction error 1.17 times the mean image's), so the score was only a distance
    from the mean image. With it the codes stay inside (-1, 1) and the decoder reconstructs (0.55-0.87
    times the mean image's error). AUROC without / with: bird 0.425 / 0.525, deer 0.457 / 0.560, frog
    0.744 / 0.517 (frogs are told apart by their distance from the mean image alone); the MNIST split
    above, digits 8/2/3: 0.893/0.921/0.936 / 0.901/0.923/0.956.
    ``encode``, ``decode`` and ``reconstruct`` use the averaged networks too; ``mine`` uses the
    trained decoder and classifier, as training does.

    Parameters
    ----------
    latent_dim : int, default 16
        Size of the codes, bounded to (-1, 1) by tanh.
    base_filters : int, default 16
        Filters of the first convolution of every network (doubled at every stride-2 layer).
    mining : bool, default True
        Informative-negative mining on or off.
    mining_steps : int, default 5
        Gradient steps (>= 0) of each mining.
    mining_step_size : float, default 0.1
        Step size (>= 0) of each mining step.
    mining_start_epoch : int, default 0
        First Keras epoch (>= 0, counted over all fit calls) with mining on; under a budget of steps the
        Keras epochs are the (up to) ten equal parts of the budget.
    noise_std : float, default 0.14
        Std (>= 0) of the Gaussian noise added to the encoder's training inputs.
    reconstruction_weight : float, default 500.0
        Weight of the reconstruction error against the adversarial losses of En and De.
    learning_rate : float, default 3e-3
        Adam step size of every network.
    beta_1 : float, default 0.5
        Adam's ``beta_1``.
    average_decay : float, default 0.99
        Decay in [0, 1) of the moving averages of En's and De's weights that score; 0 scores with the last
        weights.
    seed : int or None, default None
        Seed of the noise and codes drawn in training and of the shuffling of batches under a budget of steps.
        It does not seed the initial weights: use :func:`adlib.seed_everything`.
    encoder : keras.Model or None, default None
        Your own encoder, from a batch of inputs to codes (n, k) in [-1, 1] (ending in tanh: the latent
        discriminator compares the codes with U(-1, 1)); None builds the default. Without your own decoder, its code
        size k replaces ``latent_dim``. A network whose shapes do not fit the data is refused at ``fit`` with what
        it must map.
    decoder : keras.Model or None, default None
        Your own decoder, from codes (n, k) to samples shaped like the training data (images (h, w, c) or rows
        (d,)); its input size k is the code size (``latent_dim`` sizes only the default networks then). None builds
        the default.
    discriminator : keras.Model or None, default None
        Your own visual discriminator, from samples to two outputs ``[logit, features]``: a logit (n, 1) that the
        sample is real and the features of a hidden layer, which the visual adversarial loss uses. None builds the
        default.
    """

    network_params = ("encoder", "decoder", "discriminator")  # the user networks it takes (see the parameters)

    input_kinds = ("image",)  # the latent and visual discriminators are defined for images only

    def __init__(self, latent_dim: int = 16, base_filters: int = 16, mining: bool = True,
                 mining_steps: int = 5, mining_step_size: float = 0.1, mining_start_epoch: int = 0,
                 noise_std: float = 0.14, reconstruction_weight: float = 500.0, learning_rate: float = 3e-3, beta_1: float = 0.5,
                 average_decay: float = 0.99, seed: int | None = None,
                 encoder: keras.Model | None = None, decoder: keras.Model | None = None,
                 discriminator: keras.Model | None = None) -> None:
        super().__init__(latent_dim=latent_dim, base_filters=base_filters, learning_rate=learning_rate,
                         beta_1=beta_1, seed=seed)
        self.encoder, self.decoder, self.discriminator = encoder, decoder, discriminator
        self.mining, self.mining_steps, self.mining_step_size = mining, mining_steps, mining_step_size
        self.mining_start_epoch, self.noise_std = mining_start_epoch, noise_std
        self.reconstruction_weight, self.average_decay = reconstruction_weight, average_decay

    def _check_params(self) -> None:
        super()._check_params()
        if self.mining_steps < 0 or self.mining_step_size < 0 or self.mining_start_epoch < 0 or self.noise_std < 0:
            raise ValueError("mining_steps, mining_step_size, mining_start_epoch and noise_std must be >= 0")
        checked_average_decay(self.average_decay)

    def get_config(self):
        config = super().get_config()
        config.pop("hidden")
        return {**config, "mining": self.mining, "mining_steps": self.mining_steps,
                "mining_step_size": self.mining_step_size, "mining_start_epoch": self.mining_start_epoch,
                "noise_std": self.noise_std, "reconstruction_weight": self.reconstruction_weight,
                "average_decay": self.average_decay}

    def _build_model(self, x: np.ndarray) -> keras.Model:
        if x.ndim != 4:
            raise ValueError(f"OCGAN works on images (n, s, s, c); got shape {x.shape}")
        encoder, decoder, visual = self._networks(x, encoder_activation="tanh")
        if self.encoder is not None:
            codes = ops.convert_to_numpy(encoder(x[:64], training=False))
            if np.abs(codes).max() > 1:
                raise ValueError(f"OCGAN's encoder must map images to codes in [-1, 1] (end it in tanh): the latent "
                                 f"discriminator compares them with U(-1, 1); {encoder.name!r} gives codes up to "
                                 f"{np.abs(codes).max():.3g} in size")
        classifier = nets.dcgan_discriminator(x.shape[1:], base_filters=int(self.base_filters), name="classifier")
        return OCGANModel(encoder, decoder, latent_discriminator(self.code_size(x)), visual, classifier,
                          averaged_copy(encoder), averaged_copy(decoder), noise_std=float(self.noise_std),
                          reconstruction_weight=float(self.reconstruction_weight), mining_steps=int(self.mining_steps),
                          mining_step_size=float(self.mining_step_size), average_decay=float(self.average_decay),
                          seed=self.seed)

    def _fit(self, x: np.ndarray, *, callbacks=None, **kwargs) -> None:
        start = int(self.mining_start_epoch) if self.mining else np.iinfo(np.int32).max
        epochs_done = len(getattr(self, "epoch_seconds_", []))
        super()._fit(x, callbacks=[StartMining(start, epochs_done), *(callbacks or [])], **kwargs)

    def reconstruct(self, x, batch_size: int = 256) -> np.ndarray:
        """``De(En(x))`` in inference mode, averaged weights."""
        return self._as_input_shape(self._predict(self._checked(x), batch_size))

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """Eq. (ocgan-score): the mean squared error over pixels of De(En(x)), averaged networks."""
        rec = self._predict(x, batch_size)
        return np.mean(np.square(x - rec).reshape(len(x), -1), axis=1)

    def encode(self, x, batch_size: int = 256) -> np.ndarray:
        """Codes in (-1, 1)^latent_dim (averaged encoder)."""
        return self._through(x, "average_encoder", batch_size=batch_size)

    def decode(self, codes, batch_size: int = 256) -> np.ndarray:
        """Images decoded from codes by the averaged decoder (e.g. random ones, to see what the latent
        space holds)."""
        return self._as_input_shape(self.model_.average_decoder.predict(np.asarray(codes, np.float32),
                                                                batch_size=batch_size, verbose=0))

    def mine(self, codes, steps: int | None = None) -> np.ndarray:
        """Apply informative-negative mining to ``codes`` (for figures and tests)."""
        with engine.no_gradients():
            return ops.convert_to_numpy(self.model_.mine(ops.convert_to_tensor(np.asarray(codes, np.float32)), steps))
