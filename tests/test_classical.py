import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

import adlib

from .conftest import manifold

DETECTORS = {
    "HotellingT2": lambda: adlib.HotellingT2(),
    "KNN": lambda: adlib.KNN(n_neighbors=5),
    "OCSVM": lambda: adlib.OCSVM(nu=0.05),
    "IForest": lambda: adlib.IForest(n_estimators=100, seed=0),
    "NaiveBayes": lambda: adlib.NaiveBayes(),
    "GMM": lambda: adlib.GMM(),
    "KMeansDetector": lambda: adlib.KMeansDetector(),
    "DensityRatio": lambda: adlib.DensityRatio(),
}


def three_modes(n_train=900, seed=0):
    """Normal data: three tight, well separated 4-D clusters. Outliers: points between the clusters,
    near the overall mean, so a single Gaussian (Hotelling) ranks them as *more* normal."""
    rng = np.random.default_rng(seed)
    centres = 6.0 * np.eye(4)[:3]
    x_train = centres[rng.integers(0, 3, n_train)] + 0.5 * rng.normal(size=(n_train, 4))
    inliers = centres[rng.integers(0, 3, 200)] + 0.5 * rng.normal(size=(200, 4))
    outliers = centres.mean(axis=0) + 0.5 * rng.normal(size=(200, 4))
    return x_train, np.concatenate([inliers, outliers]), np.r_[np.zeros(200), np.ones(200)]


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


@pytest.mark.parametrize("name", ["GMM", "KMeansDetector", "DensityRatio", "KNN"])
def test_multimodal_baselines_learn_the_modes_that_one_gaussian_misses(name):
    x_train, x_test, y_test = three_modes()
    assert roc_auc_score(y_test, DETECTORS[name]().fit(x_train).score(x_test)) >= 0.9
    assert roc_auc_score(y_test, adlib.HotellingT2().fit(x_train).score(x_test)) < 0.6  # the task needs the modes


def test_model_selection_without_labels_finds_the_three_modes():
    x_train = three_modes()[0]
    kmeans = adlib.KMeansDetector().fit(x_train)
    assert kmeans.n_clusters_ == 3 and max(kmeans.silhouettes_, key=kmeans.silhouettes_.get) == 3
    gmm = adlib.GMM().fit(x_train)
    assert gmm.n_components_ == 3 and min(gmm.bics_, key=gmm.bics_.get) == 3 and len(gmm.bics_) == 8
    assert adlib.GMM(n_components=2).fit(x_train).n_components_ == 2
    with pytest.raises(NotFittedError):
        _ = adlib.GMM().n_components_


def test_naive_bayes_is_a_sum_of_per_feature_gaussian_terms_and_points_at_the_odd_feature():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[0.0, 5.0, -2.0], scale=[1.0, 2.0, 0.5], size=(4000, 3))
    det = adlib.NaiveBayes(var_floor=1e-12).fit(x)
    probe = np.array([[0.0, 5.0, -2.0], [0.0, 5.0, 1.0]])  # the second is 6 sigma off in feature 2
    expected = -stats.norm(x.mean(axis=0), x.std(axis=0)).logpdf(probe)
    np.testing.assert_allclose(det.feature_score(probe), expected, rtol=1e-4)  # adlib computes in float32
    np.testing.assert_allclose(det.score(probe), expected.sum(axis=1), rtol=1e-4)
    assert det.feature_score(probe)[1].argmax() == 2
    det.infer_threshold(x, 99)
    prediction = det.predict(probe, return_feature_score=True)
    assert prediction.is_outlier.tolist() == [0, 1] and prediction.feature_score.shape == probe.shape


def test_density_ratio_is_near_one_on_normal_batches_and_near_zero_at_outliers():
    x_train, x_test, y_test = three_modes()
    det = adlib.DensityRatio().fit(x_train)
    w = -det.score(x_test)
    assert np.median(w[y_test == 1]) < 0.2 < 1.0 < np.median(w[y_test == 0])  # inliers: p_normal > p_batch
    w_normal = -det.score(three_modes(seed=1)[0][:400])
    assert 0.7 < np.median(w_normal) < 1.3
    assert det.sigma_ > 0 and det.regularisation_ in det.regularisations and len(det.cv_) == 16
    with pytest.raises(ValueError, match="at least 10 samples"):
        det.score(x_test[:5])
    with pytest.raises(AttributeError, match="score"):
        _ = adlib.DensityRatio().fit(x_train).sigma_  # no batch scored yet


def test_density_ratio_survives_duplicated_and_constant_batches():
    x = np.zeros((12, 3))
    det = adlib.DensityRatio().fit(x)
    scores = det.score(x)
    assert np.isfinite(scores).all() and np.ptp(scores) < 1e-9
    assert np.isfinite(det.score(np.ones((12, 3)))).all()


def test_hotelling_f_threshold_holds_its_false_alarm_rate_on_gaussian_data():
    """Over many training sets (n = 30, d = 4), a fresh Gaussian sample exceeds the F threshold at
    the nominal rate: the count lies inside the central 99.99% of the binomial distribution (five
    samples share each fit, which widens the true spread a little)."""
    rng = np.random.default_rng(0)
    n_sets, per_set, rate = 3000, 5, 0.05
    alarms = 0
    for _ in range(n_sets):
        det = adlib.HotellingT2(reg=0.0).fit(rng.normal(size=(30, 4)))
        threshold = det.f_threshold(rate)
        assert det.threshold_ == threshold
        alarms += int((det.score(rng.normal(size=(per_set, 4))) > threshold).sum())
    low, high = stats.binom(n_sets * per_set, rate).ppf([0.00005, 0.99995])
    assert low <= alarms <= high, (alarms, low, high)
    with pytest.raises(ValueError, match="more training samples than features"):
        adlib.HotellingT2().fit(rng.normal(size=(4, 4))).f_threshold()
    with pytest.raises(ValueError, match="false_alarm_rate"):
        det.f_threshold(1.5)


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
        adlib.OCSVM(nu=0).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="n_components"):
        adlib.GMM(n_components=0).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="max_clusters"):
        adlib.KMeansDetector(max_clusters=1).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="silhouette_sample"):
        adlib.KMeansDetector(max_clusters=10, silhouette_sample=5).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="at least 3 training samples"):
        adlib.KMeansDetector().fit(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="var_floor"):
        adlib.NaiveBayes(var_floor=0).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="positive"):
        adlib.DensityRatio(width_factors=()).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="at least 10 samples"):
        adlib.DensityRatio().fit(np.zeros((5, 2)))
    adlib.IForest().fit(blobs[0], epochs=5, verbose=0)  # Keras-only arguments are accepted and ignored
