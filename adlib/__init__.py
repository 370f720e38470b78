"""adlib: deep anomaly detection in Keras 3, the companion package of the adlib book."""
from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # the default; KERAS_BACKEND=jax or torch work too
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if os.environ["KERAS_BACKEND"] == "tensorflow" and importlib.util.find_spec("tensorflow") is None:
    # checked before Keras is imported: Keras' own import would fail first, with a bare ModuleNotFoundError
    raise ImportError(
        "adlib runs on TensorFlow by default: pip install 'adlib[cpu]' (CPU) or 'adlib[gpu]' / tensorflow "
        "(GPU), or choose JAX with KERAS_BACKEND=jax and pip install 'adlib[jax]', or PyTorch with "
        "KERAS_BACKEND=torch and pip install 'adlib[torch]'. "
        "On Colab TensorFlow is already installed.")

import keras  # noqa: E402

if keras.backend.backend() == "tensorflow":
    import tensorflow as _tf

    # Retracing notices appear whenever a new detector is trained in a loop; they are expected here.
    _tf.get_logger().setLevel("ERROR")

from . import datasets, metrics, plot, profiles, results, timing  # noqa: E402
from ._version import __version__  # noqa: E402
from .base import Detector, NumericalError, Prediction, ThresholdNotSetError, load_detector  # noqa: E402
from .detectors._keras import CollapseWarning  # noqa: E402
from .detectors.adgan import ADGAN  # noqa: E402
from .detectors.alocc import ALOCC  # noqa: E402
from .detectors.anogan import AnoGAN  # noqa: E402
from .detectors.autoencoder import AE, DenoisingAE  # noqa: E402
from .detectors.classical import KNN, OCSVM, HotellingT2, IForest  # noqa: E402
from .detectors.clustering import KMeansDetector  # noqa: E402
from .detectors.deepsvdd import DeepSVDD  # noqa: E402
from .detectors.density_ratio import DensityRatio  # noqa: E402
from .detectors.efficientgan import EfficientGAN  # noqa: E402
from .detectors.fanogan import FAnoGAN  # noqa: E402
from .detectors.ganomaly import GANomaly  # noqa: E402
from .detectors.gmm import AEGMM, VAEGMM  # noqa: E402
from .detectors.ocgan import OCGAN  # noqa: E402
from .detectors.probabilistic import GMM, NaiveBayes  # noqa: E402
from .detectors.vae import VAE  # noqa: E402
from .reproducibility import seed_everything  # noqa: E402
from .sklearn_view import OutlierDetector  # noqa: E402

__all__ = [
    "ADGAN", "AE", "AEGMM", "ALOCC", "AnoGAN", "CollapseWarning", "DeepSVDD", "DenoisingAE", "DensityRatio",
    "EfficientGAN", "FAnoGAN", "GANomaly", "GMM", "HotellingT2", "IForest", "KMeansDetector", "KNN", "NaiveBayes",
    "OCGAN", "OCSVM", "OutlierDetector", "VAE", "VAEGMM", "Detector", "NumericalError", "Prediction",
    "ThresholdNotSetError", "datasets", "load_detector", "metrics", "plot", "profiles", "results", "seed_everything",
    "timing", "__version__",
]
