import json

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

import adlib
from adlib.base import ThresholdNotSetError
from adlib.persistence import content_checksum

from .conftest import manifold


@pytest.fixture(scope="module")
def trained_ae():
    """An AE trained once on the manifold data (module fixture: training costs a few seconds)."""
    x = manifold()[0]
    adlib.seed_everything(0)
    return adlib.AE(latent_dim=3, hidden=(32,)).fit(x, epochs=30, batch_size=64, verbose=0), x


def test_ae_learns_the_normal_manifold(manifold_data):
    x_train, x_test, y_test = manifold_data
    adlib.seed_everything(0)
    det = adlib.AE(latent_dim=3, hidden=(32,))
    det.fit(x_train, epochs=1, batch_size=64, verbose=0)
    early = roc_auc_score(y_test, det.score(x_test))
    det.fit(x_train, epochs=30, batch_size=64, verbose=0)
    auc = roc_auc_score(y_test, det.score(x_test))
    assert auc >= 0.95, f"AE AUROC {auc:.3f} after training"
    assert auc > early
    assert det.history_["loss"][-1] < det.history_["loss"][0] / 2


def test_denoising_ae_learns_the_normal_manifold(manifold_data):
    x_train, x_test, y_test = manifold_data
    adlib.seed_everything(0)
    det = adlib.DenoisingAE(latent_dim=3, hidden=(32,), noise_std=0.1).fit(x_train, epochs=30, verbose=0)
    assert roc_auc_score(y_test, det.score(x_test)) >= 0.95


def test_convolutional_ae_on_images(stripe_images):
    x_train, x_test, y_test = stripe_images
    adlib.seed_everything(0)
    det = adlib.AE(latent_dim=4, base_filters=8).fit(x_train, epochs=8, batch_size=32, verbose=0)
    assert any(layer.__class__.__name__ == "Conv2D" for layer in det.model_.encoder.layers)
    assert det.model_.decoder.output.shape[1:] == (16, 16, 1)
    assert roc_auc_score(y_test, det.score(x_test)) >= 0.9
    assert det.feature_score(x_test[:3]).shape == (3, 16, 16, 1)


@pytest.mark.parametrize("shape", [(8, 8), (28, 28), (30, 40, 3), (90, 70)])
def test_images_of_any_size_and_uint8_grey_images_are_scored_at_their_own_size(shape):
    x = np.random.default_rng(0).integers(0, 256, size=(40, *shape), dtype=np.uint8)
    det = adlib.AE(latent_dim=4, base_filters=4).fit(x, steps=2, batch_size=8, verbose=0)
    assert det.score(x[:5]).shape == (5,)
    assert det.reconstruct(x[:3]).shape == det.feature_score(x[:3]).shape == (3, *shape)
    assert 0 <= det.reconstruct(x[:3]).min() and det.reconstruct(x[:3]).max() <= 1, "uint8 read as [0, 1]"
    np.testing.assert_allclose(det.score(x[:4]), det.score(x[:4].astype(np.float32) / 255), rtol=1e-5)


def test_predict_flags_scores_above_the_threshold(trained_ae):
    det, x = trained_ae
    threshold = det.infer_threshold(x, percentile=90)
    pred = det.predict(x, return_feature_score=True)
    assert pred.threshold == threshold
    assert np.array_equal(pred.is_outlier, (pred.instance_score > threshold).astype(int))
    assert pred.is_outlier.mean() == pytest.approx(0.10, abs=0.01)
    assert pred.feature_score.shape == x.shape
    assert np.allclose(pred.feature_score.mean(axis=1), pred.instance_score, rtol=1e-5)


def test_outlier_perc_averages_the_worst_features(trained_ae):
    det, x = trained_ae
    fs = det.feature_score(x[:5])
    worst3 = np.sort(fs, axis=1)[:, -3:].mean(axis=1)
    det.outlier_perc = 20.0  # 20% of 15 columns = the 3 worst
    try:
        assert np.allclose(det.score(x[:5]), worst3, rtol=1e-5)
    finally:
        det.outlier_perc = 100.0


def test_save_load_round_trip_gives_identical_scores(trained_ae, tmp_path):
    det, x = trained_ae
    det.infer_threshold(x, percentile=95)
    det.save(tmp_path / "ae")
    loaded = adlib.load_detector(tmp_path / "ae")
    assert type(loaded) is adlib.AE and loaded.get_config() == det.get_config()
    assert loaded.threshold_ == det.threshold_ and loaded.input_shape_ == det.input_shape_
    np.testing.assert_array_equal(loaded.score(x[:200]), det.score(x[:200]))
    assert loaded.history_ == det.history_
    loaded.fit(x, epochs=1, verbose=0)  # a loaded detector can keep training


def test_user_supplied_networks_are_used_and_saved(manifold_data, tmp_path):
    x_train, x_test, _ = manifold_data
    encoder = keras.Sequential([keras.Input((15,)), keras.layers.Dense(5, name="my_code")], name="enc")
    decoder = keras.Sequential([keras.Input((5,)), keras.layers.Dense(15, name="my_out")], name="dec")
    det = adlib.DenoisingAE(encoder=encoder, decoder=decoder, noise_std=0.05).fit(x_train, epochs=2, verbose=0)
    assert det.model_.encoder is encoder
    det.save(tmp_path / "custom")
    loaded = adlib.load_detector(tmp_path / "custom")
    assert loaded.model_.encoder.layers[-1].name == "my_code"
    np.testing.assert_array_equal(loaded.score(x_test), det.score(x_test))


def test_same_seed_same_scores(manifold_data):
    x_train, x_test, _ = manifold_data
    runs = []
    for _ in range(2):
        adlib.seed_everything(42)
        runs.append(adlib.DenoisingAE(latent_dim=3).fit(x_train[:500], epochs=2, verbose=0).score(x_test))
    np.testing.assert_array_equal(*runs)


# ------------------------------------------------------------------ bad input gets a clear error

def test_score_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="call fit"):
        adlib.AE().score(np.zeros((3, 4)))
    with pytest.raises(NotFittedError):
        adlib.AE().save("/tmp/never")


def test_predict_without_threshold_says_how_to_set_one(trained_ae):
    det, x = trained_ae
    det.threshold_ = None
    with pytest.raises(ThresholdNotSetError, match="infer_threshold"):
        det.predict(x[:3])


@pytest.mark.parametrize("bad,error,match", [
    (np.zeros((4, 14)), ValueError, r"shape \(14,\).*shape \(15,\)"),
    (np.zeros(15), ValueError, "at least 2 dimensions"),
    (np.zeros((0, 15)), ValueError, "empty"),
    (np.array([["a"] * 15] * 2), TypeError, "numeric"),
    (np.full((2, 15), np.nan), ValueError, "NaN"),
    (np.full((2, 15), np.inf), ValueError, "infinite"),
])
def test_bad_input_is_rejected_clearly(trained_ae, bad, error, match):
    det, _ = trained_ae
    with pytest.raises(error, match=match):
        det.score(bad)


def test_fit_rejects_bad_input_and_settings():
    with pytest.raises(ValueError, match="NaN"):
        adlib.AE().fit(np.array([[1.0, np.nan]] * 4))
    with pytest.raises(ValueError, match="tables .* and images"):
        adlib.AE().fit(np.zeros((4, 2, 8, 8, 1)), verbose=0)
    with pytest.raises(ValueError, match="both encoder and decoder"):
        adlib.AE(encoder=keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])).fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="outlier_perc"):
        adlib.AE(outlier_perc=0).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="noise_std"):
        adlib.DenoisingAE(noise_std=0).fit(np.zeros((4, 2)))  # checked at fit


def test_infer_threshold_rejects_a_bad_percentile(trained_ae):
    det, x = trained_ae
    with pytest.raises(ValueError, match="percentile"):
        det.infer_threshold(x, percentile=120)


def test_training_that_diverges_stops_with_a_clear_error():
    x = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32) * 1e18
    with pytest.raises(FloatingPointError, match="NaN"):
        adlib.AE(learning_rate=1e6).fit(x, epochs=3, verbose=0)


def test_corrupt_or_mismatched_saved_detectors_are_rejected(trained_ae, tmp_path):
    det, x = trained_ae
    with pytest.raises(FileNotFoundError, match="detector.json"):
        adlib.load_detector(tmp_path / "nothing")
    path = det.save(tmp_path / "ae")
    meta = json.loads((path / "detector.json").read_text())

    (path / "detector.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        adlib.load_detector(path)

    unknown = {**meta, "class": "Nonexistent"}
    unknown["checksum"] = content_checksum(unknown)  # a consistent file naming a class this adlib lacks
    (path / "detector.json").write_text(json.dumps(unknown))
    with pytest.raises(ValueError, match="unknown detector class"):
        adlib.load_detector(path)

    (path / "detector.json").write_text(json.dumps({**meta, "format_version": 1}))
    with pytest.raises(ValueError, match="format 1"):
        adlib.load_detector(path)
