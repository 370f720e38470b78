"""Every detector is a scikit-learn estimator (issue 39): the constructor stores its arguments and
nothing else, ``fit`` checks them and creates the fitted attributes, and ``clone``,
``check_is_fitted``, ``set_params``, tags and pipelines work as scikit-learn's own estimators do."""
from __future__ import annotations

import inspect
import json
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

import adlib
from adlib import persistence
from adlib.detectors._keras import KerasDetector

DETECTORS = [obj for name in adlib.__all__ if isinstance(obj := getattr(adlib, name), type)
             and issubclass(obj, adlib.Detector) and obj is not adlib.Detector]
IMAGES_ONLY = {"OCGAN"}
# a parameter of the parent's constructor that the subclass fixes (it is not the subclass's own parameter)
FIXED_PARENT_PARAMETERS = {"ADGAN": {"feature_weight"}, "OCGAN": {"hidden"}}


def small_data(cls) -> np.ndarray:
    """A 64x4 table, or 16x16 grey images in [0, 1] for the detectors defined for images only."""
    rng = np.random.default_rng(0)
    if cls.__name__ in IMAGES_ONLY:
        return rng.uniform(size=(32, 16, 16)).astype(np.float32)
    return rng.normal(size=(64, 4)).astype(np.float32)


def fitted(cls, **params):
    detector = cls(**params)
    kwargs = dict(steps=2, batch_size=16, verbose=0) if issubclass(cls, KerasDetector) else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two steps do not train a network: collapse warnings expected
        return detector.fit(small_data(cls), **kwargs)


def test_every_public_detector_is_covered():
    assert len(DETECTORS) >= 21 and IMAGES_ONLY <= {cls.__name__ for cls in DETECTORS}


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_clone_and_get_params_round_trip(cls):
    detector = cls()
    params = detector.get_params()
    signature = inspect.signature(cls.__init__).parameters
    assert list(params) == sorted(name for name in signature if name != "self")
    twin = clone(detector)
    assert type(twin) is cls and twin is not detector and twin.get_params() == params
    assert cls(**params).get_params() == params
    assert repr(twin) == repr(detector)


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_the_constructor_stores_its_parameters_and_nothing_else(cls):
    detector = cls()
    extra = set(vars(detector)) - set(detector.get_params())
    assert extra == FIXED_PARENT_PARAMETERS.get(cls.__name__, set()), f"{cls.__name__} also sets {sorted(extra)}"
    for name, value in detector.get_params().items():  # stored unchanged: the default object itself
        assert value is inspect.signature(cls.__init__).parameters[name].default, name


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_check_is_fitted_before_and_after_fit(cls):
    detector = cls()
    with pytest.raises(NotFittedError):
        check_is_fitted(detector)
    assert not detector.is_fitted
    detector = fitted(cls)
    check_is_fitted(detector)
    assert detector.is_fitted and detector.input_shape_ == small_data(cls).shape[1:]
    assert detector.threshold_ is None and isinstance(detector.history_, dict)


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_set_params_stores_the_very_object(cls):
    detector = cls()
    name = sorted(detector.get_params())[0]
    value = object()  # stored, not checked: fit checks it
    assert detector.set_params(**{name: value}) is detector
    assert detector.get_params()[name] is value
    hidden = [7, 5]
    if "hidden" in detector.get_params():
        assert detector.set_params(hidden=hidden).get_params()["hidden"] is hidden


@pytest.mark.parametrize("make, data, match", [
    (lambda: adlib.KNN(n_neighbors=0), np.zeros((8, 2)), "n_neighbors must be >= 1"),
    (lambda: adlib.AE(outlier_perc=0), np.zeros((8, 2)), r"outlier_perc is a percentage in \(0, 100\]"),
    (lambda: adlib.ALOCC(score_type="likelihood"), np.zeros((8, 2)), "score_type must be one of"),
    (lambda: adlib.OCGAN(mining_steps=-1), np.zeros((8, 16, 16)), "mining_steps, mining_step_size"),
], ids=["KNN", "AE", "ALOCC", "OCGAN"])
def test_a_bad_argument_is_refused_at_fit_not_at_construction(make, data, match):
    detector = make()  # does not raise
    with pytest.raises(ValueError, match=match):
        detector.fit(data)
    assert not detector.is_fitted and set(vars(detector)) <= set(detector.get_params()) | {"hidden"}


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_tags_say_what_data_a_detector_takes(cls):
    tags = get_tags(cls())
    assert tags.input_tags.two_d_array is (cls.__name__ not in IMAGES_ONLY)
    assert tags.input_tags.three_d_array
    assert not tags.input_tags.allow_nan and not tags.target_tags.required


def test_fit_accepts_and_ignores_y_so_that_a_pipeline_works():
    x = np.random.default_rng(0).normal(loc=5.0, scale=3.0, size=(200, 4))
    y = np.zeros(len(x))
    np.testing.assert_array_equal(adlib.KNN().fit(x, y).score(x), adlib.KNN().fit(x).score(x))
    pipeline = make_pipeline(StandardScaler(), adlib.KNN()).fit(x, y)
    check_is_fitted(pipeline)
    expected = adlib.KNN().fit(StandardScaler().fit_transform(x)).score(StandardScaler().fit(x).transform(x))
    np.testing.assert_allclose(pipeline.decision_function(x), expected)


def test_a_loaded_detector_is_fitted_and_clones_unfitted(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 4))
    loaded = adlib.load_detector(adlib.KNN(n_neighbors=3).fit(x).save(tmp_path / "knn"))
    check_is_fitted(loaded)
    with pytest.raises(NotFittedError):
        check_is_fitted(clone(loaded))


def test_numpy_and_tuple_arguments_are_saved_as_json(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 4))
    detector = adlib.KNN(n_neighbors=np.int64(3)).fit(x)
    assert type(detector.get_params()["n_neighbors"]) is np.int64  # stored as passed
    loaded = adlib.load_detector(detector.save(tmp_path / "knn"))
    assert type(loaded.n_neighbors) is int and loaded.n_neighbors == 3
    np.testing.assert_array_equal(loaded.score(x), detector.score(x))
    ratio = adlib.DensityRatio(width_factors=np.array([0.5, 1.0])).fit(x)
    assert adlib.load_detector(ratio.save(tmp_path / "ratio")).width_factors == [0.5, 1.0]


def test_an_alocc_saved_with_the_old_parameter_name_score_loads(tmp_path):
    detector = fitted(adlib.ALOCC, latent_dim=4, hidden=(8,), score_type="d_of_r", seed=0)
    path = detector.save(tmp_path / "alocc")
    meta = json.loads((path / persistence.CONFIG_FILE).read_text())
    meta["config"]["score"] = meta["config"].pop("score_type")  # as adlib wrote it before the rename
    meta["checksum"] = persistence.content_checksum(meta)
    (path / persistence.CONFIG_FILE).write_text(json.dumps(meta))
    loaded = adlib.load_detector(path)
    assert loaded.score_type == "d_of_r" and "score" not in loaded.get_params()
    x = small_data(adlib.ALOCC)
    np.testing.assert_allclose(loaded.score(x, verbose=0), detector.score(x, verbose=0), rtol=1e-6)
