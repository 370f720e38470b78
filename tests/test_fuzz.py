"""Fuzzed inputs and save folders: random shapes, dtypes, NaN/inf, empty and huge arrays into every
method of one detector per family, and random byte damage to every file of a save. Only the library's
documented exceptions may come out, each with a message; a valid input gets a valid answer."""
import functools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import NotFittedError

import adlib
from adlib.base import ThresholdNotSetError
from tests.conftest import blobs_and_rings, manifold

DOCUMENTED = (ValueError, TypeError, NotFittedError, ThresholdNotSetError)
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FIT_FUZZ = settings(FUZZ, max_examples=8)

FAMILIES = {
    "AE": lambda: adlib.AE(latent_dim=2, hidden=(8,), seed=0),
    "VAE": lambda: adlib.VAE(latent_dim=2, hidden=(8,), seed=0),
    "AEGMM": lambda: adlib.AEGMM(seed=0),
    "GANomaly": lambda: adlib.GANomaly(latent_dim=8, base_filters=4, seed=0),
    "AnoGAN": lambda: adlib.AnoGAN(latent_dim=8, base_filters=4, search_steps=3, seed=0),
    "DeepSVDD": lambda: adlib.DeepSVDD(rep_dim=4, hidden=(8,), pretrain_steps=10, seed=0),
    "HotellingT2": lambda: adlib.HotellingT2(),
    "KNN": lambda: adlib.KNN(),
    "IForest": lambda: adlib.IForest(n_estimators=20),
    "NaiveBayes": lambda: adlib.NaiveBayes(),
    "GMM": lambda: adlib.GMM(max_components=3),
    "KMeansDetector": lambda: adlib.KMeansDetector(max_clusters=4),
    "DensityRatio": lambda: adlib.DensityRatio(n_centers=20),
}
IMAGES = {"GANomaly", "AnoGAN"}
SPECIAL = [0.0, 1.0, -1.0, 0.5, 1e30, -1e30, 3e38, np.nan, np.inf, -np.inf]
DTYPES = ["float32", "float64", "float16", "int8", "int64", "uint8", "bool", "complex64", "U3", "O", "M8[s]"]


@functools.cache
def fitted(name: str):
    adlib.seed_everything(0)
    x = blobs_and_rings(n_train=64, n_test=4)[0] if name in IMAGES else manifold(n_train=128)[0][:, :6]
    return FAMILIES[name]().fit(x, epochs=1, batch_size=32, verbose=0), x


@st.composite
def arrays_for(draw, sample_shape: tuple[int, ...] | None):
    """Any array: half the time with the fitted per-sample shape (so the checks past the shape
    check are reached), else of a random shape; any dtype; special values mixed in."""
    if sample_shape is not None and draw(st.booleans()):
        shape = (draw(st.integers(0, 5)), *sample_shape)
    else:
        shape = tuple(draw(st.lists(st.integers(0, 6), max_size=5)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if dtype.kind in "fc":
        elements = st.one_of(st.sampled_from(SPECIAL), st.floats(-10, 10, width=32))
        with np.errstate(over="ignore", invalid="ignore"):
            return draw(hnp.arrays(np.float64, shape, elements=elements)).astype(dtype)
    return draw(hnp.arrays(dtype, shape))


def check_outcome(call, x):
    """``call(x)`` either raises a documented exception with a message, or answers validly."""
    try:
        result = call(x)
    except DOCUMENTED as exc:
        assert len(str(exc)) > 20, f"uninformative {type(exc).__name__}: {exc!r}"
        return None
    x = np.asarray(x)
    assert x.ndim >= 2 and len(x) > 0 and x.dtype.kind in "biuf", f"accepted bad input {x.dtype} {x.shape}"
    return result


def valid_scores(scores, n):
    assert isinstance(scores, np.ndarray) and scores.shape == (n,) and not np.isnan(scores).any()


@pytest.mark.parametrize("name", FAMILIES)
def test_score_infer_threshold_and_predict_on_fuzzed_inputs(name):
    detector, x_train = fitted(name)
    detector.infer_threshold(x_train, percentile=95)

    @FUZZ
    @given(x=arrays_for(x_train.shape[1:]), method=st.sampled_from(["score", "infer_threshold", "predict"]))
    def run(x, method):
        threshold = detector.threshold_
        result = check_outcome(getattr(detector, method), x)
        if result is None:
            assert detector.threshold_ == threshold, "a refused input changed the threshold"
        elif method == "score":
            valid_scores(result, len(x))
        elif method == "predict":
            valid_scores(result.instance_score, len(x))
            assert result.is_outlier.shape == (len(x),)
        else:
            assert np.isfinite(result) and result == detector.threshold_
        detector.threshold_ = threshold

    run()


@pytest.mark.parametrize("name", FAMILIES)
def test_fit_on_fuzzed_inputs(name):
    sample_shape = (16, 16, 1) if name in IMAGES else (3,)

    @FIT_FUZZ
    @given(x=arrays_for(sample_shape))
    def run(x):
        detector = FAMILIES[name]()
        result = check_outcome(lambda a: detector.fit(a, epochs=1, batch_size=4, verbose=0), x)
        if result is not None:
            valid_scores(detector.score(x), len(x))
        else:
            assert not detector.is_fitted

    run()


@pytest.mark.parametrize("method", ["score", "infer_threshold", "predict", "feature_score", "save"])
def test_every_method_before_fit_raises_not_fitted(method, tmp_path):
    detector = adlib.AE()
    args = (tmp_path / "x",) if method == "save" else (np.zeros((4, 3), np.float32),)
    with pytest.raises(NotFittedError, match="fit"):
        getattr(detector, method)(*args)


def same_json(file: str, a: bytes, b: bytes) -> bool:
    """Whether two versions of a JSON file hold the same content (a change of whitespace is no damage)."""
    if not file.endswith(".json"):
        return False
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return False


@pytest.mark.parametrize("name", ["AE", "GANomaly", "HotellingT2"])
def test_random_byte_damage_to_any_file_of_a_save_is_named_on_load(name, tmp_path):
    detector, x = fitted(name)
    reference = detector.save(tmp_path / "reference")
    files = sorted(p.name for p in reference.iterdir())
    expected_scores = detector.score(x[:8])

    @FUZZ
    @given(data=st.data())
    def run(data):
        file = data.draw(st.sampled_from(files))
        original = (reference / file).read_bytes()
        if data.draw(st.booleans()):
            damaged = original[: data.draw(st.integers(0, len(original)))]
        else:
            at = data.draw(st.integers(0, len(original) - 1))
            damaged = original[:at] + bytes([data.draw(st.integers(0, 255))]) + original[at + 1:]
        with tempfile.TemporaryDirectory(dir=tmp_path) as work:
            copy = Path(shutil.copytree(reference, Path(work) / "save"))
            (copy / file).write_bytes(damaged)
            if damaged == original or same_json(file, damaged, original):  # e.g. a space for a newline
                np.testing.assert_array_equal(adlib.load_detector(copy).score(x[:8]), expected_scores)
                return
            with pytest.raises(ValueError, match=file.replace(".", r"\.")):
                adlib.load_detector(copy)

    run()
