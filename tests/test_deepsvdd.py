"""Deep SVDD: bias-free network, centre away from zero, learns, saves, refuses bad input."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import adlib
from tests.conftest import blobs_and_rings


@pytest.fixture(scope="module")
def fitted():
    adlib.seed_everything(0)
    x_train, x_test, y_test = blobs_and_rings()
    detector = adlib.DeepSVDD(rep_dim=16, base_filters=8, pretrain_epochs=5, learning_rate=1e-3, seed=0)
    return detector.fit(x_train, epochs=8, batch_size=32, verbose=0), x_train, x_test, y_test


def test_learns_blobs_and_flags_rings(fitted):
    detector, _, x_test, y_test = fitted
    assert roc_auc_score(y_test, detector.score(x_test)) >= 0.9


def test_network_has_no_bias_and_centre_is_away_from_zero(fitted):
    detector = fitted[0]
    names = [w.path for w in detector.model_.network.weights]
    assert not any("bias" in n or "beta" in n or "gamma" in n for n in names), names
    assert np.all(np.abs(detector.center_) >= detector.eps - 1e-7)


def test_training_shrinks_the_sphere(fitted):
    detector = fitted[0]
    assert detector.history_["loss"][-1] < 0.5 * detector.history_["loss"][0]
    assert detector.history_["pretrain_loss"][-1] < detector.history_["pretrain_loss"][0]


def test_score_is_squared_distance_to_centre(fitted):
    detector, _, x_test, _ = fitted
    expected = np.sum((detector.embed(x_test[:20]) - detector.center_) ** 2, axis=1)
    np.testing.assert_allclose(detector.score(x_test[:20]), expected, rtol=1e-4)


def test_save_load_identical(fitted, tmp_path):
    detector, _, x_test, _ = fitted
    loaded = adlib.load_detector(detector.save(tmp_path / "svdd"))
    np.testing.assert_array_equal(loaded.score(x_test), detector.score(x_test))
    np.testing.assert_array_equal(loaded.center_, detector.center_)


def test_tables_without_pretraining(manifold_data):
    x_train, x_test, y_test = manifold_data
    adlib.seed_everything(0)
    detector = adlib.DeepSVDD(rep_dim=8, pretrain=False, learning_rate=1e-3, seed=0)
    detector.fit(x_train, epochs=5, batch_size=64, verbose=0)
    assert "pretrain_loss" not in detector.history_
    assert roc_auc_score(y_test, detector.score(x_test)) > 0.6


def test_bad_input_and_settings():
    with pytest.raises(ValueError, match="eps"):
        adlib.DeepSVDD(eps=0).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="Deep SVDD networks"):
        adlib.DeepSVDD().fit(np.zeros((4, 3, 3, 1, 1), np.float32), epochs=1, verbose=0)
    detector = adlib.DeepSVDD(rep_dim=4, pretrain=False).fit(np.random.default_rng(0).random((64, 5), np.float32),
                                                              epochs=1, verbose=0)
    with pytest.raises(ValueError, match="shape"):
        detector.score(np.zeros((2, 6), np.float32))
