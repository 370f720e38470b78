"""Every image detector learns with its default settings: on glyph images that differ only in the
layout of their strokes (same ink), a short training run ranks the anomalies above the normal class."""
import os
import warnings

import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import adlib
from tests.conftest import glyph_task

IMAGE_DETECTORS = ["AE", "DenoisingAE", "VAE", "AEGMM", "VAEGMM", "DeepSVDD", "GANomaly", "OCGAN", "ALOCC",
                   "EfficientGAN",
                   "FAnoGAN", "AnoGAN", "ADGAN"]
STEPS = 300  # a short budget, so the test runs in seconds; every setting of the detector is its default
# Under PyTorch (`make unit-torch`), the four slowest learners here took 3.5 CPU-minutes (ADGAN 87 s,
# OCGAN 41 s, FAnoGAN 41 s, EfficientGAN 39 s), more than CI's 25 minutes can hold with the other two
# backends; so do three that another learner here stands for on every backend (DenoisingAE: AE's
# model with noisy inputs; VAEGMM: AEGMM's with VAE's encoder; ALOCC: two optimisers, as GANomaly). On
# PyTorch and JAX they are covered by fit with validation, score, save and load (test_backends),
# validation that leaves training unchanged (test_validation_data) and the engine's gradient tests
# (test_engine); they learn on TensorFlow here, and on the other backends with `make unit-all`.
SLOW_OFF_TENSORFLOW = {"OCGAN", "EfficientGAN", "FAnoGAN", "ADGAN", "DenoisingAE", "VAEGMM", "ALOCC"}


@pytest.fixture(scope="module")
def glyphs():
    return glyph_task()


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.skipif(
        name in SLOW_OFF_TENSORFLOW and keras.backend.backend() != "tensorflow" and not os.environ.get("ADLIB_ALL_TESTS"),
        reason="learns on TensorFlow; on PyTorch and JAX in `make unit-all` (see SLOW_OFF_TENSORFLOW)"))
    for name in IMAGE_DETECTORS])
def test_default_detector_ranks_other_glyphs_above_sevens(name, glyphs):
    x_train, x_test, y_test = glyphs
    adlib.seed_everything(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", adlib.CollapseWarning)
        detector = getattr(adlib, name)().fit(x_train, steps=STEPS, verbose=0)
    auroc = roc_auc_score(y_test, detector.score(x_test))
    assert auroc >= 0.5, f"{name} ranks the normal class as more anomalous (AUROC {auroc:.3f})"
    assert auroc >= 0.85, f"{name} AUROC {auroc:.3f}"


def test_the_task_needs_structure_not_ink(glyphs):
    _, x_test, y_test = glyphs
    ink = x_test.reshape(len(x_test), -1).sum(axis=1)
    assert 0.35 < roc_auc_score(y_test, ink) < 0.65, "the amount of ink alone must not separate the classes"


def test_a_collapsed_decoder_is_reported_and_a_trained_one_is_not(glyphs):
    x_train = glyphs[0]
    with pytest.warns(adlib.CollapseWarning, match="no better than their mean image"):
        adlib.AE(learning_rate=0.0).fit(x_train, steps=2, verbose=0)  # untrained: outputs are noise around 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error", adlib.CollapseWarning)
        detector = adlib.AE().fit(x_train, steps=STEPS, verbose=0)
    assert detector.reconstruction_ratio_ < 0.3


@pytest.mark.parametrize("name", ["AE", "VAE", "AEGMM"])
def test_a_detectors_seed_alone_fixes_its_initial_weights(name):
    """Whatever drew random numbers before (another detector, a global seed), the same ``seed`` gives
    the same network: chapters train several detectors in a row and compare them seed by seed."""
    x = np.random.default_rng(0).standard_normal((256, 12)).astype("float32")
    first_weights = []
    for global_seed in (0, 5):
        adlib.seed_everything(global_seed)
        np.random.standard_normal(10)  # noqa: NPY002 (an unrelated draw from the global generator)
        detector = getattr(adlib, name)(seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", adlib.CollapseWarning)
            detector.fit(x, steps=1, verbose=0)
        first_weights.append(detector.model_.get_weights()[0])
    np.testing.assert_array_equal(first_weights[0], first_weights[1])
