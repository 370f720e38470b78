"""``fit(x, validation_data=x_val)``: validating changes nothing in the training itself, validation images are
scaled like the training images, and validation data of another shape is refused. (That every Keras
detector reports its validation losses as ``val_*``, on tables, on grey images given as ``(n, h, w)`` and
on images with a channel axis, is part of tests/test_backends.py.)"""
import warnings

import keras
import numpy as np
import pytest

import adlib
from tests.conftest import blob_images

STEPS = 4


def _fit(name: str, x: np.ndarray, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", adlib.CollapseWarning)
        return getattr(adlib, name)(seed=0).fit(x, steps=STEPS, batch_size=16, verbose=0, **kwargs)


# On PyTorch, Keras' Dropout without a seed of its own (the GMM models' estimation network) draws its masks
# from torch's global generator, from which every new DataLoader iterator, a validation pass's too, also
# draws: validating shifts the later dropout masks (scores move by about 0.3%). Seeding that Dropout would
# change the TensorFlow results the chapters were computed with.
TORCH_GLOBAL_DROPOUT = pytest.mark.xfail(keras.backend.backend() == "torch", strict=True,
                                         reason="unseeded Dropout shares torch's global generator with DataLoaders")


@pytest.mark.parametrize("name", ["DenoisingAE", "VAE", pytest.param("AEGMM", marks=TORCH_GLOBAL_DROPOUT),
                                  pytest.param("VAEGMM", marks=TORCH_GLOBAL_DROPOUT), "GANomaly", "OCGAN", "ALOCC",
                                  "FAnoGAN"])
def test_validating_leaves_the_training_unchanged(name):
    """Validation draws its codes and noise from fixed seeds, not from the training's generator, and
    updates nothing: the trained detector scores exactly as one trained without validation."""
    x, x_val, x_test = blob_images(48, 0), blob_images(16, 1), blob_images(8, 2)
    plain = _fit(name, x).score(x_test, verbose=0)
    validated = _fit(name, x, validation_data=x_val).score(x_test, verbose=0)
    np.testing.assert_allclose(validated, plain, rtol=1e-6)


def test_uint8_validation_images_are_scaled_like_the_training_images():
    x, x_val = blob_images(48, 0), blob_images(16, 1)
    as_uint8 = lambda images: np.round(images * 255).astype(np.uint8)
    from_floats = _fit("AE", as_uint8(x) / np.float32(255), validation_data=as_uint8(x_val) / np.float32(255))
    from_uint8 = _fit("AE", as_uint8(x), validation_data=as_uint8(x_val))
    np.testing.assert_allclose(from_uint8.history_["val_loss"], from_floats.history_["val_loss"], rtol=1e-5)


def test_validation_data_of_another_shape_is_refused_with_the_users_shapes():
    with pytest.raises(ValueError, match=r"validation_data has samples of shape \(12, 12\).*\(16, 16\)"):
        _fit("AE", blob_images(48, 0), validation_data=blob_images(8, 1)[:, :12, :12])
