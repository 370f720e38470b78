"""Autoencoders: a network trained to reconstruct normal data reconstructs anomalies badly.

Score: the mean squared reconstruction error of the top ``outlier_perc`` percent of features
(100 = all features), as in Alibi Detect's reconstruction detectors.
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from ..base import Prediction, ThresholdNotSetError, _resolve_percentile
from ..metrics import percentile_threshold
from . import _engine as engine
from ._keras import KerasDetector, SerializesNetworks, predict_in_batches, validation_seed


@keras.saving.register_keras_serializable(package="adlib")
class AutoencoderModel(SerializesNetworks, keras.Model):
    """Encoder and decoder trained on mean squared error; ``noise_std > 0`` trains them to denoise.

    Parameters
    ----------
    encoder : keras.Model
        Maps a batch of inputs to codes.
    decoder : keras.Model
        Maps codes back to the input shape.
    noise_std : float, default 0.0
        Std of the Gaussian noise added to the inputs in ``train_step`` (the target stays the clean input);
        0 trains a plain autoencoder. Validation and ``call`` always use clean inputs.
    seed : int or None, default None
        Seed of the ``keras.random.SeedGenerator`` that draws that noise; saved in the config.
    **kwargs
        Passed to ``keras.Model`` (e.g. ``name``, or what ``get_config`` saved when a model is loaded).
    """

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
        x = engine.inputs(data)
        x_in = self.noisy(x, self.seed_generator)  # x itself; x + noise for a DenoisingAE
        loss = engine.descend(self.optimizer, self.trainable_variables,
                              lambda: self.reconstruction_loss(x, x_in, training=True))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def reconstruction_loss(self, x, x_in, training=False):
        """Eq. (ae-loss): the squared error of the reconstruction of ``x_in`` against ``x``, a mean over
        the batch and over the d features or pixels."""
        return ops.mean(ops.square(x - self(x_in, training=training)))

    def noisy(self, x, seed):
        """DenoisingAE's input ``x + n``, ``n ~ N(0, noise_std^2)`` drawn with ``seed``; ``x`` itself
        for a plain autoencoder (``noise_std = 0``)."""
        if self.noise_std <= 0:
            return x
        return x + self.noise_std * keras.random.normal(ops.shape(x), seed=seed)

    def test_step(self, data):
        x = engine.inputs(data)  # the training loss, its noise drawn with a fixed seed
        self.loss_tracker.update_state(self.reconstruction_loss(x, self.noisy(x, validation_seed(self.seed))))
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        return {**super().get_config(), "noise_std": self.noise_std, "seed": self.seed, **self.networks_config()}


def _check_outlier_type(outlier_type: str) -> None:
    if outlier_type not in ("instance", "feature"):
        raise ValueError(f"outlier_type must be 'instance' or 'feature'; got {outlier_type!r}")


def top_percent_mean(feature_scores: np.ndarray, outlier_perc: float) -> np.ndarray:
    """Mean of the highest ``outlier_perc`` percent of each sample's feature scores.

    Parameters
    ----------
    feature_scores : numpy.ndarray
        Feature scores, samples first, any shape per sample (flattened here).
    outlier_perc : float
        Percentage of each sample's features to average, the highest ones: ``max(1, round(d * outlier_perc /
        100))`` of the ``d`` features. 100 averages them all; a small value lets a few badly reconstructed
        features (a local defect) decide the score.

    Returns
    -------
    numpy.ndarray
        One score per sample, shape ``(n,)``.
    """
    flat = feature_scores.reshape(len(feature_scores), -1)
    k = max(1, int(round(flat.shape[1] * outlier_perc / 100)))
    if k == flat.shape[1]:
        return flat.mean(axis=1)
    return np.sort(flat, axis=1)[:, -k:].mean(axis=1)


class ReconstructionDetector(KerasDetector):
    """Detectors scored by reconstruction error, with feature-level scores and ``outlier_perc``.

    Parameters
    ----------
    outlier_perc : float, default 100.0
        Percentage in (0, 100] of each sample's feature scores, the highest ones, whose mean is the instance
        score (:func:`top_percent_mean`); 100 is the mean over all features.
    learning_rate : float, default 1e-3
        Step size of the Adam optimiser.
    """

    stops_early_on_tables = True  # the reconstruction loss on held-out normal rows says when to stop

    has_feature_score = True

    def __init__(self, outlier_perc: float = 100.0, learning_rate: float = 1e-3) -> None:
        super().__init__(learning_rate)
        self.outlier_perc = outlier_perc

    def _check_params(self) -> None:
        super()._check_params()
        if not 0 < self.outlier_perc <= 100:
            raise ValueError(f"outlier_perc is a percentage in (0, 100]; got {self.outlier_perc}")

    def infer_threshold(self, x, percentile: float | None = None, outlier_type: str = "instance", *,
                        fpr: float | None = None, verbose: int | str = "auto") -> float:
        """Threshold at ``percentile`` (or at the false-positive rate ``fpr``) of the instance scores, or
        (``outlier_type="feature"``) of all feature scores of the reference data ``x``; the latter sets
        ``feature_threshold_``. See :meth:`adlib.Detector.infer_threshold`."""
        if outlier_type == "instance":
            return super().infer_threshold(x, percentile, fpr=fpr, verbose=verbose)
        _check_outlier_type(outlier_type)
        percentile = _resolve_percentile(percentile, fpr)
        self.feature_threshold_ = percentile_threshold(self.feature_score(x).ravel(), percentile)
        return self.feature_threshold_

    def predict(self, x, return_feature_score: bool = False, batch_size: int = 256,
                outlier_type: str = "instance", *, return_p_value: bool = False,
                verbose: int | str = "auto") -> Prediction:
        """As :meth:`Detector.predict`; ``outlier_type="feature"`` flags each feature (pixel, column)
        whose score exceeds ``feature_threshold_``, so ``is_outlier`` has the shape of ``x``."""
        if outlier_type == "instance":
            return super().predict(x, return_feature_score, batch_size, return_p_value=return_p_value,
                                   verbose=verbose)
        _check_outlier_type(outlier_type)
        if getattr(self, "feature_threshold_", None) is None:
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
        return np.asarray(predict_in_batches(self.model_, x, batch_size))

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

    Parameters
    ----------
    latent_dim : int, default 8
        Size of the code of the default networks, the bottleneck: the smaller it is, the less of its input
        the network can pass through unchanged.
    hidden : sequence of int, default (64, 32)
        Widths of the dense layers of the default table encoder; the decoder uses them in reverse. Unused for
        images.
    base_filters : int, default 16
        Filters of the first convolution of the default image networks (the DCGAN backbone, doubled at every
        stride-2 layer): their width and cost. Unused for tables.
    encoder : keras.Model or None, default None
        Your own encoder, from a batch of inputs to codes. Give both ``encoder`` and ``decoder`` or neither;
        with them, ``latent_dim``, ``hidden`` and ``base_filters`` are not used to build networks.
    decoder : keras.Model or None, default None
        Your own decoder, from codes back to the input shape.
    outlier_perc : float, default 100.0
        Percentage in (0, 100] of each sample's feature scores, the highest ones, averaged into its instance
        score; 100 averages all features.
    learning_rate : float, default 1e-3
        Step size of the Adam optimiser.
    seed : int or None, default None
        Seed of the shuffling of batches under a budget of steps (and of the training noise of
        :class:`DenoisingAE`). It does not seed the initial weights: use :func:`adlib.seed_everything`.
    """

    noise_std = 0.0  # a plain autoencoder trains on clean inputs; DenoisingAE overrides this

    def __init__(self, latent_dim: int = 8, hidden: Sequence[int] = (64, 32),
                 base_filters: int = 16, encoder: keras.Model | None = None,
                 decoder: keras.Model | None = None, outlier_perc: float = 100.0,
                 learning_rate: float = 1e-3, seed: int | None = None) -> None:
        super().__init__(outlier_perc, learning_rate)
        self.latent_dim, self.hidden, self.base_filters = latent_dim, hidden, base_filters
        self.encoder, self.decoder, self.seed = encoder, decoder, seed

    def _check_params(self) -> None:
        super()._check_params()
        if (self.encoder is None) != (self.decoder is None):
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

    Parameters
    ----------
    noise_std : float, default 0.1
        Std of the Gaussian noise added to every training input, in the units of the data (images in [0, 1],
        standardised tables); must be positive. Scoring and validation use clean inputs.
    latent_dim : int, default 8
        Size of the code of the default networks, the bottleneck: the smaller it is, the less of its input
        the network can pass through unchanged.
    hidden : sequence of int, default (64, 32)
        Widths of the dense layers of the default table encoder; the decoder uses them in reverse. Unused for
        images.
    base_filters : int, default 16
        Filters of the first convolution of the default image networks (the DCGAN backbone, doubled at every
        stride-2 layer): their width and cost. Unused for tables.
    encoder : keras.Model or None, default None
        Your own encoder, from a batch of inputs to codes. Give both ``encoder`` and ``decoder`` or neither;
        with them, ``latent_dim``, ``hidden`` and ``base_filters`` are not used to build networks.
    decoder : keras.Model or None, default None
        Your own decoder, from codes back to the input shape.
    outlier_perc : float, default 100.0
        Percentage in (0, 100] of each sample's feature scores, the highest ones, averaged into its instance
        score; 100 averages all features.
    learning_rate : float, default 1e-3
        Step size of the Adam optimiser.
    seed : int or None, default None
        Seed of the shuffling of batches under a budget of steps and of the training noise. It does not seed
        the initial weights: use :func:`adlib.seed_everything`.
    """

    def __init__(self, noise_std: float = 0.1, latent_dim: int = 8, hidden: Sequence[int] = (64, 32),
                 base_filters: int = 16, encoder: keras.Model | None = None,
                 decoder: keras.Model | None = None, outlier_perc: float = 100.0,
                 learning_rate: float = 1e-3, seed: int | None = None) -> None:
        super().__init__(latent_dim=latent_dim, hidden=hidden, base_filters=base_filters, encoder=encoder,
                         decoder=decoder, outlier_perc=outlier_perc, learning_rate=learning_rate, seed=seed)
        self.noise_std = noise_std

    def _check_params(self) -> None:
        super()._check_params()
        if self.noise_std <= 0:
            raise ValueError(f"noise_std must be positive for a denoising autoencoder; got {self.noise_std}")

    def get_config(self):
        return {**super().get_config(), "noise_std": self.noise_std}
