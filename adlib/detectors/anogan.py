"""AnoGAN (Schlegl et al., IPMI 2017): a GAN trained on normal data, and a search in latent space.

A generator trained on normal data can produce G(z) close to a normal x, but to no z is G(z) close
to an anomaly. Scoring therefore searches, for every input, the z that best explains it, by Γ
gradient steps on ``(1 - λ)·‖x - G(z)‖₁ + λ·‖f(x) - f(G(z))‖₁`` (f: the discriminator's features),
and returns that loss (here: the mean over several short searches from random starts). The search is
the method's cost: here it runs on whole batches, compiled.
G is the moving average of the trained generator's weights (see :class:`AnoGAN`).
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from . import _engine as engine
from ._gan import (
    AdversarialDetector,
    AdversarialModel,
    AveragesWeights,
    averaged_copy,
    bce_logits,
    checked_average_decay,
)

_B1, _B2, _EPS = 0.9, 0.999, 1e-7  # Adam's constants, as Keras sets them


def adam_step(value, grad, m, v, t, rate):
    """One Adam step (step number ``t`` from 1) on a tensor, for searches compiled into
    a loop without optimiser variables; returns the new ``(value, m, v)``.

    Parameters
    ----------
    value : tensor
        The tensor being optimised (e.g. a batch of codes).
    grad : tensor
        The loss's gradient with respect to ``value``.
    m, v : tensor
        Adam's first- and second-moment estimates from the previous step (zeros before the first).
    t : float or tensor
        The step number, from 1; it sets the bias corrections.
    rate : float or tensor
        The step size.

    Returns
    -------
    tuple of tensor
        ``(value, m, v)`` after the step.
    """
    m = _B1 * m + (1 - _B1) * grad
    v = _B2 * v + (1 - _B2) * grad * grad
    return value - rate * (m / (1 - _B1 ** t)) / (ops.sqrt(v / (1 - _B2 ** t)) + _EPS), m, v


def l1_per_sample(a, b):
    """‖a - b‖₁ of every sample (sum over all but the first axis).

    Parameters
    ----------
    a, b : tensor
        Batches of the same shape, samples first.

    Returns
    -------
    tensor
        One L1 distance per sample, shape ``(n,)``.
    """
    diff = ops.abs(a - b)
    return ops.sum(ops.reshape(diff, (ops.shape(diff)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package="adlib")
class DCGANModel(AveragesWeights, AdversarialModel):
    """A generator and a discriminator, trained with the non-saturating GAN loss, and
    ``average_generator``, an exponential moving average of the generator's weights (decay
    ``average_decay``) that the latent search uses.

    Parameters
    ----------
    generator : keras.Model
        Maps codes to samples; its input size is the model's ``latent_dim``.
    discriminator : keras.Model
        Maps samples to ``[logit, features]``; the features feed the search's discrimination term.
    average_generator : keras.Model
        A copy of ``generator`` (:func:`~adlib.detectors._gan.averaged_copy`) that holds the moving average.
    average_decay : float, default 0.99
        Cap of the moving average's decay (ramped up over the first steps, see ``AveragesWeights``); 0 makes
        the average the last weights.
    **kwargs
        Passed to ``AdversarialModel`` (``seed``) and ``keras.Model`` (e.g. ``name``).
    """

    network_keys = ("generator", "discriminator", "average_generator")
    loss_names = ("g_loss", "d_loss")

    def __init__(self, generator, discriminator, average_generator, average_decay: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.average_generator = average_generator
        self._init_average(average_decay)

    @property
    def latent_dim(self) -> int:
        return int(self.generator.input_shape[-1])

    def call(self, x, training=False):
        """The discriminator's logit that ``x`` is real (use ``generator`` to generate)."""
        return self.discriminator(x, training=training)[0]

    def generator_loss(self, z, training=False):
        """The generator's non-saturating loss: the discriminator should call G(z) real."""
        fake_logit, _ = self.discriminator(self.generator(z, training=training), training=training)
        return bce_logits(fake_logit, 1.0)

    def discriminator_loss(self, x, fake, training=False):
        """Cross-entropy of the discriminator: real images against generated ones."""
        return (bce_logits(self.discriminator(x, training=training)[0], 1.0)
                + bce_logits(self.discriminator(fake, training=training)[0], 0.0))

    def train_step(self, data):
        x = engine.inputs(data)
        z = keras.random.normal((ops.shape(x)[0], self.latent_dim), seed=self.seed_generator)
        g_loss = engine.descend(self.g_optimizer, self.generator.trainable_variables,
                                lambda: self.generator_loss(z, training=True))
        fake = self.generator(z, training=True)
        d_loss = engine.descend(self.d_optimizer, self.discriminator.trainable_variables,
                                lambda: self.discriminator_loss(x, fake, training=True))
        self._update_average((self.average_generator, self.generator))
        return self._report(g_loss=g_loss, d_loss=d_loss)

    def validation_losses(self, x):
        z = keras.random.normal((ops.shape(x)[0], self.latent_dim), seed=self.validation_seed())
        return dict(g_loss=self.generator_loss(z), d_loss=self.discriminator_loss(x, self.generator(z)))

    def get_config(self):
        return {**super().get_config(), "average_decay": self.average_decay}

    def search_loss(self, x, z, weight, f_real=None):
        """AnoGAN's per-sample loss: residual (image) and discrimination (feature) L1 terms.
        ``f_real``, the discriminator's features of ``x``, is computed if not given."""
        generated = self.average_generator(z, training=False)
        if f_real is None:
            _, f_real = self.discriminator(x, training=False)
        _, f_fake = self.discriminator(generated, training=False)
        return (1.0 - weight) * l1_per_sample(x, generated) + weight * l1_per_sample(f_real, f_fake)

    @engine.compiled
    def latent_search(self, x, z, steps, weight, learning_rate):
        """Γ = ``steps`` Adam steps on every row of ``z`` at once (each sample's loss depends only on
        its own z, so one summed loss gives every z its own gradient). Returns ``(loss, z)``."""
        _, f_real = self.discriminator(x, training=False)  # constant during the search

        def body(i, z, m, v):
            _, (grad,) = engine.value_and_gradients(lambda codes: ops.sum(self.search_loss(x, codes, weight, f_real)), [z])
            z, m, v = adam_step(z, grad, m, v, ops.cast(i + 1, "float32"), learning_rate)
            return i + 1, z, m, v

        _, z, _, _ = engine.while_loop(lambda i, *_: i < steps, body,
                                       (engine.constant(0), z, ops.zeros_like(z), ops.zeros_like(z)))
        return self.search_loss(x, z, weight, f_real), z


class AnoGAN(AdversarialDetector):
    """AnoGAN detector: DCGAN training, then per input ``n_seeds`` latent searches of
    ``search_steps`` (Γ) Adam steps with step size ``search_learning_rate``, each from its own
    random start; λ = ``feature_weight``. The score is the mean final loss over the starts (the
    paper: one start, Γ = 500, λ = 0.1; ``n_seeds=1, search_steps=500``).

    The default search is short and repeated, 8 starts of Γ = 10, not one long one: a long search
    also finds a z that draws the *anomalies* well, because nothing keeps z in the region the
    generator was trained on (MNIST, digit 8 normal, 1,000 training steps, held-out training rows:
    Γ = 500 scores AUROC 0.72, Γ = 100 0.79, Γ = 25 0.84), and one short search depends on where it
    started, which averaging several starts removes (as ADGAN does). MNIST, 250 training steps,
    1,000 held-out training rows, digits 8 / 2: one start of Γ = 25 0.791 / 0.791, 4 starts of
    Γ = 10 0.828 / 0.794, 8 starts of Γ = 10 0.840 / 0.817; the best start's loss instead of the mean
    0.820 / 0.813. Eight searches of 10 steps cost about 3.7 times one search of 25 (27 s against
    7 s per 1,000 MNIST images on 2 CPU cores).

    ``learning_rate`` is 1e-3 for both networks, not DCGAN's 2e-4: the score is only as good as the
    generator, and at the book's budget a 2e-4 GAN has not learned to draw the digit yet (MNIST,
    held-out training rows, 250 steps: digit 2 AUROC 0.54 -> 0.71, digit 8 0.59 -> 0.78; after
    2,000 steps digit 8 scores 0.81 with 2e-4 and 0.82 with 1e-3).

    The search uses ``average_generator``, an exponential moving average of the generator's weights
    (``average_decay=0.99``, ramped up over the first steps, see ``AveragesWeights``; Yazıcı et al.,
    ICLR 2019), not the last weights: a GAN's last iterate
    jitters from step to step, and the average draws the digit more faithfully. MNIST, held-out
    training rows, 250 steps: digit 2 AUROC 0.71 -> 0.77, digit 8 0.78 -> 0.80.
    ``average_decay=0`` searches with the last weights, as the paper does.

    Scores cost ``n_seeds`` × Γ forward and backward passes per input: use fewer seeds, or
    :meth:`latent_search` with fewer steps, to trade accuracy for time.

    Parameters
    ----------
    latent_dim : int, default 100
        Size of the generator's code, the space the search explores.
    base_filters : int, default 32
        Filters of the first convolution of the DCGAN networks (doubled at every stride-2 layer); unused for
        tables.
    hidden : sequence of int, default (128, 64)
        Widths of the dense layers of the table networks; unused for images.
    n_seeds : int, default 8
        Random starts (>= 1) searched per input; the score is the mean of their final losses. The cost of
        scoring grows in proportion.
    search_steps : int, default 10
        Γ, Adam steps (>= 1) of each search; long searches also fit the anomalies (see above).
    feature_weight : float, default 0.1
        λ in [0, 1], the weight of the discriminator-feature term against the image term in the search loss.
    search_learning_rate : float, default 0.05
        Adam step size of the search on the codes.
    learning_rate : float, default 1e-3
        Adam step size of the GAN training (generator and discriminator).
    beta_1 : float, default 0.5
        Adam's ``beta_1`` for the GAN training, as in DCGAN.
    average_decay : float, default 0.99
        Decay in [0, 1) of the moving average of the generator's weights that the search uses; 0 searches
        with the last weights.
    seed : int or None, default None
        Seed of the codes drawn in training, of the shuffling of batches under a budget of steps, and of the
        search's starting codes (drawn with seed 0 when None, so that scores are repeatable). It does not
        seed the initial weights: use :func:`adlib.seed_everything`.
    generator : keras.Model or None, default None
        Your own generator, from codes (n, k) to samples shaped like the training data (images (h, w, c) or rows
        (d,)); its input size k is the code size (``latent_dim`` sizes only the default networks then). None builds
        the default.
    discriminator : keras.Model or None, default None
        Your own discriminator, from samples to two outputs ``[logit, features]``: a logit (n, 1) that the sample is
        real and the features of a hidden layer, which the search's feature term uses. None builds the default.
    """

    network_params = ("generator", "discriminator")  # the user networks it takes (see the parameters)

    slow_scoring = True  # a latent search per input: `score` shows a progress bar unless verbose=0

    def __init__(self, latent_dim: int = 100, base_filters: int = 32, hidden: Sequence[int] = (128, 64),
                 n_seeds: int = 8, search_steps: int = 10, feature_weight: float = 0.1,
                 search_learning_rate: float = 0.05, learning_rate: float = 1e-3, beta_1: float = 0.5,
                 average_decay: float = 0.99, seed: int | None = None,
                 generator: keras.Model | None = None, discriminator: keras.Model | None = None) -> None:
        super().__init__(latent_dim, base_filters, hidden, learning_rate, beta_1, seed)
        self.generator, self.discriminator = generator, discriminator
        self.n_seeds, self.search_steps, self.feature_weight = n_seeds, search_steps, feature_weight
        self.search_learning_rate, self.average_decay = search_learning_rate, average_decay

    def _check_params(self) -> None:
        super()._check_params()
        checked_average_decay(self.average_decay)
        if self.n_seeds < 1:
            raise ValueError(f"n_seeds must be at least 1; got {self.n_seeds}")
        if self.search_steps < 1:
            raise ValueError(f"search_steps (Γ) must be at least 1; got {self.search_steps}")
        if not 0 <= self.feature_weight <= 1:
            raise ValueError(f"feature_weight (λ) must be in [0, 1]; got {self.feature_weight}")

    def get_config(self):
        return {**super().get_config(), "n_seeds": self.n_seeds, "search_steps": self.search_steps,
                "feature_weight": self.feature_weight, "search_learning_rate": self.search_learning_rate,
                "average_decay": self.average_decay}

    def _build_model(self, x: np.ndarray) -> keras.Model:
        _, generator, discriminator = self._networks(x)
        return DCGANModel(generator, discriminator, averaged_copy(generator),
                          average_decay=float(self.average_decay), seed=self.seed)

    def latent_search(self, x, steps: int | None = None, batch_size: int = 256,
                      verbose: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Search the latent space for ``x``: ``(loss, z)`` per input, the mean final loss over the
        ``n_seeds`` starts (the score) and the code of the start that ended lowest. ``batch_size``
        is the number of searches per compiled call (inputs × starts). Starting points are drawn
        from N(0, I) with the detector's seed, so scores are repeatable."""
        with engine.no_gradients():  # the search's own input gradients are the only graph it records
            return self._latent_search(self._checked(x), steps, batch_size, verbose)

    def _latent_search(self, x: np.ndarray, steps: int | None, batch_size: int,
                       verbose: bool) -> tuple[np.ndarray, np.ndarray]:
        steps, z0 = self._search_start(len(x), steps)
        k = int(self.n_seeds)
        per_call = max(1, batch_size // k)
        losses, codes = [], []
        bar = keras.utils.Progbar(len(x), unit_name="sample") if verbose else None
        for start in range(0, len(x), per_call):
            sl = slice(start, start + per_call)
            n = len(x[sl])
            loss, z = self.model_.latent_search(engine.constant(np.repeat(x[sl], k, axis=0)),
                                                engine.constant(z0[sl].reshape(n * k, -1)), engine.constant(steps),
                                                engine.constant(float(self.feature_weight)),
                                                engine.constant(float(self.search_learning_rate)))
            loss, z = ops.convert_to_numpy(loss).reshape(n, k), ops.convert_to_numpy(z).reshape(n, k, -1)
            losses.append(loss.mean(axis=1))
            codes.append(z[np.arange(n), loss.argmin(axis=1)])
            if bar is not None:
                bar.add(n)
        return np.concatenate(losses), np.concatenate(codes)

    def _search_start(self, n: int, steps: int | None) -> tuple[int, np.ndarray]:
        """The search length (``search_steps`` unless given) and the starting codes, (n, n_seeds, d),
        drawn with the detector's seed, so that scores are repeatable."""
        steps = int(self.search_steps if steps is None else steps)
        if steps < 1:
            raise ValueError(f"steps must be at least 1; got {steps}")
        return steps, np.random.default_rng(0 if self.seed is None else self.seed).standard_normal(
            (n, int(self.n_seeds), int(self.model_.latent_dim))).astype(np.float32)

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return self._latent_search(x, None, batch_size, False)[0]

    def _score_with_progress(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return self._latent_search(x, None, batch_size, True)[0]

    def generate(self, z) -> np.ndarray:
        """G(z) in inference mode, with the averaged generator weights the search uses."""
        return self._as_input_shape(self.model_.average_generator.predict(np.asarray(z, np.float32), verbose=0))
