"""Adversarial detectors (GANomaly, OCGAN, AnoGAN, ADGAN, EfficientGAN, ALOCC, f-AnoGAN): their losses train
what the papers say, their searches, mining and scores work, bad settings are refused (saving, loading and
bad input for every detector on every backend: tests/test_backends.py)."""
import functools
import pickle
import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import adlib
from adlib import nets
from adlib.detectors.ganomaly import ReinitialiseCollapsedDiscriminator
from tests.conftest import blobs_and_rings, glyph_task

SMALL = dict(latent_dim=16, base_filters=8, learning_rate=1e-3, seed=0)
FACTORIES = {
    "GANomaly": lambda: adlib.GANomaly(**SMALL),
    "OCGAN": lambda: adlib.OCGAN(**SMALL),
    "AnoGAN": lambda: adlib.AnoGAN(n_seeds=3, search_steps=20, **SMALL),
    "ADGAN": lambda: adlib.ADGAN(n_seeds=2, search_steps=5, **SMALL),
    "EfficientGAN": lambda: adlib.EfficientGAN(**SMALL),
    "ALOCC": lambda: adlib.ALOCC(**SMALL),
    "FAnoGAN": lambda: adlib.FAnoGAN(**SMALL),
}


@functools.cache
def trained_detector(name: str):
    """A detector trained once per session for 2 epochs on 1,000 blob images, for the tests of its
    search, mining and scores (that every detector learns is tests/test_learning.py; saving, loading and
    refusing bad input, for every detector on every backend, tests/test_backends.py)."""
    adlib.seed_everything(0)
    return FACTORIES[name]().fit(blobs_and_rings()[0], epochs=2, batch_size=32, verbose=0)


def test_a_scored_adgan_pickles_and_scores_the_same(blob_ring_images):
    """Scoring builds and caches ADGAN's compiled search, which cannot be pickled: pickling leaves it out."""
    detector = trained_detector("ADGAN")
    x = blob_ring_images[1][:4]
    scores = detector.score(x, verbose=0)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(detector)).score(x, verbose=0), scores, rtol=1e-6)


@pytest.mark.parametrize("name,loss", [("GANomaly", "con_loss"), ("OCGAN", "rec_loss"), ("ALOCC", "rec_loss"),
                                       ("FAnoGAN", "encoder_loss")])
def test_training_reduces_reconstruction_loss(name, loss):
    x_train, _, _ = blobs_and_rings(n_train=300)
    adlib.seed_everything(0)
    detector = FACTORIES[name]().fit(x_train, steps=60, batch_size=32, verbose=0)
    history = detector.history_[loss]
    assert history[-1] < 0.8 * history[0], history


def test_efficientgan_encoder_and_generator_reconstruct_better_after_training():
    x_train, _, _ = blobs_and_rings(n_train=300)
    adlib.seed_everything(0)
    detector = FACTORIES["EfficientGAN"]()
    detector.fit(x_train, epochs=1, batch_size=300, verbose=0)  # one step: networks barely trained
    before = np.abs(x_train - detector.reconstruct(x_train)).mean()
    detector.fit(x_train, epochs=10, batch_size=32, verbose=0)
    after = np.abs(x_train - detector.reconstruct(x_train)).mean()
    assert after < 0.8 * before, (before, after)


def test_anogan_latent_search_lowers_its_own_loss(blob_ring_images):
    detector = trained_detector("AnoGAN")
    x = blob_ring_images[1][::20]
    one_step, _ = detector.latent_search(x, steps=1)
    many_steps, z = detector.latent_search(x, steps=100)
    assert z.shape == (len(x), detector.latent_dim)
    assert many_steps.mean() < 0.9 * one_step.mean()
    assert np.mean(many_steps < one_step) > 0.9
    with pytest.raises(ValueError, match="at least 1"):
        detector.latent_search(x, steps=0)


def test_anogan_score_is_the_mean_over_starts_and_z_the_best_start(blob_ring_images):
    """The score averages the final loss of ``n_seeds`` searches; the code returned is the one that
    ended lowest, so its loss is at most the mean; how inputs are batched changes nothing."""
    detector = trained_detector("AnoGAN")
    x = blob_ring_images[1][::40]
    loss, z = detector.latent_search(x)
    best = detector.model_.search_loss(detector._checked(x), z, detector.feature_weight).numpy()
    assert np.all(best <= loss * (1 + 1e-5))
    assert np.mean(best < 0.99 * loss) > 0.5  # the starts do end in different places
    chunked, _ = detector.latent_search(x, batch_size=detector.n_seeds)
    np.testing.assert_allclose(chunked, loss, rtol=1e-5)


def test_adgan_search_lowers_its_loss_and_leaves_the_generator_alone(blob_ring_images):
    detector = trained_detector("ADGAN")
    x = blob_ring_images[1][::40]
    before = [w.copy() for w in detector.model_.average_generator.get_weights()]
    one_step, per_seed_one = detector.latent_search(x, steps=1)
    many_steps, per_seed = detector.latent_search(x, steps=30)
    assert per_seed.shape == (len(x), detector.n_seeds)
    np.testing.assert_allclose(many_steps, per_seed.mean(axis=1), rtol=1e-6)
    assert many_steps.mean() < 0.9 * one_step.mean()
    assert np.mean(per_seed < per_seed_one) > 0.9
    # every search adapts private copies of the generator: the detector's own weights never move
    for old, new in zip(before, detector.model_.average_generator.get_weights()):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(detector.score(x), detector.score(x))


def test_adgan_batched_searches_equal_searches_one_input_at_a_time(blob_ring_images):
    """The searches of a batch share matrix products but not weights: searching eight inputs in one
    call gives each the losses it gets alone (one input's seeds per call)."""
    detector = trained_detector("ADGAN")
    x = blob_ring_images[1][::40][:8]
    _, together = detector.latent_search(x, batch_size=len(x) * detector.n_seeds)
    _, alone = detector.latent_search(x, batch_size=detector.n_seeds)
    np.testing.assert_allclose(together, alone, rtol=1e-4)


def test_adgan_generator_steps_lower_the_loss_further_than_code_steps_alone(blob_ring_images):
    """γ_θ > 0 is what ADGAN adds to AnoGAN: with the same codes and steps, adapting the generator
    too explains every input better."""
    detector = trained_detector("ADGAN")
    x = blob_ring_images[1][::40]
    adapted, _ = detector.latent_search(x, steps=20)
    rate, detector.generator_learning_rate = detector.generator_learning_rate, 0.0
    try:
        fixed, _ = detector.latent_search(x, steps=20)
    finally:
        detector.generator_learning_rate = rate
    assert np.all(adapted < fixed)


@pytest.mark.parametrize("name, pairs", [("AnoGAN", [("average_generator", "generator")]),
                                         ("OCGAN", [("average_encoder", "encoder"), ("average_decoder", "decoder")])])
def test_scores_come_from_a_moving_average_of_the_trained_weights(name, pairs):
    x_train = blobs_and_rings(n_train=64)[0]
    detector = getattr(adlib, name)(**SMALL).fit(x_train, steps=20, batch_size=16, verbose=0)
    averaged = detector.model_
    assert float(averaged.average_updates) == 20
    for average, trained in pairs:  # the average trails the last weights
        assert any(not np.allclose(a, c) for a, c in zip(getattr(averaged, average).get_weights(),
                                                          getattr(averaged, trained).get_weights()))
    if name == "AnoGAN":  # what the search draws is the averaged generator
        z = np.random.default_rng(0).standard_normal((4, detector.latent_dim)).astype(np.float32)
        drawn = detector.generate(z)
        np.testing.assert_allclose(drawn, np.asarray(detector.model_.average_generator(z)), atol=1e-6)
        assert not np.allclose(drawn, np.asarray(detector.model_.generator(z)), atol=1e-4)
    else:  # what scores is the averaged autoencoder
        x = x_train[:4]  # 16x16x1: the networks' own size, so no padding to undo
        rebuilt = detector.reconstruct(x)
        model = detector.model_
        np.testing.assert_allclose(rebuilt, np.asarray(model.average_decoder(model.average_encoder(x))), atol=1e-6)
        assert not np.allclose(rebuilt, np.asarray(model.decoder(model.encoder(x))), atol=1e-4)
    plain = getattr(adlib, name)(average_decay=0.0, **SMALL).fit(x_train, steps=5, batch_size=16, verbose=0).model_
    for average, trained in pairs:  # decay 0: the last weights, as in the papers
        for a, c in zip(getattr(plain, average).get_weights(), getattr(plain, trained).get_weights()):
            np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="average_decay"):
        getattr(adlib, name)(average_decay=1.0).fit(np.zeros((4, 2)))  # checked at fit


def test_ocgan_mining_raises_the_classifiers_negative_probability():
    detector = trained_detector("OCGAN")
    codes = np.random.default_rng(0).uniform(-1, 1, size=(64, detector.latent_dim)).astype(np.float32)
    mined = detector.mine(codes, steps=5)
    assert mined.min() >= -1 and mined.max() <= 1 and not np.allclose(mined, codes)

    def negative_probability(c):
        decoded = detector.model_.decoder.predict(c, verbose=0)  # mining works on the trained decoder
        logit = np.asarray(detector.model_.classifier_logit(decoded))
        return 1 / (1 + np.exp(logit.ravel()))

    assert negative_probability(mined).mean() > negative_probability(codes).mean()


def test_ocgan_codes_do_not_saturate_on_low_contrast_images():
    """Contrast-normalised images span a narrow range; there a tanh code without the normalisation in
    front of it saturated at +-1 within 60 steps (73% of the entries, one code for all images)."""
    x_train = 0.45 + 0.1 * glyph_task()[0]
    adlib.seed_everything(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", adlib.CollapseWarning)  # 60 steps are too few to reconstruct well
        codes = adlib.OCGAN(seed=0).fit(x_train, steps=60, verbose=0).encode(x_train)
    assert np.mean(np.abs(codes) > 0.99) < 0.1
    assert codes.std(axis=0).mean() > 0.05


def test_ganomaly_reinitialises_a_collapsed_discriminator():
    model = adlib.GANomaly(**SMALL).fit(blobs_and_rings(n_train=64)[0], epochs=1, verbose=0).model_
    before = [w.copy() for w in model.discriminator.get_weights()]
    callback = ReinitialiseCollapsedDiscriminator(tolerance=1e-5)
    callback.set_model(model)
    callback.on_train_batch_end(0)  # healthy discriminator: untouched
    assert callback.resets == 0
    model.last_d_loss.assign(0.0)   # collapsed: redrawn
    callback.on_train_batch_end(1)
    assert callback.resets == 1
    assert any(not np.allclose(a, b) for a, b in zip(before, model.discriminator.get_weights()))


@pytest.mark.parametrize("name", FACTORIES)
def test_any_image_size_is_accepted_and_scored_per_input_image(name):
    x = np.random.default_rng(0).uniform(size=(8, 12, 20)).astype(np.float32)  # grey, not square
    detector = FACTORIES[name]().fit(x, steps=1, batch_size=4, verbose=0)
    assert detector.score(x).shape == (8,)
    if hasattr(detector, "reconstruct"):
        assert detector.reconstruct(x[:2]).shape == (2, 12, 20)


def test_bad_settings_and_data_raise_clear_errors():
    with pytest.raises(ValueError, match="images"):
        adlib.GANomaly(**SMALL).fit(np.zeros((8, 4, 4, 4, 1), np.float32), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="images"):
        adlib.OCGAN(**SMALL).fit(np.zeros((8, 5), np.float32), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="search_steps"):
        adlib.AnoGAN(search_steps=0).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="n_seeds"):
        adlib.ADGAN(n_seeds=0).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="n_seeds"):
        adlib.AnoGAN(n_seeds=0).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="generator_learning_rate"):
        adlib.ADGAN(generator_learning_rate=-1e-4).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="discrimination"):
        adlib.EfficientGAN(discrimination="hinge").fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="reconstruction_weight"):
        adlib.EfficientGAN(reconstruction_weight=-1).fit(np.zeros((4, 2)))  # checked at fit
    with pytest.raises(ValueError, match="non-negative"):
        adlib.GANomaly(reconstruction_weight=-1).fit(np.zeros((4, 2)))  # checked at fit


def test_gan_detectors_work_on_tables(manifold_data):
    """Dense networks for (n, d) data: EfficientGAN is the paper's KDD Cup 99 model."""
    x_train, x_test, y_test = manifold_data
    adlib.seed_everything(0)
    detector = adlib.EfficientGAN(latent_dim=4, learning_rate=1e-3, seed=0).fit(x_train, epochs=10, batch_size=64,
                                                                              verbose=0)
    assert roc_auc_score(y_test, detector.score(x_test)) >= 0.9


def test_efficientgan_reconstruction_term_makes_the_encoder_invert_the_generator():
    """The default reconstruction term against the paper's BiGAN losses (reconstruction_weight=0):
    after the same short training G(E(x)) is markedly closer to x, at under half the error of the mean image."""
    x = blobs_and_rings()[0]
    default = adlib.EfficientGAN().reconstruction_weight
    ratios = {}
    for weight in (0.0, default):
        adlib.seed_everything(0)
        detector = adlib.EfficientGAN(reconstruction_weight=weight, **SMALL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", adlib.CollapseWarning)
            detector.fit(x, steps=400, verbose=0)
        ratios[weight] = detector.reconstruction_ratio_
        assert len(detector.history_["rec_loss"]) == len(detector.history_["g_loss"])
    assert ratios[default] < 0.5 and ratios[default] < 0.75 * ratios[0.0], ratios


def test_alocc_scores(blob_ring_images):
    """All three ALOCC scores come from one pass and the default one agrees with score()."""
    detector = trained_detector("ALOCC")
    x_test = blob_ring_images[1]
    scores = detector.all_scores(x_test)
    assert set(scores) == {"d_of_r", "d", "reconstruction"}
    np.testing.assert_allclose(scores["reconstruction"], detector.score(x_test), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="score_type must be"):
        adlib.ALOCC(score_type="likelihood").fit(np.zeros((4, 2)))  # checked at fit


def test_fanogan_critic_updates_each_see_a_fresh_batch():
    """A generator step consumes n_critic batches (one per critic update), so one pass over 128 images
    in batches of 16 is 2 generator steps (80 images each) and 8 encoder steps."""
    x_train, _, _ = blobs_and_rings(n_train=128)
    detector = adlib.FAnoGAN(**SMALL).fit(x_train, epochs=1, encoder_epochs=1, batch_size=16, verbose=0)
    assert detector.epoch_steps_ == [2, 8]


@pytest.mark.parametrize("shape, resized, side", [((28, 28, 1), (28, 28), 32), ((50, 50, 1), (50, 50), 64),
                                                  ((8, 8, 1), (16, 16), 16), ((20, 20, 1), (32, 32), 32),
                                                  ((30, 40, 3), (48, 64), 64), ((90, 70, 1), (64, 50), 64)])
def test_image_geometry_pads_images_that_nearly_fill_the_working_size_and_resizes_the_rest(shape, resized, side):
    geometry = nets.image_geometry(shape)
    assert (geometry.resized, geometry.side) == (resized, side)
    encoder = nets.dcgan_encoder(shape, 4)
    assert encoder.predict(np.zeros((2, *shape), np.float32), verbose=0).shape == (2, 4)


def test_dcgan_trunk_normalisations():
    """The DCGAN trunk takes BatchNorm, per-sample LayerNorm (for gradient-penalty critics) or none."""
    kinds = {norm: [type(layer).__name__ for layer in nets.dcgan_encoder((28, 28, 1), 8, norm=norm).layers]
             for norm in nets.NORMS}
    assert "BatchNormalization" in kinds["batch"] and "LayerNormalization" not in kinds["batch"]
    assert "LayerNormalization" in kinds["layer"] and "BatchNormalization" not in kinds["layer"]
    assert not {"BatchNormalization", "LayerNormalization"} & set(kinds[None])
    with pytest.raises(ValueError, match="norm must be one of"):
        nets.dcgan_encoder((28, 28, 1), 8, norm="instance")


def test_fanogan_trains_gan_then_encoder():
    x_train, _, _ = blobs_and_rings(n_train=128)
    detector = adlib.FAnoGAN(**SMALL).fit(x_train, epochs=2, encoder_epochs=3, batch_size=32, verbose=0)
    assert len(detector.history_["g_loss"]) == 2 and len(detector.history_["encoder_loss"]) == 3
    generator_before = [w.copy() for w in detector.model_.generator.get_weights()]
    detector.fit(x_train, epochs=0, encoder_epochs=1, batch_size=32, verbose=0)  # encoder only
    for a, b in zip(generator_before, detector.model_.generator.get_weights()):
        np.testing.assert_array_equal(a, b)
