"""Shared fixtures: quiet TensorFlow, a non-interactive plot backend, and small synthetic data sets."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA = os.environ.get("ADLIB_DATA")


def manifold(n_train=2000):
    """Normal rows lie near a 3-D linear subspace of R^15; outliers have the same per-column scale but
    no such structure, so only a detector that learned the subspace can tell them apart.
    Returns ``x_train, x_test, y_test`` (300 normal and 300 outlier test rows)."""
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(3, 15))
    x_train = rng.normal(size=(n_train, 3)) @ mixing + 0.05 * rng.normal(size=(n_train, 15))
    x_normal = rng.normal(size=(300, 3)) @ mixing + 0.05 * rng.normal(size=(300, 15))
    x_outlier = rng.normal(size=(300, 15)) * x_train.std(axis=0)
    x_test = np.concatenate([x_normal, x_outlier]).astype(np.float32)
    y_test = np.r_[np.zeros(300), np.ones(300)].astype(int)
    return x_train.astype(np.float32), x_test, y_test


@pytest.fixture
def manifold_data():
    return manifold()


@pytest.fixture
def stripe_images():
    """16x16 grey images: normal ones are smooth horizontal gradients with random phase,
    outliers are the same images rotated by 90 degrees (vertical gradients)."""
    rng = np.random.default_rng(1)

    def gradients(n):
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
        rows = np.arange(16)[None, :, None]
        img = 0.5 + 0.4 * np.sin(rows / 2.5 + phase) * np.ones((1, 1, 16))
        return (img + 0.03 * rng.normal(size=img.shape)).clip(0, 1)[..., None].astype(np.float32)

    x_train = gradients(1200)
    normal, outlier = gradients(200), np.transpose(gradients(200), (0, 2, 1, 3))
    return x_train, np.concatenate([normal, outlier]), np.r_[np.zeros(200), np.ones(200)].astype(int)


def requires_mirror():
    return pytest.mark.skipif(not SHARED_DATA, reason="ADLIB_DATA (the dataset mirror) is not set")


def blobs_and_rings(n_train=1000, n_test=200, seed=0):
    """16x16 grey images: normal ones hold a Gaussian blob at a random place, outliers a ring of
    the same size; ``x_train, x_test, y_test`` (half the test images are outliers)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:16, :16]

    def images(n, ring):
        centre = rng.uniform(5, 11, size=(n, 2))
        dist = np.hypot(yy[None] - centre[:, 0, None, None], xx[None] - centre[:, 1, None, None])
        img = np.exp(-(dist - 4) ** 2 / 2) if ring else np.exp(-dist ** 2 / 8)
        return np.clip(img + 0.05 * rng.normal(size=img.shape), 0, 1)[..., None].astype(np.float32)

    x_test = np.concatenate([images(n_test, False), images(n_test, True)])
    return images(n_train, False), x_test, np.r_[np.zeros(n_test), np.ones(n_test)].astype(int)


@pytest.fixture(scope="session")
def blob_ring_images():
    return blobs_and_rings()
