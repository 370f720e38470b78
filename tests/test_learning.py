"""Every image detector learns with its default settings: on glyph images that differ only in the
layout of their strokes (same ink), a short training run ranks the anomalies above the normal class."""
import warnings

import pytest
from sklearn.metrics import roc_auc_score

import adlib
from tests.conftest import glyph_task

IMAGE_DETECTORS = ["AE", "DenoisingAE", "VAE", "AEGMM", "VAEGMM", "DeepSVDD", "GANomaly", "OCGAN", "ALOCC",
                   "EfficientGAN",
                   "FAnoGAN", "AnoGAN", "ADGAN"]
STEPS = 300  # a short budget, so the test runs in seconds; every setting of the detector is its default


@pytest.fixture(scope="module")
def glyphs():
    return glyph_task()


@pytest.mark.parametrize("name", IMAGE_DETECTORS)
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
