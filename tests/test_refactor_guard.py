"""Refactor guard: every detector's scores after a short seeded fit on fixed small data, as recorded
before the training code was restructured (issue 38: one training engine on three Keras backends).

The committed chapters were run with the recorded code. While a detector's guard passes on
TensorFlow, its training does the same arithmetic as when the chapters ran, so they stay valid
without a re-run; a guard that has to be re-recorded names the chapters to re-run (see
``chapters_using``).

The fits are tiny (a few optimiser steps, a few dozen samples) so that the guard runs in seconds
and a rounding difference in one step cannot grow into a large one; scores must match the record
to a relative 1e-5.

The scores are computed in a subprocess with one thread (see ``all_guard_scores``). Record again
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

import adlib
from tests._workers import THREAD_VARIABLES

ROOT = Path(__file__).parent.parent
RECORD = ROOT / "tests" / "data" / "refactor_guard.json"
STEPS, BATCH = 6, 16
KERAS = ["AE", "DenoisingAE", "VAE", "AEGMM", "VAEGMM", "DeepSVDD", "GANomaly", "OCGAN", "ALOCC", "EfficientGAN",
         "FAnoGAN", "AnoGAN", "ADGAN"]
CLASSICAL = ["KNN", "OCSVM", "HotellingT2", "IForest", "KMeansDetector", "DensityRatio", "GMM", "NaiveBayes"]
IMAGES_ONLY = {"OCGAN"}
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
    rng = np.random.default_rng(8)
    yy, xx = np.mgrid[:16, :16]
    centre = rng.uniform(5, 11, size=(48, 2))
    dist = np.hypot(yy[None] - centre[:, 0, None, None], xx[None] - centre[:, 1, None, None])
    x = np.clip(np.exp(-dist ** 2 / 8) + 0.05 * rng.normal(size=dist.shape), 0, 1).astype(np.float32)
    return x[:40], x[40:]


def _cases() -> list[tuple[str, str]]:
    cases = [(name, "table") for name in KERAS + CLASSICAL if name not in IMAGES_ONLY]
    return cases + [(name, "images") for name in KERAS]


def guard_scores(name: str, data: str) -> list[float]:
    """Scores of the held-out samples after ``STEPS`` seeded steps (Keras) or a fit (classical)."""
    x_train, x_test = _table() if data == "table" else _images()
    adlib.seed_everything(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in KERAS:
            detector = getattr(adlib, name)(seed=0).fit(x_train, steps=STEPS, batch_size=BATCH, verbose=0)
        else:
            detector = getattr(adlib, name)().fit(x_train.reshape(len(x_train), -1))
            x_test = x_test.reshape(len(x_test), -1)
        return [float(s) for s in detector.score(x_test, verbose=0)]


def _recorded() -> dict:
    return json.loads(RECORD.read_text()) if RECORD.exists() else {}


def all_guard_scores() -> dict[str, list[float]]:
    """Every case's scores, computed in a fresh interpreter with one thread for TensorFlow and BLAS:
    a convolution's float32 sums depend on how many threads split them, so the record and the check
    must use the same number, whatever the calling process uses (pytest with or without workers)."""
    env = {**os.environ, **{name: "1" for name in THREAD_VARIABLES}, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "tests.test_refactor_guard"], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_scores_after_a_seeded_fit_match_the_record():
    scores = all_guard_scores()
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


if __name__ == "__main__":  # the subprocess of all_guard_scores: one JSON line of every case's scores
    print(json.dumps({f"{name}/{data}": guard_scores(name, data) for name, data in _cases()}))
