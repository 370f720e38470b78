"""What every Keras-trained detector shares: building on first fit, the Keras fit loop, saving as ``.keras``."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import keras
import numpy as np
from keras import ops

from .. import nets
from ..base import Detector, NumericalError
from ..timing import EpochTimer
from . import _engine as engine

MODEL_FILE = "model.keras"
BUDGET_CHUNKS = 10  # a budget of steps is shown (and timed, and logged) as this many Keras epochs


def predict_in_batches(model: keras.Model, x: np.ndarray, batch_size: int):
    """``model(x, training=False)`` in batches of ``batch_size``, through one compiled step kept on the
    model. Keras's ``predict`` builds a dataset and an iterator on every call, which for the small
    networks of tabular detectors costs more than the forward pass when data arrive in chunks
    (AEGMM, 250,000-row chunks, batches of 65,536: 0.70 million rows/s with ``predict``, 1.8 million
    with this step, measured on this project's 2-core machine).

    Parameters
    ----------
    model : keras.Model
        A built model; its ``call`` in inference mode is what is computed.
    x : numpy.ndarray
        Samples, samples first, at least one.
    batch_size : int
        Samples per compiled call.

    Returns
    -------
    numpy.ndarray or structure of them
        The outputs for all of ``x``, concatenated along the first axis.
    """
    step = getattr(model, "_adlib_predict_step", None)
    if step is None:
        step = engine.inference(lambda batch: model(batch, training=False), variables=lambda: model.variables)
        model._adlib_predict_step = step
    parts = [step(engine.constant(x[i:i + batch_size])) for i in range(0, len(x), max(1, int(batch_size)))]
    return keras.tree.map_structure(lambda *outs: np.concatenate([ops.convert_to_numpy(o) for o in outs]), *parts)


def train(model: keras.Model, x: np.ndarray, *, epochs: int | None, steps: int, batch_size: int = 64,
          shuffle: bool = True, seed: int | None = None, validation_data=None, verbose="auto", callbacks=None,
          chunks: int = BUDGET_CHUNKS):
    """``model.fit`` for ``epochs`` passes over ``x`` or, with ``epochs=None``, for ``steps`` batches.

    A budget of steps streams full batches of ``x`` (reshuffled every pass) and is shown as up to
    :data:`BUDGET_CHUNKS` Keras epochs of equal length. Returns ``(history, timer, steps per Keras
    epoch, batches per pass over x)``.

    Parameters
    ----------
    model : keras.Model
        The compiled model to train; its own ``train_step`` defines what one batch does.
    x : numpy.ndarray
        Training samples, samples first.
    epochs : int or None
        Passes over ``x`` (at least 0); None trains for ``steps`` batches instead.
    steps : int
        Batches (optimiser steps) to train for when ``epochs`` is None, at least 0; ignored otherwise.
    batch_size : int, default 64
        Samples per batch, clipped to [1, ``len(x)``]. Under a budget of steps only full batches are drawn.
    shuffle : bool, default True
        Reshuffle the samples every pass: Keras' own shuffling with ``epochs``; under a budget of steps, a
        shuffle buffer of up to 20,000 samples on TensorFlow and a full permutation on PyTorch.
    seed : int or None, default None
        Seed of the shuffle under a budget of steps (unused with ``epochs``), so that the order of
        batches can be repeated.
    validation_data : object or None, default None
        Passed to ``model.fit`` unchanged; its loss is reported as ``val_*``.
    verbose : "auto", 0, 1 or 2, default "auto"
        Keras' progress-bar setting, passed to ``model.fit``.
    callbacks : list of keras.callbacks.Callback or None, default None
        Further callbacks, run after the ``TerminateOnNaN`` and :class:`~adlib.timing.EpochTimer` that ``train``
        always adds.
    chunks : int, default :data:`BUDGET_CHUNKS`
        Keras epochs that a budget of steps is shown as (and validated, and may be stopped, after each).

    Returns
    -------
    history : keras.callbacks.History
        What ``model.fit`` returned.
    timer : adlib.timing.EpochTimer
        The wall-clock seconds of every Keras epoch.
    steps_per_epoch : int
        Batches in each Keras epoch.
    batches_per_pass : int
        ``ceil(len(x) / batch_size)``, the batches of one pass over ``x``.
    """
    batch_size = max(1, min(int(batch_size), len(x)))
    batches_per_pass = math.ceil(len(x) / batch_size)
    if epochs is not None:
        if int(epochs) < 0:
            raise ValueError(f"epochs must be >= 0; got {epochs}")
        data, plan, steps_each = x, dict(epochs=int(epochs), batch_size=batch_size, shuffle=shuffle), batches_per_pass
    else:
        if int(steps) < 0:
            raise ValueError(f"steps must be >= 0; got {steps}")
        chunks = max(1, min(int(chunks), int(steps)))
        steps_each = math.ceil(int(steps) / chunks)
        data = engine.repeated_batches(x, batch_size, shuffle, seed)
        plan = dict(epochs=chunks if steps else 0, steps_per_epoch=max(1, steps_each), shuffle=False)
    timer = EpochTimer()
    history = model.fit(data, validation_data=validation_data, verbose=verbose,
                        callbacks=[keras.callbacks.TerminateOnNaN(), timer, *(callbacks or [])], **plan)
    return history, timer, steps_each, batches_per_pass


def validation_seed(seed: int | None, offset: int = 0) -> int:
    """A fixed integer seed for the random draws of a validation step (codes, noise): stateless draws,
    the same at every evaluation of the same data, that leave the training's seed generator where it
    was, so validating does not change the training."""
    return (0 if seed is None else int(seed)) + 7919 * (offset + 1)


class SerializesNetworks(engine.StepFunctions):
    """Mixin for ``keras.Model`` subclasses whose constructor takes Keras networks (``network_keys``):
    ``networks_config`` serialises them for ``get_config`` and ``from_config`` rebuilds them. Through
    :class:`engine.StepFunctions <adlib.detectors._engine.jax.StepFunctions>`, every model's stateful
    ``train_step`` and ``test_step`` also run on JAX."""

    network_keys: tuple[str, ...] = ("encoder", "decoder")

    def networks_config(self) -> dict:
        return {key: keras.saving.serialize_keras_object(getattr(self, key)) for key in self.network_keys}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.network_keys:
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


class CollapseWarning(UserWarning):
    """A reconstruction-based detector reconstructs its training data no better than their mean image.

    Parameters
    ----------
    *args : object
        The warning message, as for any ``UserWarning``. :class:`KerasDetector` issues it after ``fit`` with one
        string that gives the ratio of the reconstruction error to the mean image's and what to try.
    """


COLLAPSE_RATIO = 0.8  # reconstruction error / error of the mean image above which fit warns


def reconstruction_ratio(x: np.ndarray, reconstruction: np.ndarray) -> float:
    """Mean squared reconstruction error over that of predicting every sample as the mean sample.

    Parameters
    ----------
    x : numpy.ndarray
        Samples, samples first.
    reconstruction : numpy.ndarray
        A model's reconstruction of ``x``, of the same shape.

    Returns
    -------
    float
        The ratio: 1 means no better than the mean sample. The mean sample's error is floored at 1e-12, so
        constant data do not divide by zero. ``fit`` warns above ``COLLAPSE_RATIO`` (0.8).
    """
    baseline = float(np.mean(np.square(x - x.mean(axis=0))))
    return float(np.mean(np.square(x - reconstruction))) / max(baseline, 1e-12)


class KerasDetector(Detector):
    """A detector whose learning lives in one ``keras.Model`` subclass (``model_``) with its own ``train_step``.

    Parameters
    ----------
    learning_rate : float, default 1e-3
        Step size of the Adam optimiser that ``model_`` is compiled with; subclasses that compile several
        optimisers use it for each.
    """

    default_steps: int = 2000  # optimiser steps that ``fit(x)`` takes when given no epochs
    # Tables only, default budget only: stop when the loss on a held-out share of the training rows stops
    # improving (see _fit). Set by the detectors whose loss measures how well they describe normal data.
    stops_early_on_tables: bool = False
    HELD_OUT_SHARE, STOP_CHUNKS, STOP_PATIENCE = 0.1, 20, 3
    table_code_size, image_code_size = 2, 16  # default code sizes of detectors with ``latent_dim=None``

    def code_size(self, x: np.ndarray) -> int:
        """``latent_dim`` if set, else the input size of the user's decoder, else a default by kind of
        data: ``table_code_size`` for tables (Alibi Detect's KDD Cup settings) and ``image_code_size``
        (16) for images, where a code of one or two numbers cannot describe an image and the
        reconstructions stay close to the mean image."""
        if self.latent_dim is not None:
            return int(self.latent_dim)
        if getattr(self, "decoder", None) is not None:
            return int(self.decoder.input_shape[-1])
        return self.table_code_size if x.ndim == 2 else self.image_code_size

    def __init__(self, learning_rate: float = 1e-3) -> None:
        super().__init__()
        self.learning_rate = learning_rate

    def _build_model(self, x: np.ndarray) -> keras.Model:
        """Create the training model, with default networks sized from ``x`` where none were given."""
        raise NotImplementedError

    def _autoencoder_networks(self, x: np.ndarray, **kwargs) -> tuple[keras.Model, keras.Model]:
        """The user's ``encoder``/``decoder`` if given, else defaults sized from ``x`` (for detectors
        with ``encoder``, ``decoder``, ``latent_dim``, ``hidden`` and ``base_filters`` settings)."""
        if self.encoder is not None:
            return self.encoder, self.decoder
        kwargs.setdefault("latent_dim", None if self.latent_dim is None else int(self.latent_dim))
        return nets.default_autoencoder(x, hidden=tuple(self.hidden),
                                        base_filters=int(self.base_filters), **kwargs)

    def _compile(self, model: keras.Model) -> None:
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate))

    def _ensure_model(self, x: np.ndarray) -> None:
        """Build and compile ``model_`` on the first fit (later fits continue training it).

        With a ``seed``, the global generators (Python, NumPy, the backend, Keras) are seeded with it
        first, as :func:`adlib.seed_everything` does, so that the initial weights, and the random draws
        of training that come from those generators, depend on the detector's seed alone, not on
        whatever drew random numbers before (another detector trained earlier in the same session).
        """
        if getattr(self, "model_", None) is None:
            seed = getattr(self, "seed", None)
            if seed is not None:
                keras.utils.set_random_seed(int(seed))
            self.model_ = self._build_model(x)
            self.model_(x[:2], training=False)  # build every layer, so saving records all weights
            self._compile(self.model_)

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        """Grey images ``(n, h, w)`` get a channel axis: the image networks take ``(n, h, w, c)``."""
        return x[..., None] if x.ndim == 3 else x

    def _fit(self, x: np.ndarray, *, epochs: int | None = None, steps: int | None = None, batch_size: int = 64,
             validation_data=None, callbacks=None, verbose="auto", shuffle: bool = True,
             steps_per_execution: int = 1) -> None:
        """Train with ``keras.Model.fit``: progress bars, callbacks and validation as in any Keras model.

        With neither ``epochs`` nor ``steps`` the detector trains for its default budget of
        ``default_steps`` optimiser steps (batches), whatever the number of samples, so that 150
        images and 20,000 images both learn; the budget is shown as ten Keras epochs of equal length.
        On tables, detectors with ``stops_early_on_tables`` hold out ``HELD_OUT_SHARE`` of the rows
        (normal data; no labels) and stop the default budget when the loss on them has not improved
        for ``STOP_PATIENCE`` of its ``STOP_CHUNKS`` chunks, keeping the best weights: 2,000 steps are
        hundreds of passes over a table of a few hundred rows, where the networks start to memorise
        their training rows (``early_stop_step_`` records where it stopped). Images keep the fixed
        budget: their image checks were tuned on it and 2,000 steps are a few passes over a
        training set of images.
        ``epochs`` trains that many passes over ``x`` instead, ``steps`` that many batches.
        ``validation_data`` is an array of normal samples (no labels); its loss is reported as ``val_*``.
        ``steps_per_execution`` runs that many batches per compiled call: the same updates, far less
        Python overhead for small networks, but batch-level callbacks then fire only once per call.
        Calling ``fit`` again continues training the same networks.
        """
        execution = int(steps_per_execution)
        if execution < 1:
            raise ValueError(f"steps_per_execution must be >= 1; got {steps_per_execution}")
        if execution > 1 and engine.BACKEND != "tensorflow":
            raise ValueError(f"steps_per_execution > 1 groups steps into one compiled call, which the "
                             f"{engine.BACKEND} backend does not do; leave it at 1 there")
        if epochs is not None and steps is not None:
            raise ValueError("pass epochs or steps, not both")
        self._ensure_model(x)
        if self.model_.steps_per_execution != execution:
            self.model_.steps_per_execution = execution
            self.model_.train_function = None  # rebuilt by fit for the new number of steps per call
        if validation_data is not None:  # validated, scaled and given a channel axis by Detector.fit
            validation_data = (validation_data,)
        chunks, stopper = BUDGET_CHUNKS, None
        if (self.stops_early_on_tables and x.ndim == 2 and epochs is None and steps is None
                and validation_data is None and len(x) >= 50):
            order = np.random.default_rng(getattr(self, "seed", None)).permutation(len(x))
            n_held = max(5, int(round(self.HELD_OUT_SHARE * len(x))))
            x, validation_data = x[order[n_held:]], (x[order[:n_held]],)
            chunks = self.STOP_CHUNKS
            stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.STOP_PATIENCE,
                                                    restore_best_weights=True)
            callbacks = [*(callbacks or []), stopper]
        run = train(self.model_, x, epochs=epochs, steps=self.default_steps if steps is None else steps,
                    batch_size=batch_size, shuffle=shuffle, seed=getattr(self, "seed", None),
                    validation_data=validation_data, verbose=verbose, callbacks=callbacks, chunks=chunks)
        if stopper is not None:  # Keras restores the weights of the best chunk, stopped early or not
            self.early_stop_step_ = (stopper.best_epoch + 1) * run[2]
        history, timer, steps_each, self.batches_per_pass_ = run
        self.epoch_seconds_ = [*getattr(self, "epoch_seconds_", []), *timer.seconds]
        self.epoch_steps_ = [*getattr(self, "epoch_steps_", []), *[steps_each] * len(timer.seconds)]
        for key, values in history.history.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        if any(not np.isfinite(v) for values in history.history.values() for v in values):
            raise NumericalError(
                f"{type(self).__name__} training produced NaN/inf losses and was stopped; "
                "lower learning_rate, standardise the inputs, or check them for extreme values.")

    def _after_fit(self, x: np.ndarray) -> None:
        """Collapse guard: warn when the reconstructions of (up to 1,000) training samples are no better
        than the training data's mean, the failure in which a decoder outputs one blank image."""
        if not hasattr(self, "reconstruct"):
            return
        sample = self._as_input_shape(x[:1000])
        self.reconstruction_ratio_ = reconstruction_ratio(sample, self.reconstruct(sample))
        if self.reconstruction_ratio_ > COLLAPSE_RATIO:
            warnings.warn(
                f"{type(self).__name__} reconstructs its training data no better than their mean image "
                f"(squared error {self.reconstruction_ratio_:.2f} times that of the mean): the decoder has "
                "collapsed and its scores mostly measure how far an input is from the average. Train longer "
                "(fit(x, steps=...)), check that images are scaled to [0, 1] (uint8 is scaled for you) or "
                "tables standardised, or lower learning_rate if the losses jumped.", CollapseWarning, stacklevel=3)

    @property
    def seconds_per_epoch(self) -> float:
        """Median wall-clock seconds of one pass over the training data, from the Keras epochs run so far
        (the first one includes compilation; under a budget of steps, scaled from seconds per step)."""
        if not getattr(self, "epoch_seconds_", None):
            raise ValueError("no epochs have been timed yet: fit the detector first")
        per_step = [s / max(1, n) for s, n in zip(self.epoch_seconds_, self.epoch_steps_)]
        return float(np.median(per_step) * self.batches_per_pass_)

    def _save_state(self, path: Path) -> None:
        self.model_.save(path / MODEL_FILE)

    def _load_state(self, path: Path) -> None:
        # safe_mode: a .keras file that carries code (a Lambda layer's bytecode) is refused, not run
        model = keras.saving.load_model(path / MODEL_FILE, compile=False, safe_mode=True)
        self._compile(model)
        self.model_ = model
