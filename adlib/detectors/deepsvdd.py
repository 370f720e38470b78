"""Deep SVDD (Ruff et al., ICML 2018): map normal data into a small hypersphere.

A network φ is trained so that φ(x) of normal data lies close to a fixed centre c; the score is
``‖φ(x) - c‖²``. Two details keep the solution from collapsing to a constant map: φ has no bias
terms (and BatchNorm without learned shift), and c is fixed from an initial forward pass and kept
away from zero. Optional autoencoder pretraining of φ gives a better starting point (default on).
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from .. import nets
from . import _engine as engine
from ._keras import KerasDetector, SerializesNetworks, predict_in_batches, train
from .autoencoder import AutoencoderModel


def bias_free_network(x: np.ndarray, rep_dim: int, hidden: Sequence[int], base_filters: int) -> keras.Model:
    """φ without bias terms: DCGAN convolutions (BatchNorm without shift or scale) for
    images, dense layers for tables.

    Parameters
    ----------
    x : numpy.ndarray
        A batch of training data: images (n, h, w, c) get the DCGAN encoder, tables (n, d) dense LeakyReLU
        layers. Other shapes raise ``ValueError``.
    rep_dim : int
        Size of φ's output.
    hidden : sequence of int
        Widths of the dense layers for tables.
    base_filters : int
        Filters of the first convolution for images (doubled at every stride-2 layer).

    Returns
    -------
    keras.Model
        φ, named ``"phi"``.
    """
    if x.ndim == 4:
        return nets.dcgan_encoder(x.shape[1:], rep_dim, base_filters=base_filters, use_bias=False, name="phi")
    if x.ndim == 2:
        x_in = keras.Input((x.shape[1],), name="x")
        h = x_in
        for units in hidden:
            h = layers.LeakyReLU(0.1)(layers.Dense(units, use_bias=False)(h))
        return keras.Model(x_in, layers.Dense(rep_dim, use_bias=False, name="code")(h), name="phi")
    raise ValueError(f"Deep SVDD networks exist for tables (n, d) and images (n, h, w[, c]); got {x.shape}")


@keras.saving.register_keras_serializable(package="adlib")
class DeepSVDDModel(SerializesNetworks, keras.Model):
    """φ and the fixed centre c; the one-class objective ``mean ‖φ(x) - c‖²``.

    Parameters
    ----------
    network : keras.Model
        φ (see :func:`bias_free_network`); the centre has its output size and starts at zero until it is set.
    **kwargs
        Passed to ``keras.Model`` (e.g. ``name``, or what ``get_config`` saved when a model is loaded).
    """

    network_keys = ("network",)

    def __init__(self, network: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        rep_dim = int(network.output_shape[-1])
        self.center = self.add_weight(shape=(rep_dim,), initializer="zeros", trainable=False, name="center")
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def call(self, x, training=False):
        return ops.sum(ops.square(self.network(x, training=training) - self.center), axis=-1)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        x = engine.inputs(data)
        loss = engine.descend(self.optimizer, self.network.trainable_variables, lambda: ops.mean(self(x, training=True)))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        """The one-class loss on validation data, without updating anything (reported as ``val_loss``)."""
        x = engine.inputs(data)
        self.loss_tracker.update_state(ops.mean(self(x, training=False)))
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        return {**super().get_config(), **self.networks_config()}


IMAGE_LEARNING_RATE, TABLE_LEARNING_RATE = 1e-4, 1e-3  # default step sizes of the one-class training


class DeepSVDD(KerasDetector):
    """One-class Deep SVDD. Autoencoder pretraining (φ as the encoder) comes before the centre is
    fixed: ``pretrain_epochs`` passes or ``pretrain_steps`` batches, by default (both None) the same
    budget as the first ``fit``, so that ``fit(x, steps=250)`` costs 250 pretraining and 250 training
    steps. ``weight_decay`` is Adam's (the paper: 1e-6); ``eps`` keeps every coordinate of c at least
    that far from zero.

    Parameters
    ----------
    rep_dim : int, default 32
        Size (>= 1) of φ's output, the space of the hypersphere.
    hidden : sequence of int, default (64, 32)
        Widths of φ's dense layers for tables (the pretraining decoder uses them in reverse); unused for images.
    base_filters : int, default 16
        Filters of the first convolution of φ and of the pretraining decoder for images; unused for tables.
    pretrain : bool, default True
        Pretrain φ as an autoencoder's encoder (Adam, step size 1e-3) before the centre is fixed. It runs
        once, when the first ``fit`` builds the networks; a budget of 0 skips it.
    pretrain_epochs : int or None, default None
        Passes (>= 0) of pretraining; takes precedence over ``pretrain_steps``.
    pretrain_steps : int or None, default None
        Batches (>= 0) of pretraining. With both None, the budget of the first ``fit``.
    eps : float, default 0.1
        Least absolute value (> 0) of every coordinate of the centre c.
    weight_decay : float, default 1e-6
        Adam's weight decay in the one-class training (0 switches it off).
    learning_rate : float or None, default None
        Adam step size of the one-class training (not of the pretraining). None: 1e-4 for images (the
        paper's) and 1e-3 for tables, where 1e-4 leaves the one-class loss far from converged after the
        default 2,000 steps (on benchmarks/table_suite.py, 1e-3 raised the AUROC on the correlated table
        from 0.77 to 0.97 and on KDD http from 0.63 to 0.94).
    seed : int or None, default None
        Seed of the shuffling of batches under a budget of steps, in pretraining and training. It does not
        seed the initial weights: use :func:`adlib.seed_everything`.
    """

    def __init__(self, rep_dim: int = 32, hidden: Sequence[int] = (64, 32), base_filters: int = 16,
                 pretrain: bool = True, pretrain_epochs: int | None = None, pretrain_steps: int | None = None,
                 eps: float = 0.1, weight_decay: float = 1e-6, learning_rate: float | None = None,
                 seed: int | None = None) -> None:
        super().__init__(learning_rate)
        self.rep_dim, self.hidden, self.base_filters = rep_dim, hidden, base_filters
        self.pretrain, self.pretrain_epochs, self.pretrain_steps = pretrain, pretrain_epochs, pretrain_steps
        self.eps, self.weight_decay, self.seed = eps, weight_decay, seed

    def _check_params(self) -> None:
        super()._check_params()
        rep_dim, eps, pretrain_epochs, pretrain_steps = self.rep_dim, self.eps, self.pretrain_epochs, self.pretrain_steps
        if rep_dim < 1 or eps <= 0 or (pretrain_epochs or 0) < 0 or (pretrain_steps or 0) < 0:
            raise ValueError(f"rep_dim must be >= 1, eps > 0, pretrain_epochs and pretrain_steps >= 0; "
                             f"got {rep_dim}, {eps}, {pretrain_epochs}, {pretrain_steps}")

    def get_config(self):
        return {"rep_dim": self.rep_dim, "hidden": list(self.hidden), "base_filters": self.base_filters,
                "pretrain": self.pretrain, "pretrain_epochs": self.pretrain_epochs,
                "pretrain_steps": self.pretrain_steps, "eps": self.eps,
                "weight_decay": self.weight_decay, "learning_rate": self.learning_rate, "seed": self.seed}

    def one_class_learning_rate(self, model: keras.Model) -> float:
        """``learning_rate``, or by default 1e-3 for a network on tables and 1e-4 for one on images."""
        if self.learning_rate is not None:
            return self.learning_rate
        return TABLE_LEARNING_RATE if len(model.network.input_shape) == 2 else IMAGE_LEARNING_RATE

    def _compile(self, model: keras.Model) -> None:
        model.compile(optimizer=keras.optimizers.Adam(self.one_class_learning_rate(model),
                                                      weight_decay=float(self.weight_decay) or None))

    def _fit(self, x: np.ndarray, *, epochs: int | None = None, steps: int | None = None, **kwargs) -> None:
        self._budget = (epochs, steps)  # the pretraining budget when neither pretrain_* is set
        super()._fit(x, epochs=epochs, steps=steps, **kwargs)

    def _pretrain_budget(self) -> tuple[int | None, int]:
        """``(epochs, steps)`` of pretraining: the ``pretrain_*`` settings, else the first fit's budget."""
        if self.pretrain_epochs is not None or self.pretrain_steps is not None:
            epochs = None if self.pretrain_epochs is None else int(self.pretrain_epochs)
            return epochs, self.default_steps if self.pretrain_steps is None else int(self.pretrain_steps)
        epochs, steps = getattr(self, "_budget", (None, None))
        return epochs, self.default_steps if steps is None else steps

    def _build_model(self, x: np.ndarray) -> keras.Model:
        network = bias_free_network(x, int(self.rep_dim), tuple(self.hidden), int(self.base_filters))
        epochs, steps = self._pretrain_budget()
        if self.pretrain and (epochs if epochs is not None else steps):
            self._pretrain(network, x, epochs, steps)
        model = DeepSVDDModel(network)
        model.center.assign(self._initial_center(network, x))
        return model

    def _pretrain(self, network: keras.Model, x: np.ndarray, epochs: int | None, steps: int) -> None:
        """Train φ as the encoder of an autoencoder for ``epochs`` passes or ``steps`` batches (the
        decoder is thrown away afterwards)."""
        if x.ndim == 4:
            decoder = nets.dcgan_decoder(int(self.rep_dim), x.shape[1:], base_filters=int(self.base_filters),
                                         output_activation=nets.output_activation_for(x))
        else:
            decoder = nets.dense_decoder(int(self.rep_dim), tuple(self.hidden)[::-1], x.shape[1])
        autoencoder = AutoencoderModel(network, decoder, seed=self.seed)
        autoencoder.compile(optimizer=keras.optimizers.Adam(1e-3))
        history = train(autoencoder, x, epochs=epochs, steps=steps, seed=self.seed, verbose=0)[0]
        self.history_["pretrain_loss"] = [float(v) for v in history.history["loss"]]

    def _initial_center(self, network: keras.Model, x: np.ndarray) -> np.ndarray:
        """Mean of φ over the training data (inference mode), coordinates pushed to at least ``eps``."""
        center = np.asarray(network.predict(x, batch_size=256, verbose=0)).mean(axis=0)
        eps = float(self.eps)
        center[(np.abs(center) < eps) & (center < 0)] = -eps
        center[(np.abs(center) < eps) & (center >= 0)] = eps
        return center.astype(np.float32)

    @property
    def center_(self) -> np.ndarray:
        return ops.convert_to_numpy(self.model_.center)

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return np.asarray(predict_in_batches(self.model_, x, batch_size))

    def embed(self, x, batch_size: int = 256) -> np.ndarray:
        """φ(x), for plots of the hypersphere."""
        return np.asarray(self.model_.network.predict(self._checked(x), batch_size=batch_size, verbose=0))
