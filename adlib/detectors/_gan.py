"""What the adversarial detectors share: two optimisers, loss trackers, default networks, BCE on logits."""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from keras import ops

from .. import nets
from ._keras import KerasDetector, SerializesNetworks


def bce_logits(logits, target: float):
    """Mean binary cross-entropy of ``logits`` against a constant label (1 = real, 0 = fake)."""
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


class AdversarialModel(SerializesNetworks, keras.Model):
    """A ``keras.Model`` trained by a custom ``train_step`` with a generator-side and a
    discriminator-side optimiser; subclasses name their losses in ``loss_names``."""

    loss_names: tuple[str, ...] = ()

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}

    def compile(self, g_optimizer=None, d_optimizer=None, c_optimizer=None, **kwargs):
        """One optimiser per set of networks updated together (a Keras optimiser serves one set):
        generator side, discriminator side, and (OCGAN) a classifier."""
        super().compile(**kwargs)
        self.g_optimizer, self.d_optimizer, self.c_optimizer = g_optimizer, d_optimizer, c_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _step(self, tape, loss, variables, optimizer) -> None:
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    def _report(self, **losses):
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: self.trackers[name].result() for name in losses}

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, **self.networks_config()}


def averaged_copy(network: keras.Model) -> keras.Model:
    """A network of the same architecture and weights as ``network``, to hold its moving average."""
    copy = keras.models.clone_model(network)
    copy.set_weights(network.get_weights())
    if [w.shape for w in copy.weights] != [w.shape for w in network.weights]:
        raise RuntimeError(f"the copy of {network.name} does not list its weights in the same order")
    return copy


def checked_average_decay(decay: float) -> float:
    """``average_decay`` as a float, or a clear error: it must lie in [0, 1) (0 = no averaging)."""
    if not 0 <= decay < 1:
        raise ValueError(f"average_decay must be in [0, 1); got {decay}")
    return float(decay)


class AveragesWeights:
    """Mixin for models that keep an exponential moving average of some networks' weights (Yazıcı et
    al., ICLR 2019): a GAN's last iterate jitters from step to step; the average is steadier."""

    def _init_average(self, decay: float) -> None:
        self.average_decay = float(decay)
        self.average_updates = keras.Variable(0.0, trainable=False, name="average_updates")

    def _update_average(self, *pairs) -> None:
        """average <- decay·average + (1 - decay)·current for every ``(average, current)`` pair of
        networks, over all weights. BatchNorm's moving statistics are averaged too, so the averaged
        network normalises with a smoothed version of the trained one's statistics (not statistics
        of its own activations). The decay at step t is min(average_decay, (1 + t) / (10 + t)), so
        that the average forgets the random initial weights within the first steps: the cap 0.99
        is reached after 890 steps; at step 250 the decay is 0.965, an average over roughly the
        last 30 steps."""
        t = self.average_updates
        decay = ops.minimum(self.average_decay, (1.0 + t) / (10.0 + t))
        for average_net, net in pairs:
            for average, current in zip(average_net.weights, net.weights):
                average.assign(decay * average + (1.0 - decay) * ops.cast(current, average.dtype))
        t.assign_add(1.0)


class AdversarialDetector(KerasDetector):
    """Keras detector trained with two Adam optimisers (``learning_rate``, ``beta_1``) whose default
    networks are the DCGAN backbone for images of any size and MLPs for tables."""

    def __init__(self, latent_dim: int = 100, base_filters: int = 32, hidden: Sequence[int] = (128, 64),
                 learning_rate: float = 2e-4, beta_1: float = 0.5, seed: int | None = None) -> None:
        super().__init__(learning_rate)
        if latent_dim < 1 or base_filters < 1:
            raise ValueError(f"latent_dim and base_filters must be positive; got {latent_dim}, {base_filters}")
        self.latent_dim, self.base_filters, self.hidden = int(latent_dim), int(base_filters), tuple(hidden)
        self.beta_1, self.seed = float(beta_1), seed

    def get_config(self):
        return {"latent_dim": self.latent_dim, "base_filters": self.base_filters, "hidden": list(self.hidden),
                "learning_rate": self.learning_rate, "beta_1": self.beta_1, "seed": self.seed}

    def _networks(self, x: np.ndarray, encoder_activation: str | None = None):
        return nets.gan_networks(x, latent_dim=self.latent_dim, hidden=self.hidden,
                                 base_filters=self.base_filters, encoder_activation=encoder_activation)

    def _optimizer(self):
        return keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1)

    def _compile(self, model: keras.Model) -> None:
        model.compile(g_optimizer=self._optimizer(), d_optimizer=self._optimizer(), c_optimizer=self._optimizer())

    def _predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """``model_.predict`` (inference mode: BatchNorm uses its training statistics)."""
        return np.asarray(self.model_.predict(x, batch_size=batch_size, verbose=0))

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return self._predict(x, batch_size)

    def _through(self, x, *networks: str, batch_size: int = 256) -> np.ndarray:
        """``x`` passed through the named networks of ``model_`` in turn, in inference mode
        (e.g. ``"encoder", "generator"`` gives G(E(x)))."""
        out = self._checked(x)
        for name in networks:
            out = getattr(self.model_, name).predict(out, batch_size=batch_size, verbose=0)
        return np.asarray(out)

    def _reconstruction(self, x, *networks: str, batch_size: int = 256) -> np.ndarray:
        """:meth:`_through` for networks that end in an image, returned in the shape of the user's samples."""
        return self._as_input_shape(self._through(x, *networks, batch_size=batch_size))
