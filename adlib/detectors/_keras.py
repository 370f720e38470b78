"""What every Keras-trained detector shares: building on first fit, the Keras fit loop, saving as ``.keras``."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from .. import nets
from .._checks import as_float_array
from ..base import Detector
from ..timing import EpochTimer

MODEL_FILE = "model.keras"


class SerializesNetworks:
    """Mixin for ``keras.Model`` subclasses whose constructor takes Keras networks (``network_keys``):
    ``networks_config`` serialises them for ``get_config`` and ``from_config`` rebuilds them."""

    network_keys: tuple[str, ...] = ("encoder", "decoder")

    def networks_config(self) -> dict:
        return {key: keras.saving.serialize_keras_object(getattr(self, key)) for key in self.network_keys}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.network_keys:
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


class KerasDetector(Detector):
    """A detector whose learning lives in one ``keras.Model`` subclass (``model_``) with its own ``train_step``."""

    def __init__(self, learning_rate: float = 1e-3) -> None:
        super().__init__()
        self.learning_rate = learning_rate
        self.model_: keras.Model | None = None
        self.epoch_seconds_: list[float] = []

    def _build_model(self, x: np.ndarray) -> keras.Model:
        """Create the training model, with default networks sized from ``x`` where none were given."""
        raise NotImplementedError

    def _autoencoder_networks(self, x: np.ndarray, **kwargs) -> tuple[keras.Model, keras.Model]:
        """The user's ``encoder``/``decoder`` if given, else defaults sized from ``x`` (for detectors
        with ``encoder``, ``decoder``, ``latent_dim``, ``hidden`` and ``filters`` settings)."""
        if self.encoder is not None:
            return self.encoder, self.decoder
        return nets.default_autoencoder(x, latent_dim=self.latent_dim, hidden=self.hidden,
                                        filters=self.filters, **kwargs)

    def _compile(self, model: keras.Model) -> None:
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate))

    def _ensure_model(self, x: np.ndarray) -> None:
        """Build and compile ``model_`` on the first fit (later fits continue training it)."""
        if self.model_ is None:
            self.model_ = self._build_model(x)
            self.model_(x[:2], training=False)  # build every layer, so saving records all weights
            self._compile(self.model_)

    def _fit(self, x: np.ndarray, *, epochs: int = 10, batch_size: int = 64, validation_data=None,
             callbacks=None, verbose="auto", shuffle: bool = True, steps_per_execution: int = 1) -> None:
        """Train with ``keras.Model.fit``: progress bars, callbacks and validation as in any Keras model.

        ``validation_data`` is an array of normal samples (no labels); its loss is reported as ``val_*``.
        ``steps_per_execution`` runs that many batches per compiled call: the same updates, far less
        Python overhead for small networks, but batch-level callbacks then fire only once per call.
        Calling ``fit`` again continues training the same networks.
        """
        steps = int(steps_per_execution)
        if steps < 1:
            raise ValueError(f"steps_per_execution must be >= 1; got {steps_per_execution}")
        self._ensure_model(x)
        if self.model_.steps_per_execution != steps:
            self.model_.steps_per_execution = steps
            self.model_.train_function = None  # rebuilt by fit for the new number of steps per call
        if validation_data is not None:
            validation_data = (self._validate_like(validation_data, x),)
        timer = EpochTimer()
        history = self.model_.fit(x, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                                  validation_data=validation_data, verbose=verbose,
                                  callbacks=[keras.callbacks.TerminateOnNaN(), timer, *(callbacks or [])])
        self.epoch_seconds_.extend(timer.seconds)
        for key, values in history.history.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        if any(not np.isfinite(v) for values in history.history.values() for v in values):
            raise FloatingPointError(
                f"{type(self).__name__} training produced NaN/inf losses and was stopped; "
                "lower learning_rate, standardise the inputs, or check them for extreme values.")

    @staticmethod
    def _validate_like(x_val, x_train: np.ndarray) -> np.ndarray:
        return as_float_array(x_val, name="validation_data", expected_shape=x_train.shape[1:])

    @property
    def seconds_per_epoch(self) -> float:
        """Median wall-clock seconds of the training epochs run so far (the first one includes compilation)."""
        if not self.epoch_seconds_:
            raise ValueError("no epochs have been timed yet: fit the detector first")
        return float(np.median(self.epoch_seconds_))

    def _save_state(self, path: Path) -> None:
        self.model_.save(path / MODEL_FILE)

    def _load_state(self, path: Path) -> None:
        model = keras.saving.load_model(path / MODEL_FILE, compile=False)
        self._compile(model)
        self.model_ = model
