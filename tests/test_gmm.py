import numpy as np
import pytest
from keras import ops
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.metrics import roc_auc_score

import adlib
from adlib.detectors.gmm import (
    gmm_energy,
    gmm_parameters,
    gmm_parameters_from_statistics,
    gmm_sufficient_statistics,
    reconstruction_features,
)

from .conftest import manifold


def test_reconstruction_features_on_a_hand_computed_example():
    x = np.array([[3.0, 4.0]], dtype=np.float32)
    x_hat = np.array([[3.0, 0.0]], dtype=np.float32)
    feats = ops.convert_to_numpy(reconstruction_features(x, x_hat))
    np.testing.assert_allclose(feats, [[4 / 5, 9 / 15]], rtol=1e-6)  # |x - x'| / |x|, cosine


def test_gmm_parameters_and_energy_match_a_direct_numpy_computation():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 3))
    gamma = rng.dirichlet(np.ones(2), size=50)
    phi, mu, cov = (ops.convert_to_numpy(v) for v in gmm_parameters(gamma, z))
    # accumulated over two batches, the float64 statistics give the same mixture
    halves = [gmm_sufficient_statistics(gamma[s], z[s]) for s in (slice(0, 20), slice(20, 50))]
    merged = gmm_parameters_from_statistics(*(a + b for a, b in zip(*halves)), 50)
    for direct, accumulated in zip((phi, mu, cov), merged):
        np.testing.assert_allclose(direct, accumulated, rtol=1e-6, atol=1e-9)
    for k in range(2):
        w = gamma[:, k]
        mu_k = (w[:, None] * z).sum(0) / w.sum()
        cov_k = ((w[:, None] * (z - mu_k)).T @ (z - mu_k)) / w.sum()
        np.testing.assert_allclose(mu[k], mu_k, rtol=1e-6)
        np.testing.assert_allclose(cov[k], cov_k, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(phi, gamma.mean(0), rtol=1e-6)

    energy = ops.convert_to_numpy(gmm_energy(z, phi, mu, cov, jitter=0.0))
    log_dens = np.stack([np.log(phi[k]) + multivariate_normal(mu[k], cov[k]).logpdf(z) for k in range(2)])
    np.testing.assert_allclose(energy, -logsumexp(log_dens, axis=0), rtol=1e-5)


@pytest.fixture(scope="module", params=["AEGMM", "VAEGMM"])
def trained_gmm(request):
    x = manifold(3000)[0]
    adlib.seed_everything(0)
    det = getattr(adlib, request.param)(latent_dim=3, hidden=(32, 16), learning_rate=1e-3, seed=0)
    return det.fit(x, epochs=40, batch_size=128, verbose=0), x


def test_gmm_detectors_learn_the_normal_data(trained_gmm, manifold_data):
    det, _ = trained_gmm
    _, x_test, y_test = manifold_data
    assert roc_auc_score(y_test, det.score(x_test)) >= 0.9
    assert det.history_["loss"][-1] < det.history_["loss"][0]


def test_mixture_is_estimated_on_all_training_data_batch_by_batch(trained_gmm):
    det, x = trained_gmm
    stored = [ops.convert_to_numpy(v).copy() for v in (det.model_.phi, det.model_.mu, det.model_.cov)]
    det.model_.set_mixture(x, batch_size=len(x))  # one pass over everything
    for before, after in zip(stored, (det.model_.phi, det.model_.mu, det.model_.cov)):
        np.testing.assert_allclose(before, ops.convert_to_numpy(after), rtol=1e-4, atol=1e-6)
    assert np.isclose(stored[0].sum(), 1.0, atol=1e-5)


def test_gmm_save_load_round_trip(trained_gmm, tmp_path):
    det, x = trained_gmm
    det.infer_threshold(x, percentile=95)
    det.save(tmp_path / "gmm")
    loaded = adlib.load_detector(tmp_path / "gmm")
    assert type(loaded) is type(det)
    np.testing.assert_array_equal(loaded.score(x[:200]), det.score(x[:200]))
    assert loaded.latent(x[:5]).shape == (5, det.latent_dim + 2)


def test_gmm_has_no_feature_scores_and_rejects_bad_input(trained_gmm):
    det, _ = trained_gmm
    with pytest.raises(NotImplementedError, match="feature"):
        det.feature_score(np.zeros((2, 15)))
    with pytest.raises(ValueError, match="NaN"):
        det.score(np.full((2, 15), np.nan))
    with pytest.raises(ValueError, match="n_gmm"):
        adlib.AEGMM(n_gmm=0).fit(np.zeros((4, 2)))  # checked at fit


def test_diverging_gmm_training_stops_with_a_clear_error():
    x = np.random.default_rng(0).normal(size=(512, 6)).astype(np.float32) * 1e20
    with pytest.raises(FloatingPointError):
        adlib.AEGMM(learning_rate=10.0).fit(x, epochs=3, batch_size=128, verbose=0)


def test_reconstruction_term_is_the_papers_squared_norm_or_alibis_per_feature_mean():
    x = manifold(256)[0]
    terms = {}
    for reduction in ("mean", "sum"):
        adlib.seed_everything(0)
        det = adlib.AEGMM(latent_dim=2, hidden=(16,), reconstruction=reduction, seed=0)
        model = det._build_model(x)
        values = model._loss_terms(x, training=False)
        x_hat = ops.convert_to_numpy(model.code(x)[1])
        terms[reduction] = float(values["reconstruction"]), np.square(x - x_hat).sum(axis=1).mean()
    assert np.isclose(terms["sum"][0], terms["sum"][1], rtol=1e-5)
    assert np.isclose(terms["mean"][0], terms["mean"][1] / x.shape[1], rtol=1e-5)
    with pytest.raises(ValueError, match="reconstruction"):
        adlib.AEGMM(reconstruction="median").fit(np.zeros((4, 2)))  # checked at fit
