"""ADGAN (Deecke, Vandermeulen, Ruff, Mandt and Kloft, ECML PKDD 2018): AnoGAN's latent search, but
every search also adapts the generator.

AnoGAN searches for the z that best explains x with the generator fixed. ADGAN starts ``n_seeds``
searches from z_j ~ N(0, I), each with its own copy θ_j of the trained generator, and takes Γ joint
Adam steps on z_j (step size γ) and θ_j (step size γ_θ) of ℓ = ‖x - G_θj(z_j)‖². The score is the
mean of the final ℓ over the seeds. The idea: a generator trained on normal data bends towards a
normal input more easily than towards an anomaly, and several seeds average out unlucky starts.
The GAN itself is trained exactly as AnoGAN's (:class:`~adlib.detectors.anogan.DCGANModel`).
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from . import _engine as engine
from ._per_copy import PerCopyNetwork
from .anogan import AnoGAN, adam_step

SEARCH_MEMORY = 2**30  # bytes the generator copies of one compiled search call may take
BYTES_PER_WEIGHT = 4 * 6  # float32 weight, its two Adam moments, its gradient and temporaries


class AdaptiveSearch:
    """ADGAN's search for a batch of searches: pair ``i`` (z_i, θ_i) is updated by its own Adam steps
    on ℓ_i = ‖x_i - G_θi(z_i)‖². Every θ_i is a copy of the trained generator's weights, held as one
    tensor per weight with a copy axis (:class:`~adlib.detectors._per_copy.PerCopyNetwork`), so all
    the searches run as one batch, compiled; the trained generator's weights never change.

    Parameters
    ----------
    generator : keras.Model
        The trained generator whose weights start every θ_i (:class:`ADGAN` passes the averaged generator). It
        is read, never changed; a new generator needs a new ``AdaptiveSearch``.
    """

    def __init__(self, generator: keras.Model) -> None:
        self.generator = generator
        self.network = PerCopyNetwork(generator)
        self.run = engine.compiled(self._run, variables=lambda: generator.variables, jit_compile=True)

    def _loss(self, theta, x, z):
        """ℓ_i = ‖x_i - G_θi(z_i)‖² of every search i."""
        return l2_squared_per_sample(x, self.network(theta, z))

    def _run(self, x, z, steps, z_rate, theta_rate):
        """``x``: the input of every search (n, ...); ``z``: their starting codes (n, d). Returns the
        final ℓ of every search."""
        theta = self.network.initial_weights(ops.shape(z)[0])  # θ_i = θ for every search i
        zeros = [ops.zeros_like(t) for t in theta]

        def body(i, z, mz, vz, theta, mt, vt):
            t = ops.cast(i + 1, "float32")
            # ℓ_i depends on (z_i, θ_i) only, so the gradient of the sum gives each search its own
            _, (gz, *gt) = engine.value_and_gradients(
                lambda codes, *weights: ops.sum(self._loss(list(weights), x, codes)), [z, *theta])
            z, mz, vz = adam_step(z, gz, mz, vz, t, z_rate)
            updated = [adam_step(w, g, m, v, t, theta_rate) for w, g, m, v in zip(theta, gt, mt, vt)]
            theta, mt, vt = (list(part) for part in zip(*updated))
            return i + 1, z, mz, vz, theta, mt, vt

        state = (engine.constant(0), z, ops.zeros_like(z), ops.zeros_like(z), theta, zeros, list(zeros))
        _, z, _, _, theta, _, _ = engine.while_loop(lambda i, *_: i < steps, body, state)
        return self._loss(theta, x, z)


def l2_squared_per_sample(a, b):
    """‖a - b‖² of every sample (sum over all but the first axis)."""
    diff = ops.square(a - b)
    return ops.sum(ops.reshape(diff, (ops.shape(diff)[0], -1)), axis=1)


class ADGAN(AnoGAN):
    """ADGAN detector: AnoGAN's DCGAN training, then for every input ``n_seeds`` searches of
    ``search_steps`` (Γ) Adam steps that move both the code (step ``search_learning_rate``, γ) and
    a private copy of the generator (step ``generator_learning_rate``, γ_θ); the score is the mean
    final squared error over the seeds.

    The search starts from the averaged generator that AnoGAN's search uses (``average_decay=0``:
    the last weights). Scoring costs ``n_seeds`` × Γ forward and backward passes of the generator per
    input, and an Adam step on a whole copy of the generator's weights for each of them, so it costs
    far more than AnoGAN's search of the same length. The searches still run as batches, in one
    XLA-compiled loop: each weight of the generator gets a leading copy axis
    (:class:`~adlib.detectors._per_copy.PerCopyNetwork`), so a batch of inputs × seeds shares every
    matrix product instead of running one input at a time (28x28 images, ``base_filters=16``, 4 seeds,
    Γ = 10, 2 CPU cores: 17.6 ms per image in batches of 32 inputs, 75 ms one input at a time, the same
    losses to 5e-6).

    The default γ_θ is small, 1e-5: adapting the generator faster *lowered* the AUROC in
    development (MNIST, digit 8 normal, 250 training steps, 1,000 held-out training rows; 4 seeds,
    Γ = 10): γ_θ = 0 (codes only) 0.856, 1e-5 0.846, 1e-4 0.773, 1e-3 0.648. A generator trained
    this briefly bends as easily towards an anomaly as towards a normal image. The values the paper
    used could not be checked here; set ``generator_learning_rate`` to study the trade-off.

    Parameters
    ----------
    latent_dim : int, default 100
        Size of the generator's code.
    base_filters : int, default 32
        Filters of the first convolution of the DCGAN networks (doubled at every stride-2 layer); unused for
        tables.
    hidden : sequence of int, default (128, 64)
        Widths of the dense layers of the table networks; unused for images.
    n_seeds : int, default 4
        Searches (>= 1) per input, each from its own code and its own copy of the generator; the score is the
        mean of their final losses. Scoring time grows in proportion.
    search_steps : int, default 10
        Γ, joint Adam steps (>= 1) of each search.
    search_learning_rate : float, default 0.05
        γ, the Adam step size on the codes.
    generator_learning_rate : float, default 1e-5
        γ_θ (>= 0), the Adam step size on the generator copies; 0 adapts the codes only. See above for why
        the default is small.
    learning_rate : float, default 1e-3
        Adam step size of the GAN training, as in :class:`AnoGAN`.
    beta_1 : float, default 0.5
        Adam's ``beta_1`` for the GAN training.
    average_decay : float, default 0.99
        Decay in [0, 1) of the moving average of the generator's weights that the searches start from; 0 uses
        the last weights.
    seed : int or None, default None
        Seed of the codes drawn in training, of the shuffling of batches under a budget of steps, and of the
        searches' starting codes (drawn with seed 0 when None, so that scores are repeatable). It does not
        seed the initial weights: use :func:`adlib.seed_everything`.
    generator : keras.Model or None, default None
        Your own generator, from codes (n, k) to samples shaped like the training data (images (h, w, c) or rows
        (d,)); its input size k is the code size (``latent_dim`` sizes only the default networks then); the search
        adapts a copy of it per input, so its layers must be a single chain of ``Dense``, ``Conv2DTranspose``,
        ``BatchNormalization``, activations and reshapes. None builds the default.
    discriminator : keras.Model or None, default None
        Your own discriminator, from samples to two outputs ``[logit, features]``: a logit (n, 1) that the sample is
        real and the features of a hidden layer, which the training uses. None builds the default.
    """

    def __init__(self, latent_dim: int = 100, base_filters: int = 32, hidden: Sequence[int] = (128, 64),
                 n_seeds: int = 4, search_steps: int = 10, search_learning_rate: float = 0.05,
                 generator_learning_rate: float = 1e-5, learning_rate: float = 1e-3, beta_1: float = 0.5,
                 average_decay: float = 0.99, seed: int | None = None,
                 generator: keras.Model | None = None, discriminator: keras.Model | None = None) -> None:
        super().__init__(latent_dim=latent_dim, base_filters=base_filters, hidden=hidden, n_seeds=n_seeds,
                         search_steps=search_steps, feature_weight=0.0, search_learning_rate=search_learning_rate,
                         learning_rate=learning_rate, beta_1=beta_1, average_decay=average_decay, seed=seed,
                         generator=generator, discriminator=discriminator)
        self.generator_learning_rate = generator_learning_rate

    def _check_params(self) -> None:
        super()._check_params()
        if self.generator_learning_rate < 0:
            raise ValueError(f"generator_learning_rate (γ_θ) must be >= 0; got {self.generator_learning_rate}")

    def __getstate__(self):
        """What pickling keeps: everything but the compiled search, which is rebuilt on first use (a traced
        function cannot be pickled)."""
        state = super().__getstate__()
        state.pop("_search", None)
        return state

    def _build_model(self, x: np.ndarray) -> keras.Model:
        model = super()._build_model(x)
        if self.generator is not None:
            PerCopyNetwork(model.generator)  # a generator the search cannot copy per input is refused at fit
        return model

    def get_config(self):
        config = {**super().get_config(), "generator_learning_rate": self.generator_learning_rate}
        config.pop("feature_weight")
        return config

    def latent_search(self, x, steps: int | None = None, batch_size: int = 256,
                      verbose: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """ADGAN's search for every input: ``(score, losses)``, the mean final loss over the seeds
        and each seed's final loss (n, n_seeds). ``batch_size`` is the number of searches per
        compiled call (inputs × seeds), lowered to fit ``SEARCH_MEMORY``. Starting codes are drawn
        with the detector's seed, so scores are repeatable."""
        with engine.no_gradients():  # the search's own input gradients are the only graph it records
            return self._latent_search(self._checked(x), steps, batch_size, verbose)

    def _latent_search(self, x: np.ndarray, steps: int | None, batch_size: int,
                       verbose: bool) -> tuple[np.ndarray, np.ndarray]:
        steps, z0 = self._search_start(len(x), steps)
        search = getattr(self, "_search", None)  # built on first use, for the generator it was built from
        if search is None or search.generator is not self.model_.average_generator:
            self._search = AdaptiveSearch(self.model_.average_generator)
        k = int(self.n_seeds)
        fits = SEARCH_MEMORY // (BYTES_PER_WEIGHT * self._search.network.size)
        per_call = max(1, min(batch_size, fits) // k)
        args = (engine.constant(steps), engine.constant(float(self.search_learning_rate)),
                engine.constant(float(self.generator_learning_rate)))
        bar = keras.utils.Progbar(len(x), unit_name="sample") if verbose else None
        losses = []
        for start in range(0, len(x), per_call):
            sl = slice(start, start + per_call)
            n = len(x[sl])
            loss = self._search.run(engine.constant(np.repeat(x[sl], k, axis=0)),
                                    engine.constant(z0[sl].reshape(n * k, -1)), *args)
            losses.append(ops.convert_to_numpy(loss).reshape(n, k))
            if bar is not None:
                bar.add(n)
        losses = np.concatenate(losses)
        return losses.mean(axis=1), losses
