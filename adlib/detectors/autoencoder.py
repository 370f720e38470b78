"""Autoencoders: a network trained to reconstruct normal data reconstructs anomalies badly.

Score: the mean squared reconstruction error of the top ``outlier_perc`` percent of features
(100 = all features), as in Alibi Detect's reconstruction detectors.
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..base import Prediction, ThresholdNotSetError
from ..metrics import percentile_threshold
from ._keras import KerasDetector, SerializesNetworks


@keras.saving.register_keras_serializable(package="adlib")
class AutoencoderModel(SerializesNetworks, keras.Model):
    """Encoder and decoder trained on mean squared error; ``noise_std > 0`` trains them to denoise."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, noise_std: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.noise_std, self.seed = float(noise_std), seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def call(self, x, training=False):
        return self.decoder(self.encoder(x, training=training), training=training)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        x_in = x
        if self.noise_std > 0:  # DenoisingAE: the network sees x + n, n ~ N(0, noise_std^2), and rebuilds x
            x_in = x + self.noise_std * keras.random.normal(ops.shape(x), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            # eq. (ae-loss): the squared error, a mean over the batch and over the d features or pixels
            loss = ops.mean(ops.square(x - self(x_in, training=True)))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        self.loss_tracker.update_state(ops.mean(ops.square(x - self(x, training=False))))
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        return {**super().get_config(), "noise_std": self.noise_std, "seed": self.seed, **self.networks_config()}


def _check_outlier_type(outlier_type: str) -> None:
    if outlier_type not in ("instance", "feature"):
        raise ValueError(f"outlier_type must be 'instance' or 'feature'; got {outlier_type!r}")


def top_percent_mean(feature_scores: np.ndarray, outlier_perc: float) -> np.ndarray:
    """Mean of the highest ``outlier_perc`` percent of each sample's feature scores."""
    flat = feature_scores.reshape(len(feature_scores), -1)
    k = max(1, int(round(flat.shape[1] * outlier_perc / 100)))
    if k == flat.shape[1]:
        return flat.mean(axis=1)
    return np.sort(flat, axis=1)[:, -k:].mean(axis=1)


class ReconstructionDetector(KerasDetector):
    """Detectors scored by reconstruction error, with feature-level scores and ``outlier_perc``."""

    has_feature_score = True

    def __init__(self, outlier_perc: float = 100.0, learning_rate: float = 1e-3) -> None:
        super().__init__(learning_rate)
        if not 0 < outlier_perc <= 100:
            raise ValueError(f"outlier_perc is a percentage in (0, 100]; got {outlier_perc}")
        self.outlier_perc = float(outlier_perc)
        self.feature_threshold_: float | None = None

    def infer_threshold(self, x, percentile: float = 95.0, outlier_type: str = "instance") -> float:
        """Threshold at ``percentile`` of the instance scores, or (``outlier_type="feature"``) of all
        feature scores of the reference data ``x``; the latter sets ``feature_threshold_``."""
        if outlier_type == "instance":
            return super().infer_threshold(x, percentile)
        _check_outlier_type(outlier_type)
        if not 0 <= percentile <= 100:
            raise ValueError(f"percentile must be in [0, 100]; got {percentile}")
        self.feature_threshold_ = percentile_threshold(self.feature_score(x).ravel(), percentile)
        return self.feature_threshold_

    def predict(self, x, return_feature_score: bool = False, batch_size: int = 256,
                outlier_type: str = "instance") -> Prediction:
        """As :meth:`Detector.predict`; ``outlier_type="feature"`` flags each feature (pixel, column)
        whose score exceeds ``feature_threshold_``, so ``is_outlier`` has the shape of ``x``."""
        if outlier_type == "instance":
            return super().predict(x, return_feature_score, batch_size)
        _check_outlier_type(outlier_type)
        if self.feature_threshold_ is None:
            raise ThresholdNotSetError("no feature-level threshold: call "
                                       "infer_threshold(x_ref, percentile, outlier_type='feature') first")
        scores, feature = self._score_with_features(self._checked(x), batch_size)
        feature = self._as_input_shape(np.asarray(feature, dtype=np.float64))
        return Prediction(np.asarray(scores, dtype=np.float64), (feature > self.feature_threshold_).astype(int),
                          self.feature_threshold_, feature)

    def reconstruct(self, x, batch_size: int = 256) -> np.ndarray:
        """The model's reconstruction of ``x`` (inference mode: no noise, no batch statistics)."""
        return self._as_input_shape(self._reconstruct(self._checked(x), batch_size))

    def _reconstruct(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return np.asarray(self.model_.predict(x, batch_size=batch_size, verbose=0))

    def _feature_score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return np.square(x - self._reconstruct(x, batch_size))

    def _scores_from_features(self, feature_scores: np.ndarray) -> np.ndarray:
        return top_percent_mean(feature_scores, self.outlier_perc)

    def _score(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return self._scores_from_features(self._feature_score(x, batch_size))


class AE(ReconstructionDetector):
    """Autoencoder detector. Dense networks for tables (n, d); convolutional ones for images (n, h, w, c).

    Pass your own ``encoder``/``decoder`` (Keras models) to replace the defaults. Image decoders end
    in a sigmoid when the training images lie in [0, 1], otherwise every output is linear.
    """

    noise_std = 0.0  # a plain autoencoder trains on clean inputs; DenoisingAE overrides this

    def __init__(self, latent_dim: int = 8, hidden: Sequence[int] = (64, 32),
                 base_filters: int = 16, encoder: keras.Model | None = None,
                 decoder: keras.Model | None = None, outlier_perc: float = 100.0,
                 learning_rate: float = 1e-3, seed: int | None = None) -> None:
        super().__init__(outlier_perc, learning_rate)
        self.latent_dim, self.hidden, self.base_filters = int(latent_dim), tuple(hidden), int(base_filters)
        self.encoder, self.decoder, self.seed = encoder, decoder, seed
        if (encoder is None) != (decoder is None):
            raise ValueError("pass both encoder and decoder, or neither (to use the defaults)")

    def get_config(self):
        return {"latent_dim": self.latent_dim, "hidden": list(self.hidden), "base_filters": self.base_filters,
                "outlier_perc": self.outlier_perc, "learning_rate": self.learning_rate, "seed": self.seed}

    def _build_model(self, x: np.ndarray) -> keras.Model:
        encoder, decoder = self._autoencoder_networks(x)
        return AutoencoderModel(encoder, decoder, noise_std=self.noise_std, seed=self.seed)


class DenoisingAE(AE):
    """Autoencoder trained to recover clean inputs from copies with Gaussian noise of std ``noise_std``.

    Denoising keeps the network from learning the identity, so reconstructions stay close to the
    training data's manifold and off-manifold inputs reconstruct worse (Vincent et al., 2008).
    """

    def __init__(self, noise_std: float = 0.1, **kwargs) -> None:
        super().__init__(**kwargs)
        if noise_std <= 0:
            raise ValueError(f"noise_std must be positive for a denoising autoencoder; got {noise_std}")
        self.noise_std = float(noise_std)

    def get_config(self):
        return {**super().get_config(), "noise_std": self.noise_std}
