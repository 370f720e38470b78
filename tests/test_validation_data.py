"""``fit(x, validation_data=x_val)`` works for every Keras detector, as the API guide promises: on
tables, on grey images given as ``(n, h, w)`` and on images with a channel axis; the validation
losses are reported as ``val_*`` and validating changes nothing in the training itself."""
import warnings

import keras
import numpy as np
import pytest

import adlib

KERAS = ["AE", "DenoisingAE", "VAE", "AEGMM", "VAEGMM", "DeepSVDD", "GANomaly", "OCGAN", "ALOCC", "EfficientGAN",
         "FAnoGAN", "AnoGAN", "ADGAN"]
IMAGES_ONLY = {"OCGAN"}
STEPS = 4


def _table(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(n, 6))).astype(np.float32)


def _grey_images(n: int, seed: int) -> np.ndarray:
    """``(n, 16, 16)`` blobs in [0, 1], no channel axis."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:16, :16]
    centre = rng.uniform(5, 11, size=(n, 2))
    dist = np.hypot(yy[None] - centre[:, 0, None, None], xx[None] - centre[:, 1, None, None])
    return np.clip(np.exp(-dist ** 2 / 8) + 0.05 * rng.normal(size=dist.shape), 0, 1).astype(np.float32)


DATA = {
    "table": lambda n, seed: _table(n, seed),
    "grey (n, h, w)": lambda n, seed: _grey_images(n, seed),
    "channels (n, h, w, c)": lambda n, seed: _grey_images(n, seed)[..., None],
}


def _fit(name: str, x: np.ndarray, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", adlib.CollapseWarning)
        return getattr(adlib, name)(seed=0).fit(x, steps=STEPS, batch_size=16, verbose=0, **kwargs)


@pytest.mark.parametrize("kind", list(DATA))
@pytest.mark.parametrize("name", KERAS)
def test_validation_losses_are_reported_for_every_keras_detector(name, kind):
    if kind == "table" and name in IMAGES_ONLY:
        pytest.skip(f"{name} is defined for images only")
    x, x_val = DATA[kind](48, 0), DATA[kind](16, 1)
    detector = _fit(name, x, validation_data=x_val)
    validation = {key: values for key, values in detector.history_.items() if key.startswith("val_")}
    assert validation, f"{name} reported no validation loss; history has {sorted(detector.history_)}"
    for key, values in validation.items():
        assert key[len("val_"):] in detector.history_, f"{key} has no training counterpart"
        assert values and np.all(np.isfinite(values)), f"{name} {key} = {values}"


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
    x, x_val, x_test = _grey_images(48, 0), _grey_images(16, 1), _grey_images(8, 2)
    plain = _fit(name, x).score(x_test, verbose=0)
    validated = _fit(name, x, validation_data=x_val).score(x_test, verbose=0)
    np.testing.assert_allclose(validated, plain, rtol=1e-6)


def test_uint8_validation_images_are_scaled_like_the_training_images():
    x, x_val = _grey_images(48, 0), _grey_images(16, 1)
    as_uint8 = lambda images: np.round(images * 255).astype(np.uint8)
    from_floats = _fit("AE", as_uint8(x) / np.float32(255), validation_data=as_uint8(x_val) / np.float32(255))
    from_uint8 = _fit("AE", as_uint8(x), validation_data=as_uint8(x_val))
    np.testing.assert_allclose(from_uint8.history_["val_loss"], from_floats.history_["val_loss"], rtol=1e-5)


def test_validation_data_of_another_shape_is_refused_with_the_users_shapes():
    with pytest.raises(ValueError, match=r"validation_data has samples of shape \(12, 12\).*\(16, 16\)"):
        _fit("AE", _grey_images(48, 0), validation_data=_grey_images(8, 1)[:, :12, :12])
