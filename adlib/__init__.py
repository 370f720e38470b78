"""adlib: deep anomaly detection in Keras 3, the companion package of the adlib book."""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

try:
    import tensorflow  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the user's environment
    raise ImportError(
        "adlib needs TensorFlow as the Keras backend: pip install 'adlib[cpu]' (CPU) or "
        "'adlib[gpu]' / tensorflow (GPU). On Colab it is already installed.") from exc

from . import datasets, metrics, plot, profiles  # noqa: E402
from .base import Detector, Prediction, ThresholdNotSetError, load_detector  # noqa: E402
from .detectors.autoencoder import AE, DenoisingAE  # noqa: E402
from .reproducibility import seed_everything  # noqa: E402

__version__ = "0.1.0"
__all__ = ["AE", "DenoisingAE", "Detector", "Prediction", "ThresholdNotSetError", "datasets",
           "load_detector", "metrics", "plot", "profiles", "seed_everything"]
