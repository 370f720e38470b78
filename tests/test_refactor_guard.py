"""Refactor guard: every detector's scores after a short seeded fit on fixed small data, as recorded
before the training code was restructured (issue 38: one training engine on three Keras backends).

The committed chapters were run with the recorded code. While a detector's guard passes on
TensorFlow, its training does the same arithmetic as when the chapters ran, so they stay valid
without a re-run; a guard that has to be re-recorded names the chapters to re-run (see
``chapters_using``).

The fits are tiny (a few optimiser steps, a few dozen samples) so that the guard runs in seconds
and a rounding difference in one step cannot grow into a large one; scores must match the record
to a relative 1e-5.

The scores are computed in a subprocess with one thread (see ``all_guard_scores``), which also saves
every Keras detector: ``test_the_guarded_detectors_saved_on_tensorflow_score_the_same_on`` loads them
on JAX and on PyTorch. Record again
(only when a change is meant to alter training, with the chapters it names re-run)::

    ADLIB_RECORD_GUARD=1 python -m pytest tests/test_refactor_guard.py
"""
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import adlib
from tests._workers import THREAD_VARIABLES
from tests.conftest import blob_images, folder_made_once

ROOT = Path(__file__).parent.parent
RECORD = ROOT / "tests" / "data" / "refactor_guard.json"
STEPS, BATCH = 6, 16
KERAS = ["AE", "DenoisingAE", "VAE", "AEGMM", "VAEGMM", "DeepSVDD", "GANomaly", "OCGAN", "ALOCC", "EfficientGAN",
         "FAnoGAN", "AnoGAN", "ADGAN"]
CLASSICAL = ["KNN", "OCSVM", "HotellingT2", "IForest", "KMeansDetector", "DensityRatio", "GMM", "NaiveBayes"]
IMAGES_ONLY = {"OCGAN"}
SEARCHES = {"AnoGAN", "ADGAN"}  # scores are the end of a latent search per input
NOTEBOOKS = ROOT / "notebooks"


def chapters_using(name: str) -> list[str]:
    """The chapters whose committed outputs ``name``'s training produced (re-run them if its record changes)."""
    pattern = re.compile(rf"adlib\.{name}\b")
    return [path.stem for path in sorted(NOTEBOOKS.glob("*.ipynb")) if pattern.search(path.read_text())]


def _table() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    mixing = rng.normal(size=(2, 6))
    x = (rng.normal(size=(72, 2)) @ mixing + 0.1 * rng.normal(size=(72, 6))).astype(np.float32)
    return x[:64], np.concatenate([x[64:], rng.normal(size=(8, 6)).astype(np.float32) * 2])


def _images() -> tuple[np.ndarray, np.ndarray]:
    x = blob_images(48, seed=8)
    return x[:40], x[40:]


def _cases() -> list[tuple[str, str]]:
    cases = [(name, "table") for name in KERAS + CLASSICAL if name not in IMAGES_ONLY]
    return cases + [(name, "images") for name in KERAS]


def guard_scores(name: str, data: str, save_to: Path | None = None) -> list[float]:
    """Scores of the held-out samples after ``STEPS`` seeded steps (Keras) or a fit (classical). With
    ``save_to``, a Keras detector is saved there as ``<name>-<data>``, beside its held-out samples
    (``<name>-<data>.npy``), after it scored them: the cross-backend test loads it on JAX and PyTorch."""
    x_train, x_test = _table() if data == "table" else _images()
    adlib.seed_everything(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in KERAS:
            detector = getattr(adlib, name)(seed=0).fit(x_train, steps=STEPS, batch_size=BATCH, verbose=0)
        else:
            detector = getattr(adlib, name)().fit(x_train.reshape(len(x_train), -1))
            x_test = x_test.reshape(len(x_test), -1)
        scores = [float(s) for s in detector.score(x_test, verbose=0)]
    if save_to is not None and name in KERAS:
        detector.save(save_to / f"{name}-{data}")
        np.save(save_to / f"{name}-{data}.npy", x_test)
    return scores


def _recorded() -> dict:
    return json.loads(RECORD.read_text()) if RECORD.exists() else {}


def all_guard_scores(save_to: Path) -> dict[str, list[float]]:
    """Every case's scores (and the Keras detectors saved in ``save_to``), computed in a fresh interpreter
    with one thread for TensorFlow and BLAS: a convolution's float32 sums depend on how many threads split
    them, so the record and the check must use the same number, whatever the calling process uses
    (pytest with or without workers)."""
    env = {**os.environ, **{name: "1" for name in THREAD_VARIABLES}, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "tests.test_refactor_guard", str(save_to)], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="session")
def guarded(tmp_path_factory, worker_id) -> Path:
    """A folder with every case's scores (``scores.json``) and the saved Keras detectors: made once per
    session (it trains every detector, about 90 s), for the guard and the cross-backend test."""
    def make(folder: Path) -> None:
        (folder / "scores.json").write_text(json.dumps(all_guard_scores(folder)))
    return folder_made_once(tmp_path_factory, worker_id, "refactor-guard", make)


def test_scores_after_a_seeded_fit_match_the_record(guarded):
    scores = json.loads((guarded / "scores.json").read_text())
    if os.environ.get("ADLIB_RECORD_GUARD"):
        RECORD.parent.mkdir(exist_ok=True)
        RECORD.write_text(json.dumps(dict(sorted(scores.items())), indent=1) + "\n")
    recorded = _recorded()
    changed = []
    for key, values in scores.items():
        assert key in recorded, f"no record for {key}: record it (see this module's docstring)"
        if not np.allclose(values, recorded[key], rtol=1e-5, atol=1e-7):
            name = key.split("/")[0]
            worst = float(np.max(np.abs(np.subtract(values, recorded[key]))))
            changed.append(f"{key} (largest difference {worst:.3g}; chapters: "
                           f"{', '.join(chapters_using(name)) or 'none'})")
    assert not changed, "training changed for " + "; ".join(changed) + ". If meant, record again and re-run them."


def test_every_detector_is_guarded():
    exported = {name for name in adlib.__all__ if isinstance(getattr(adlib, name), type)
                and issubclass(getattr(adlib, name), adlib.Detector) and name != "Detector"}
    assert exported == set(KERAS) | set(CLASSICAL)


LOAD_AND_SCORE = """
import json, sys
from pathlib import Path
import numpy as np
import adlib
folder = Path(sys.argv[1])
print(json.dumps({case: adlib.load_detector(folder / case).score(np.load(folder / f"{case}.npy"), verbose=0).tolist()
                  for case in sys.argv[2:]}))
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_guarded_detectors_saved_on_tensorflow_score_the_same_on(backend, guarded):
    """Every Keras detector of the guard, saved on TensorFlow (table and images), loads on ``backend`` and
    gives the scores it gave on TensorFlow."""
    pytest.importorskip(backend)
    cases = [f"{name}-{data}" for name, data in _cases() if name in KERAS]
    done = subprocess.run([sys.executable, "-c", LOAD_AND_SCORE, str(guarded), *cases],
                          env={**os.environ, "KERAS_BACKEND": backend}, cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    on_tensorflow = json.loads((guarded / "scores.json").read_text())
    for case in cases:
        name, data = case.split("-")
        # AnoGAN's and ADGAN's scores end an iterative search (Adam steps on the code, and for ADGAN on
        # generator copies): the backends' kernels round differently and the search carries the
        # difference on, to about 1% here; the others are one pass.
        np.testing.assert_allclose(loaded[case], on_tensorflow[f"{name}/{data}"],
                                   rtol=3e-2 if name in SEARCHES else 1e-4, atol=1e-5,
                                   err_msg=f"{case}: {backend} scores differ from TensorFlow's")


if __name__ == "__main__":  # the subprocess of all_guard_scores: one JSON line of every case's scores
    folder = Path(sys.argv[1])
    print(json.dumps({f"{name}/{data}": guard_scores(name, data, folder) for name, data in _cases()}))
