"""Shared fixtures: quiet TensorFlow, a non-interactive plot backend, and small synthetic data sets."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")

from tests._workers import one_thread_per_worker  # noqa: E402

# `make unit` runs one pytest worker per core (two TensorFlow thread pools per core made every test slower)
one_thread_per_worker()

import shutil  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402

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


def folder_made_once(tmp_path_factory, worker_id: str, name: str, make: Callable[[Path], object]) -> Path:
    """A folder that ``make(folder)`` fills once per test session, however many pytest-xdist workers ask
    for it: the first makes it under a file lock, the others wait for it and read it (the fixture recipe
    of pytest-xdist's documentation). For what takes a minute or more to make (a subprocess that trains
    every detector, ``otter assign``) and is read by tests that may run in either worker."""
    if worker_id == "master":  # no workers: the session's own temporary folder
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent  # shared by this session's workers only
    folder, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


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


def blob_images(n: int = 48, seed: int = 0) -> np.ndarray:
    """``(n, 16, 16)`` grey images in [0, 1] without a channel axis: a Gaussian blob at a random place,
    plus pixel noise (the small image set of the backend, validation and refactor-guard tests)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:16, :16]
    centre = rng.uniform(5, 11, size=(n, 2))
    dist = np.hypot(yy[None] - centre[:, 0, None, None], xx[None] - centre[:, 1, None, None])
    return np.clip(np.exp(-dist ** 2 / 8) + 0.05 * rng.normal(size=dist.shape), 0, 1).astype(np.float32)


def plane_table(n: int = 96, seed: int = 0) -> np.ndarray:
    """``(n, 6)`` float32 rows near a random 2-D plane in R^6."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(n, 6))).astype(np.float32)


# Glyphs on a unit square (y down), as line segments: the normal class is a "7"; the anomalies are its
# mirror image, an "L" and a "+", drawn with the same strokes and about the same ink, so that only a
# detector that learned the layout of the strokes (not the amount of ink) can tell them apart.
GLYPHS = {
    "seven": [((0.2, 0.2), (0.8, 0.2)), ((0.8, 0.2), (0.4, 0.85))],
    "mirrored_seven": [((0.2, 0.2), (0.8, 0.2)), ((0.2, 0.2), (0.6, 0.85))],
    "ell": [((0.3, 0.15), (0.3, 0.8)), ((0.3, 0.8), (0.8, 0.8))],
    "plus": [((0.5, 0.15), (0.5, 0.85)), ((0.15, 0.5), (0.85, 0.5))],
}


def draw_glyphs(kind: str, n: int, size: int, rng) -> np.ndarray:
    """``n`` anti-aliased drawings of a glyph with random shift, scale, jitter of every end point and
    stroke width, plus pixel noise; float32 images in [0, 1] of shape (n, size, size)."""
    yy, xx = (np.mgrid[:size, :size] + 0.5) / size
    images = np.zeros((n, size, size), np.float32)
    for i in range(n):
        shift, scale = rng.uniform(-0.08, 0.08, 2), rng.uniform(0.85, 1.1)
        width = rng.uniform(0.06, 0.1)
        for (y0, x0), (y1, x1) in GLYPHS[kind]:
            p0 = (np.array([y0, x0]) - 0.5) * scale + 0.5 + shift + rng.normal(0, 0.025, 2)
            p1 = (np.array([y1, x1]) - 0.5) * scale + 0.5 + shift + rng.normal(0, 0.025, 2)
            d = p1 - p0
            t = np.clip(((yy - p0[0]) * d[0] + (xx - p0[1]) * d[1]) / (d @ d), 0, 1)
            dist = np.hypot(yy - p0[0] - t * d[0], xx - p0[1] - t * d[1])
            images[i] = np.maximum(images[i], np.clip(1 - (dist - width / 2) * size, 0, 1))
    return np.clip(images + rng.normal(0, 0.03, images.shape), 0, 1).astype(np.float32)


def glyph_task(n_train=600, n_test=150, size=16, seed=0):
    """One-class image task with structure: ``x_train`` (sevens), ``x_test`` (sevens, then as many
    anomalies split over the three other glyphs) and ``y_test`` (1 = anomaly)."""
    rng = np.random.default_rng(seed)
    others = [draw_glyphs(kind, n_test // 3, size, rng) for kind in ("mirrored_seven", "ell", "plus")]
    x_test = np.concatenate([draw_glyphs("seven", n_test, size, rng), *others])
    y_test = np.r_[np.zeros(n_test), np.ones(len(x_test) - n_test)].astype(int)
    return draw_glyphs("seven", n_train, size, rng), x_test, y_test


@pytest.fixture
def rng():
    """A fresh NumPy generator with a fixed seed, for tests that draw their own data."""
    return np.random.default_rng(12345)
