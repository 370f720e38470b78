import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

import adlib
from adlib.base import ThresholdNotSetError

from .conftest import manifold


@pytest.fixture(scope="module")
def trained_vae():
    x = manifold()[0]
    adlib.seed_everything(0)
    det = adlib.VAE(latent_dim=3, hidden=(32, 16), obs_scale=0.1, samples=5, seed=0)
    return det.fit(x, epochs=30, batch_size=64, verbose=0), x


def test_vae_learns_the_normal_manifold(trained_vae, manifold_data):
    det, _ = trained_vae
    _, x_test, y_test = manifold_data
    assert roc_auc_score(y_test, det.score(x_test)) >= 0.9
    assert det.history_["loss"][-1] < det.history_["loss"][0]
    assert {"loss", "nll", "kl"} <= set(det.history_)


def test_vae_with_a_learned_diagonal_scale_learns_too(manifold_data):
    x_train, x_test, y_test = manifold_data
    adlib.seed_everything(1)
    det = adlib.VAE(latent_dim=3, hidden=(32, 16), observation="diagonal", seed=1)
    det.fit(x_train, epochs=30, verbose=0)
    assert roc_auc_score(y_test, det.score(x_test)) >= 0.9
    assert det.model_.log_scale.shape == (15,)


def test_monte_carlo_scores_are_repeatable_and_average_the_samples(trained_vae):
    det, x = trained_vae
    np.testing.assert_array_equal(det.score(x[:50]), det.score(x[:50]))
    mean, log_var = det.encode(x[:50])
    assert mean.shape == log_var.shape == (50, 3)
    one_draw = adlib.VAE(**{**det.get_config(), "samples": 1})
    one_draw.model_, one_draw.input_shape_ = det.model_, det.input_shape_
    # more samples average out the sampling noise: a different (smoother) score than one draw
    assert not np.allclose(one_draw.score(x[:50]), det.score(x[:50]))


def test_feature_level_threshold_and_prediction(trained_vae):
    det, x = trained_vae
    det.infer_threshold(x, percentile=99, outlier_type="feature")
    pred = det.predict(x[:100], outlier_type="feature")
    assert pred.is_outlier.shape == (100, 15)
    assert 0 < pred.is_outlier.mean() < 0.05
    with pytest.raises(ValueError, match="outlier_type"):
        det.predict(x[:3], outlier_type="pixel")


def test_vae_save_load_round_trip(trained_vae, tmp_path):
    det, x = trained_vae
    det.infer_threshold(x, percentile=95)
    det.infer_threshold(x, percentile=99, outlier_type="feature")
    det.save(tmp_path / "vae")
    loaded = adlib.load_detector(tmp_path / "vae")
    assert type(loaded) is adlib.VAE
    np.testing.assert_array_equal(loaded.score(x[:100]), det.score(x[:100]))
    assert loaded.threshold_ == det.threshold_ and loaded.feature_threshold_ == det.feature_threshold_


def test_convolutional_vae_reconstructs_image_shapes(stripe_images):
    x_train, x_test, y_test = stripe_images
    adlib.seed_everything(0)
    det = adlib.VAE(latent_dim=4, base_filters=8, obs_scale=0.1, samples=2, seed=0)
    det.fit(x_train, epochs=8, batch_size=32, verbose=0)
    assert det.feature_score(x_test[:4]).shape == (4, 16, 16, 1)
    assert roc_auc_score(y_test, det.score(x_test)) >= 0.9


def test_vae_rejects_bad_settings_and_input(trained_vae):
    det, _ = trained_vae
    with pytest.raises(ValueError, match="observation"):
        adlib.VAE(observation="full").fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="samples"):
        adlib.VAE(samples=0).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="shape"):
        det.score(np.zeros((2, 3)))
    fresh = adlib.VAE().fit(np.random.default_rng(0).normal(size=(64, 4)), epochs=1, verbose=0)
    with pytest.raises(ThresholdNotSetError, match="feature"):
        fresh.predict(np.zeros((2, 4)), outlier_type="feature")


def test_several_steps_per_compiled_call_train_exactly_as_one():
    x = manifold(512)[0]
    runs = []
    for steps in (1, 4):
        adlib.seed_everything(0)
        det = adlib.VAE(latent_dim=3, hidden=(16,), obs_scale=0.1, seed=0)
        det.fit(x, epochs=2, batch_size=64, verbose=0, steps_per_execution=steps)
        runs.append((det.history_["loss"], det.score(x[:50])))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-4)
    with pytest.raises(ValueError, match="steps_per_execution"):
        adlib.VAE().fit(x, epochs=1, steps_per_execution=0)


def test_elbo_score_is_the_negative_elbo_computed_directly(trained_vae, manifold_data, tmp_path):
    det, x = trained_vae
    elbo = det.using_score("elbo")
    assert elbo.model_ is det.model_ and elbo.threshold_ is None and elbo.score_type == "elbo"
    # negative ELBO by hand: Gaussian NLL of the same seeded posterior draws, plus the KL to N(0, I)
    mean, log_var = det.encode(x[:40])
    rng = np.random.default_rng(det.seed)
    nll = np.zeros(40)
    for _ in range(det.samples):
        z = (mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape)).astype(np.float32)
        x_hat = np.asarray(det.model_.decoder(z))
        sq = np.square(x[:40] - x_hat)
        nll += (0.5 * sq / det.obs_scale**2 + np.log(det.obs_scale) + 0.5 * np.log(2 * np.pi)).sum(1)
    kl = -0.5 * (1 + log_var - mean**2 - np.exp(log_var)).sum(1)
    np.testing.assert_allclose(elbo.score(x[:40]), nll / det.samples + kl, rtol=1e-4)
    # the one-pass predict path adds the KL term too, and the feature scores sum to the likelihood part
    elbo.infer_threshold(x, percentile=95)
    pred = elbo.predict(x[:40], return_feature_score=True)
    np.testing.assert_allclose(pred.instance_score, elbo.score(x[:40]), rtol=1e-6)
    np.testing.assert_allclose(pred.feature_score.sum(1), nll / det.samples, rtol=1e-4)
    # it learns, and it survives saving
    _, x_test, y_test = manifold_data
    assert roc_auc_score(y_test, elbo.score(x_test)) >= 0.9
    elbo.save(tmp_path / "elbo")
    loaded = adlib.load_detector(tmp_path / "elbo")
    assert loaded.score_type == "elbo"
    np.testing.assert_array_equal(loaded.score(x[:40]), elbo.score(x[:40]))


def test_elbo_score_uses_the_learned_diagonal_scales():
    x = manifold(512)[0]
    adlib.seed_everything(2)
    det = adlib.VAE(latent_dim=3, hidden=(16,), observation="diagonal", score_type="elbo", seed=2)
    det.fit(x, epochs=3, verbose=0)
    s = np.exp(np.asarray(det.model_.log_scale, dtype=np.float64))
    sq = det.using_score("mse").feature_score(x[:20])
    np.testing.assert_allclose(det.feature_score(x[:20]), 0.5 * sq / s**2 + np.log(s) + 0.5 * np.log(2 * np.pi),
                               rtol=1e-5)


def test_score_type_is_checked():
    with pytest.raises(ValueError, match="score_type"):
        adlib.VAE(score_type="proba").fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="outlier_perc"):
        adlib.VAE(score_type="elbo", outlier_perc=50).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(NotFittedError):
        adlib.VAE().using_score("elbo")
