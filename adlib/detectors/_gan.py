"""What the adversarial detectors share: two optimisers, loss trackers, default networks, BCE on logits."""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from .. import nets
from . import _engine as engine
from ._keras import KerasDetector, SerializesNetworks, predict_in_batches, validation_seed


def bce_logits(logits, target: float):
    """Mean binary cross-entropy of ``logits`` against a constant label (1 = real, 0 = fake).

    Parameters
    ----------
    logits : tensor
        Discriminator outputs before the sigmoid, any shape.
    target : float
        The label that every logit is compared with: 1.0 for "real", 0.0 for "fake".

    Returns
    -------
    tensor
        A scalar, the cross-entropy averaged over all logits.
    """
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


class AdversarialModel(SerializesNetworks, keras.Model):
    """A ``keras.Model`` trained by a custom ``train_step`` with a generator-side and a
    discriminator-side optimiser; subclasses name their losses in ``loss_names``.

    Parameters
    ----------
    seed : int or None, default None
        Seed of the model's ``keras.random.SeedGenerator``, from which the training steps draw their codes and
        noise, so that a training run can be repeated; saved in the config.
    **kwargs
        Passed to ``keras.Model`` (e.g. ``name``, or what ``get_config`` saved when a model is loaded).
    """

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

    def test_step(self, data):
        """The losses of one training step on validation data, without updating anything (Keras reports
        them as ``val_*``): see each model's :meth:`validation_losses`."""
        x = engine.inputs(data)
        return self._report(**self.validation_losses(x))

    def validation_losses(self, x) -> dict:
        """The named losses of ``train_step`` on ``x`` in inference mode, with the random draws of a
        step (codes, noise) taken from :meth:`validation_seed`, so that every evaluation of the same
        data draws the same ones and the training draws are left as they would be without validation."""
        raise NotImplementedError

    def validation_seed(self, offset: int = 0) -> int:
        """A fixed integer seed for the random draws of :meth:`validation_losses` (stateless draws)."""
        return validation_seed(self.seed, offset)

    def _report(self, **losses):
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: self.trackers[name].result() for name in losses}

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, **self.networks_config()}


def averaged_copy(network: keras.Model) -> keras.Model:
    """A network of the same architecture and weights as ``network``, to hold its moving average.

    Parameters
    ----------
    network : keras.Model
        The network to copy (e.g. the generator); it is not changed.

    Returns
    -------
    keras.Model
        A clone with ``network``'s current weights. A ``RuntimeError`` is raised if the clone lists its
        weights in another order, which would pair the wrong weights when averaging.
    """
    copy = keras.models.clone_model(network)
    copy.set_weights(network.get_weights())
    if [w.shape for w in copy.weights] != [w.shape for w in network.weights]:
        raise RuntimeError(f"the copy of {network.name} does not list its weights in the same order")
    return copy


def checked_average_decay(decay: float) -> float:
    """``average_decay`` as a float, or a clear error: it must lie in [0, 1) (0 = no averaging).

    Parameters
    ----------
    decay : float
        The decay of the moving average of weights; 0 keeps the last weights (no averaging).

    Returns
    -------
    float
        ``decay``; a ``ValueError`` is raised outside [0, 1).
    """
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
    networks are the DCGAN backbone for images of any size and MLPs for tables.

    Parameters
    ----------
    latent_dim : int, default 100
        Size of the code: the encoder's output and the generator's input in the default networks. At least 1.
    base_filters : int, default 32
        Filters of the first convolution of the DCGAN backbone (doubled at every stride-2 layer), so it sets
        the width and cost of the image networks; unused for tables. At least 1.
    hidden : sequence of int, default (128, 64)
        Widths of the dense layers of the table networks (encoder and discriminator in this order, the
        generator in reverse); unused for images.
    learning_rate : float, default 2e-4
        Step size of every Adam optimiser of the model (generator side, discriminator side, classifier).
    beta_1 : float, default 0.5
        Adam's ``beta_1`` for those optimisers; DCGAN's 0.5 damps momentum, which steadies the GAN game.
    seed : int or None, default None
        Seed of the model's random draws in training (codes, noise) and of the shuffling of batches under a
        budget of steps. It does not seed the initial weights: use :func:`adlib.seed_everything` for that.
    """

    # The user networks a detector takes as constructor arguments (None: the default network).
    network_params: tuple[str, ...] = ()
    joint_discriminator = False  # True where the discriminator judges pairs [x, z] (BiGAN)

    def __init__(self, latent_dim: int = 100, base_filters: int = 32, hidden: Sequence[int] = (128, 64),
                 learning_rate: float = 2e-4, beta_1: float = 0.5, seed: int | None = None) -> None:
        super().__init__(learning_rate)
        self.latent_dim, self.base_filters, self.hidden = latent_dim, base_filters, hidden
        self.beta_1, self.seed = beta_1, seed

    def _check_params(self) -> None:
        super()._check_params()
        if self.latent_dim < 1 or self.base_filters < 1:
            raise ValueError(f"latent_dim and base_filters must be positive; got {self.latent_dim}, {self.base_filters}")
        for role in self.network_params:
            network = getattr(self, role)
            if network is not None and not isinstance(network, keras.Model):
                raise TypeError(f"{role} must be a keras.Model (or None for the default); got {type(network).__name__}")

    def get_config(self):
        return {"latent_dim": self.latent_dim, "base_filters": self.base_filters, "hidden": list(self.hidden),
                "learning_rate": self.learning_rate, "beta_1": self.beta_1, "seed": self.seed}

    def code_size(self, x: np.ndarray) -> int:
        """The size of the code: the input of the user's generator (or decoder), else the output of the
        user's encoder, else ``latent_dim``. Default networks built beside a user's network take its size."""
        for role, side in (("generator", "input_shape"), ("decoder", "input_shape"), ("encoder", "output_shape")):
            network = getattr(self, role, None)
            if network is not None:
                try:
                    return int(getattr(network, side)[-1])
                except (AttributeError, TypeError, ValueError) as err:  # a subclassed model that was never built
                    raise ValueError(f"the {side.split('_')[0]} size of {role} {network.name!r} is unknown: build "
                                     "it with keras.Input (a functional or Sequential model)") from err
        return int(self.latent_dim)

    def _networks(self, x: np.ndarray, encoder_activation: str | None = None):
        """``(encoder, generator, discriminator)``: the default networks sized from ``x`` (the DCGAN
        backbone for images, MLPs for tables), each replaced by the user's network of that role where one
        was given (the generator's role is called ``decoder`` in the detectors whose papers call it so)."""
        latent = self.code_size(x)
        encoder, generator, discriminator = nets.gan_networks(
            x, latent_dim=latent, hidden=tuple(self.hidden), base_filters=int(self.base_filters),
            encoder_activation=encoder_activation)
        return (self._user_network("encoder", x, latent, default=encoder),
                self._user_network("generator", x, latent, default=self._user_network("decoder", x, latent,
                                                                                     default=generator)),
                self._user_network("discriminator", x, latent, default=discriminator))

    def _user_network(self, role: str, x: np.ndarray, latent: int, default: keras.Model | None = None):
        """The user's network for ``role`` (one of ``network_params``), checked against the data, or
        ``default`` when none was given."""
        network = getattr(self, role, None) if role in self.network_params else None
        if network is None:
            return default
        sample, code = x[:2], np.zeros((min(2, len(x)), latent), dtype="float32")
        item, kind = x.shape[1:], "images" if x.ndim == 4 else "rows"
        if role == "encoder":
            nets.check_network(network, role, sample, [(latent,)], f"{kind} of shape {item} to codes of size {latent}")
        elif role in ("generator", "decoder"):
            nets.check_network(network, role, code, [item], f"codes of size {latent} to {kind} of shape {item}")
        elif role == "discriminator" and self.joint_discriminator:
            nets.check_network(network, role, [sample, code], [(1,), None],
                               f"pairs [{kind} of shape {item}, codes of size {latent}] to [logit of shape (1,), "
                               "features]")
        else:
            nets.check_network(network, role, sample, [(1,), None],
                               f"{kind} of shape {item} to [logit of shape (1,), features]")
        return network

    def _optimizer(self):
        return keras.optimizers.Adam(self.learning_rate, beta_1=float(self.beta_1))

    def _compile(self, model: keras.Model) -> None:
        model.compile(g_optimizer=self._optimizer(), d_optimizer=self._optimizer(), c_optimizer=self._optimizer())

    def _predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """``model_.predict`` (inference mode: BatchNorm uses its training statistics)."""
        return np.asarray(predict_in_batches(self.model_, x, batch_size))

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
