"""Every Keras detector on the backend this test session runs (``KERAS_BACKEND``; CI runs this file on
TensorFlow, JAX and PyTorch): fit with validation data, score, save and load, refuse bad input, on a
table, on grey images ``(n, h, w)`` and on images with a channel axis. (That a detector saved on
TensorFlow loads on JAX and on PyTorch with the same scores: tests/test_refactor_guard.py.)"""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import adlib
from tests.conftest import blob_images, plane_table

KERAS = ["AE", "DenoisingAE", "VAE", "AEGMM", "VAEGMM", "DeepSVDD", "GANomaly", "OCGAN", "ALOCC", "EfficientGAN",
         "FAnoGAN", "AnoGAN", "ADGAN"]
IMAGES_ONLY = {"OCGAN"}
ROOT = Path(__file__).parent.parent


# the three forms of input a detector takes: a table, grey images without a channel axis, images with one
GREY = "grey (n, h, w)"
DATA = {
    "table": lambda n, seed: plane_table(2 * n, seed),
    GREY: lambda n, seed: blob_images(n, seed),
    "channels (n, h, w, c)": lambda n, seed: blob_images(n, seed)[..., None],
}


def _fitted(name: str, x: np.ndarray, steps: int = 6, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", adlib.CollapseWarning)
        return getattr(adlib, name)(seed=0).fit(x, steps=steps, batch_size=16, verbose=0, **kwargs)


def _cases():
    return [pytest.param(name, kind, marks=pytest.mark.skipif(
                kind == GREY and keras.backend.backend() != "tensorflow" and not os.environ.get("ADLIB_ALL_TESTS"),
                reason="grey images get their channel axis before the backend sees them (NumPy, the same on every "
                       "backend): on JAX and PyTorch with `make unit-all`"))
            for name in KERAS for kind in DATA if not (kind == "table" and name in IMAGES_ONLY)]


@pytest.mark.parametrize(("name", "kind"), _cases())
def test_fit_validate_score_threshold_save_load_and_refuse_bad_input_on_this_backend(name, kind, tmp_path):
    """The whole life of every Keras detector on every form of input: ``fit`` with ``validation_data``
    (the validation losses are reported as ``val_*``, as the API guide promises), score, threshold,
    predict, save, load (same scores), and bad input refused with a clear error."""
    x, x_val = DATA[kind](48, 0), DATA[kind](16, 1)
    detector = _fitted(name, x[:-8], validation_data=x_val)
    validation = {key: values for key, values in detector.history_.items() if key.startswith("val_")}
    assert validation, f"{name} reported no validation loss; history has {sorted(detector.history_)}"
    for key, values in validation.items():
        assert key[len("val_"):] in detector.history_, f"{key} has no training counterpart"
        assert values and np.all(np.isfinite(values)), f"{name} {key} = {values}"
    scores = detector.score(x[-8:], verbose=0)
    assert scores.shape == (8,) and np.all(np.isfinite(scores))
    detector.infer_threshold(x[:-8], fpr=0.1)
    assert detector.predict(x[-8:]).is_outlier.shape == (8,)
    detector.save(tmp_path / "saved")
    loaded = adlib.load_detector(tmp_path / "saved")
    np.testing.assert_allclose(loaded.score(x[-8:], verbose=0), scores, rtol=1e-5, atol=1e-6)
    assert loaded.threshold_ == pytest.approx(detector.threshold_)
    # bad input is refused with a clear error, by the trained detector and the loaded one alike
    for model in (detector, loaded):
        with pytest.raises(ValueError, match="shape"):
            model.score(x[:, :4] if kind == "table" else x[:, :12, :12])
        bad = x[:4].copy()
        bad.flat[0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            model.score(bad)


def test_adlib_imports_tensorflow_only_on_tensorflow():
    """On another backend, importing adlib and fitting a detector load no TensorFlow. (Keras' own
    ``set_random_seed``, which a seeded detector calls, imports TensorFlow whenever it is installed, to
    seed it too; so the check fits an unseeded one.)"""
    script = ("import sys, numpy as np, adlib; adlib.AE().fit(np.ones((32, 3), 'float32'), steps=1, verbose=0); "
              "print('tensorflow' in sys.modules)")
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == str(keras.backend.backend() == "tensorflow")


def test_without_tensorflow_the_default_backend_says_what_to_install():
    """Before Keras is imported (whose own import would fail first with a bare ModuleNotFoundError)."""
    script = ("import importlib.util\n"
              "real = importlib.util.find_spec\n"
              "importlib.util.find_spec = lambda name, *args: None if name == 'tensorflow' else real(name, *args)\n"
              "try:\n    import adlib\nexcept ImportError as exc:\n    print(exc)\n")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=True)
    assert "pip install 'adlib[cpu]'" in done.stdout and "KERAS_BACKEND=torch" in done.stdout, done.stdout
