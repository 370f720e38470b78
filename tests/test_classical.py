import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

import adlib

from .conftest import manifold

DETECTORS = {
    "HotellingT2": lambda: adlib.HotellingT2(),
    "KNN": lambda: adlib.KNN(n_neighbors=5),
    "OCSVM": lambda: adlib.OCSVM(nu=0.05),
    "IForest": lambda: adlib.IForest(n_estimators=100, seed=0),
}


@pytest.fixture(scope="module")
def blobs():
    """A tight 6-D Gaussian as normal data; outliers from a Gaussian five times as wide."""
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(1000, 6))
    x_test = np.concatenate([rng.normal(size=(200, 6)), 5 * rng.normal(size=(200, 6))])
    return x_train, x_test, np.r_[np.zeros(200), np.ones(200)]


@pytest.mark.parametrize("name", DETECTORS)
def test_baseline_learns_what_normal_looks_like(name, blobs):
    x_train, x_test, y_test = blobs
    det = DETECTORS[name]().fit(x_train)
    assert roc_auc_score(y_test, det.score(x_test)) >= 0.9


@pytest.mark.parametrize("name", ["HotellingT2", "KNN"])
def test_distance_baselines_find_the_normal_subspace(name):
    x_train, x_test, y_test = manifold()
    assert roc_auc_score(y_test, DETECTORS[name]().fit(x_train).score(x_test)) >= 0.9


def test_hotelling_is_the_mahalanobis_distance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 3)) @ np.array([[2.0, 0, 0], [0.5, 1, 0], [0, 0, 0.3]])
    det = adlib.HotellingT2(reg=0.0).fit(x)
    mean, prec = x.mean(axis=0), np.linalg.inv(np.cov(x, rowvar=False, bias=True))
    diff = x[:5] - mean
    np.testing.assert_allclose(det.score(x[:5]), np.einsum("ni,ij,nj->n", diff, prec, diff), rtol=1e-6)


def test_knn_score_is_the_kth_neighbour_distance():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    det = adlib.KNN(n_neighbors=2).fit(x)
    np.testing.assert_allclose(det.score(np.array([[2.0]])), [1.0])  # neighbours at 1 and 3
    assert adlib.KNN(n_neighbors=2, method="mean").fit(x).score(np.array([[2.5]]))[0] == pytest.approx(1.0)


@pytest.mark.parametrize("name", DETECTORS)
def test_baseline_save_load_round_trip(name, blobs, tmp_path):
    x_train, x_test, _ = blobs
    det = DETECTORS[name]().fit(x_train)
    det.infer_threshold(x_train, percentile=95)
    det.save(tmp_path / name)
    loaded = adlib.load_detector(tmp_path / name)
    assert type(loaded) is type(det) and loaded.get_config() == det.get_config()
    np.testing.assert_array_equal(loaded.score(x_test), det.score(x_test))
    assert loaded.threshold_ == det.threshold_


def test_baselines_accept_images_and_reject_bad_input(blobs):
    images = np.random.default_rng(0).uniform(size=(50, 4, 4, 1))
    det = adlib.KNN().fit(images)
    assert det.score(images[:3]).shape == (3,)
    with pytest.raises(ValueError, match="shape"):
        det.score(np.zeros((2, 16)))
    with pytest.raises(NotFittedError):
        adlib.OCSVM().score(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="unexpected"):
        adlib.IForest().fit(np.zeros((10, 2)), learning_rate=1.0)
    with pytest.raises(ValueError, match="nu"):
        adlib.OCSVM(nu=0)
    adlib.IForest().fit(blobs[0], epochs=5, verbose=0)  # Keras-only arguments are accepted and ignored
