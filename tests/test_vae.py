import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import adlib

from .conftest import manifold
from adlib.base import ThresholdNotSetError


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
    det = adlib.VAE(latent_dim=4, filters=(8, 16), obs_scale=0.1, samples=2, seed=0)
    det.fit(x_train, epochs=8, batch_size=32, verbose=0)
    assert det.feature_score(x_test[:4]).shape == (4, 16, 16, 1)
    assert roc_auc_score(y_test, det.score(x_test)) >= 0.9


def test_vae_rejects_bad_settings_and_input(trained_vae):
    det, _ = trained_vae
    with pytest.raises(ValueError, match="observation"):
        adlib.VAE(observation="full")
    with pytest.raises(ValueError, match="samples"):
        adlib.VAE(samples=0)
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
