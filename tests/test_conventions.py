"""Conventions users bring from scikit-learn, PyOD and Alibi Detect: get_params/set_params (so that
``sklearn.base.clone`` works), thresholds stated as a false-positive rate, and split-conformal p-values."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone

import adlib
from adlib.base import ThresholdNotSetError, conformal_p_values

DETECTORS = [obj for name in adlib.__all__ if isinstance(obj := getattr(adlib, name), type)
             and issubclass(obj, adlib.Detector) and obj is not adlib.Detector]


def test_every_public_detector_is_covered():
    assert len(DETECTORS) >= 20, [d.__name__ for d in DETECTORS]


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_clone_gives_a_copy_with_the_same_parameters(cls):
    detector = cls()
    twin = clone(detector)
    assert type(twin) is cls and twin is not detector
    assert twin.get_params() == detector.get_params()
    signature = inspect.signature(cls.__init__).parameters
    assert not any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in signature.values()), \
        "scikit-learn reads the parameters from the signature: spell them out"
    assert set(detector.get_params()) == {n for n in signature if n != "self"}


def test_a_subclass_keeps_its_parents_parameters():
    dae = adlib.DenoisingAE(noise_std=0.3, latent_dim=3, hidden=(16, 8))
    params = clone(dae).get_params()
    assert params["noise_std"] == 0.3 and params["latent_dim"] == 3 and tuple(params["hidden"]) == (16, 8)


def test_clone_keeps_changed_parameters_and_set_params_checks_them_at_fit():
    ae = adlib.AE(latent_dim=3, hidden=(16, 8), seed=1)
    twin = clone(ae)
    assert twin.get_params()["latent_dim"] == 3 and tuple(twin.get_params()["hidden"]) == (16, 8)
    assert twin.set_params(latent_dim=5) is twin and twin.latent_dim == 5 and twin.get_params()["seed"] == 1
    with pytest.raises(ValueError, match="Invalid parameter 'latnet_dim'"):
        twin.set_params(latnet_dim=5)
    ocgan = adlib.OCGAN().set_params(mining_steps=-1)  # stored as given, refused by fit
    with pytest.raises(ValueError, match="mining_steps"):
        ocgan.fit(np.zeros((4, 8, 8), np.float32))


def test_set_params_discards_what_was_learned(rng):
    x = rng.normal(size=(64, 4)).astype(np.float32)
    knn = adlib.KNN(n_neighbors=3).fit(x)
    knn.infer_threshold(x)
    assert knn.set_params(n_neighbors=4) is knn and not knn.is_fitted
    assert set(vars(knn)) == {"n_neighbors", "method"}
    np.testing.assert_array_equal(knn.fit(x).score(x), adlib.KNN(n_neighbors=4).fit(x).score(x))


def test_a_clone_of_a_fitted_detector_is_unfitted_and_refits_identically(rng):
    x = rng.normal(size=(300, 4))
    knn = adlib.KNN(n_neighbors=7).fit(x)
    twin = clone(knn)
    assert knn.is_fitted and not twin.is_fitted and twin.get_params()["n_neighbors"] == 7
    np.testing.assert_array_equal(twin.fit(x).score(x[:20]), knn.score(x[:20]))


def gaussian_detector(rng, n=2_000, d=5):
    return adlib.HotellingT2().fit(rng.normal(size=(n, d)))


def test_fpr_is_the_percentile_stated_as_a_rate(rng):
    detector = gaussian_detector(rng)
    reference = rng.normal(size=(1_000, 5))
    assert detector.infer_threshold(reference, fpr=0.05) == detector.infer_threshold(reference, percentile=95)
    with pytest.raises(ValueError, match="not both"):
        detector.infer_threshold(reference, percentile=95, fpr=0.05)
    for bad in (0.0, 1.0, -0.1, 5):
        with pytest.raises(ValueError, match="false-positive rate"):
            detector.infer_threshold(reference, fpr=bad)


@pytest.mark.parametrize("fpr", [0.01, 0.05, 0.2])
def test_share_of_normal_data_flagged_is_within_binomial_bounds_of_fpr(rng, fpr):
    n_ref, n_test = 2_000, 20_000
    detector = gaussian_detector(rng)
    detector.infer_threshold(rng.normal(size=(n_ref, 5)), fpr=fpr)
    share = detector.predict(rng.normal(size=(n_test, 5))).is_outlier.mean()
    # both the calibration percentile and the test share are binomial draws
    sd = math.sqrt(fpr * (1 - fpr) * (1 / n_ref + 1 / n_test))
    assert abs(share - fpr) < 4 * sd, (share, fpr, sd)


def test_p_values_are_uniform_on_normal_data_and_small_on_outliers(rng):
    detector = gaussian_detector(rng)
    detector.infer_threshold(rng.normal(size=(2_000, 5)), fpr=0.05)
    normal = detector.predict(rng.normal(size=(5_000, 5)), return_p_value=True).p_value
    assert normal.min() > 0 and normal.max() <= 1
    assert stats.kstest(normal, "uniform").pvalue > 1e-3
    for alpha in (0.01, 0.1):  # flagging p <= alpha flags about a share alpha of normal data
        assert abs((normal <= alpha).mean() - alpha) < 4 * math.sqrt(alpha * (1 - alpha) / 2_000)
    outliers = detector.predict(rng.normal(loc=4.0, size=(200, 5)), return_p_value=True).p_value
    assert np.median(outliers) < 0.01


def test_conformal_p_values_count_ties_as_at_least_as_extreme():
    reference = np.array([1.0, 2.0, 2.0, 3.0])
    np.testing.assert_allclose(conformal_p_values(reference, [0.0, 2.0, 3.0, 9.0]), [1.0, 4 / 5, 2 / 5, 1 / 5])


def test_p_values_need_the_reference_scores_of_infer_threshold(rng):
    detector = gaussian_detector(rng)
    detector.threshold_ = 10.0  # set by hand: no calibration set
    assert detector.predict(rng.normal(size=(5, 5))).p_value is None
    with pytest.raises(ThresholdNotSetError, match="reference scores"):
        detector.predict(rng.normal(size=(5, 5)), return_p_value=True)


def test_reference_scores_survive_save_and_load(rng, tmp_path):
    detector = gaussian_detector(rng)
    detector.infer_threshold(rng.normal(size=(500, 5)), fpr=0.1)
    x = rng.normal(size=(50, 5))
    loaded = adlib.load_detector(detector.save(tmp_path / "t2"))
    np.testing.assert_array_equal(loaded.predict(x, return_p_value=True).p_value,
                                  detector.predict(x, return_p_value=True).p_value)


def test_scores_stream_from_a_dataset_or_a_generator_of_batches(rng):
    import tensorflow as tf

    x = rng.normal(size=(1_000, 5)).astype(np.float32)
    detector = adlib.HotellingT2().fit(x)
    expected = detector.score(x)
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(128)
    np.testing.assert_allclose(detector.score(dataset), expected, rtol=1e-6)
    pairs = tf.data.Dataset.from_tensor_slices((x, np.zeros(len(x)))).batch(300)  # (x, y) elements
    np.testing.assert_allclose(detector.score(pairs), expected, rtol=1e-6)
    np.testing.assert_allclose(detector.score(x[i:i + 97] for i in range(0, len(x), 97)), expected, rtol=1e-6)
    threshold = detector.infer_threshold(x, fpr=0.1)
    assert detector.infer_threshold(dataset, fpr=0.1) == pytest.approx(threshold)
    pred = detector.predict(dataset, return_p_value=True)
    np.testing.assert_array_equal(pred.is_outlier, detector.predict(x).is_outlier)
    with pytest.raises(ValueError, match="empty"):
        detector.score(iter([]))
    with pytest.raises(ValueError, match="shape"):
        detector.score(iter([x[:10, :3]]))


def test_a_keras_detector_scores_a_stream_like_the_array(manifold_data):
    import tensorflow as tf

    x_train, x_test, _ = manifold_data
    ae = adlib.AE(seed=0).fit(x_train, steps=20, verbose=0)
    np.testing.assert_allclose(ae.score(tf.data.Dataset.from_tensor_slices(x_test).batch(64)), ae.score(x_test),
                               rtol=1e-5)


# ---------------------------------------------------------------- progress of long scoring
def test_latent_search_scoring_shows_progress_unless_silenced(capsys):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 16, 16, 1)).astype(np.float32)
    detector = adlib.AnoGAN(latent_dim=8, base_filters=8, n_seeds=2, search_steps=2).fit(x, steps=2, verbose=0)
    capsys.readouterr()
    loud = detector.score(x[:10])
    assert "10/10" in capsys.readouterr().out, "AnoGAN's search shows a Keras progress bar by default"
    quiet = detector.score(x[:10], verbose=0)
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(loud, quiet)
    detector.infer_threshold(x[10:20], verbose=0)
    detector.predict(x[:5], verbose=0)
    assert capsys.readouterr().out == "", "verbose=0 silences infer_threshold and predict too"


def test_a_progress_bar_on_request_does_not_change_the_scores(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 4)).astype(np.float32)
    detector = adlib.HotellingT2().fit(x)
    capsys.readouterr()
    quiet = detector.score(x)
    assert capsys.readouterr().out == "", "one pass over an array is fast: no bar by default"
    loud = detector.score(x, batch_size=64, verbose=1)  # scored in chunks of 16 batches behind the bar
    assert "5000/5000" in capsys.readouterr().out
    np.testing.assert_array_equal(loud, quiet)
    with pytest.raises(ValueError, match="verbose"):
        detector.score(x, verbose=2)
    streamed = detector.score(iter(np.array_split(x, 7)))  # a stream of unknown length: a bar by default
    out = capsys.readouterr().out
    assert "5000" in out and out.endswith("\n"), "the stream's bar ends with the count of samples scored"
    np.testing.assert_allclose(streamed, quiet)


def test_scores_that_depend_on_the_batch_are_not_chunked_behind_the_bar():
    x = np.random.default_rng(0).normal(size=(5000, 4)).astype(np.float32)
    vae = adlib.VAE().fit(x, steps=2, verbose=0)  # Monte-Carlo noise drawn per array scored
    np.testing.assert_array_equal(vae.score(x, batch_size=64, verbose=1), vae.score(x, batch_size=64, verbose=0))
