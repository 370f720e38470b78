"""Every Keras detector on each Keras backend, same data, same seeds: training steps per second and the
AUROC on the synthetic glyph task (the one the learning tests use), for the book's backend page.

Each backend runs in its own process (``KERAS_BACKEND`` is read once, at the first import of Keras).
A detector is built with its defaults and ``seed=0`` and trained for ``--steps`` optimiser steps of
64 images; *steps/s* leaves out the first tenth of the budget, where TensorFlow and JAX compile
their steps.

    python benchmarks/backends.py                                      # all three backends, print the table
    python benchmarks/backends.py --csv book/backends.csv --page book/backends.md
    python benchmarks/backends.py --from-csv book/backends.csv --page book/backends.md   # page only
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adlib.generated import Block  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ["tensorflow", "jax", "torch"]
DETECTORS = ["AE", "DenoisingAE", "VAE", "AEGMM", "VAEGMM", "DeepSVDD", "GANomaly", "OCGAN", "ALOCC",
             "EfficientGAN", "FAnoGAN", "AnoGAN", "ADGAN"]
TABLE = Block("<!-- backend table: written by benchmarks/backends.py from book/backends.csv -->",
              "<!-- end of backend table -->")


def measure(detectors: list[str], steps: int) -> list[dict]:
    """Train and score every detector on this process's backend; one row per detector."""
    sys.path.insert(0, str(ROOT))
    import keras
    from sklearn.metrics import roc_auc_score

    import adlib
    from tests.conftest import glyph_task

    x_train, x_test, y_test = glyph_task()
    rows = []
    for name in detectors:
        adlib.seed_everything(0)
        detector = getattr(adlib, name)(seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", adlib.CollapseWarning)
            start = time.perf_counter()
            detector.fit(x_train, steps=steps, verbose=0)
            fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        scores = detector.score(x_test, verbose=0)
        score_seconds = time.perf_counter() - start
        seconds, counts = detector.epoch_seconds_[1:], detector.epoch_steps_[1:]  # after the first tenth
        rows.append(dict(backend=keras.backend.backend(), detector=name, steps=steps,
                         steps_per_s=sum(counts) / sum(seconds), fit_s=fit_seconds, score_s=score_seconds,
                         auroc=roc_auc_score(y_test, scores)))
        print(f"{rows[-1]['backend']:10s} {name:12s} {rows[-1]['steps_per_s']:7.1f} steps/s  "
              f"AUROC {rows[-1]['auroc']:.3f}", file=sys.stderr, flush=True)
    return rows


def run(backends: list[str], detectors: list[str], steps: int) -> pd.DataFrame:
    rows = []
    for backend in backends:
        done = subprocess.run([sys.executable, __file__, "--child", "--detectors", *detectors, "--steps", str(steps)],
                              env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True, text=True,
                              check=False, cwd=ROOT)
        sys.stderr.write(done.stderr[-2000:] if done.returncode else "")
        if done.returncode:
            raise RuntimeError(f"the {backend} run failed")
        rows += json.loads(done.stdout.strip().splitlines()[-1])
    return pd.DataFrame(rows)


NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def table(runs: pd.DataFrame) -> str:
    """Markdown: per detector, steps/s and AUROC on each backend, and each backend's speed relative to
    TensorFlow's."""
    wide = runs.pivot_table(index="detector", columns="backend", values=["steps_per_s", "auroc"])
    wide = wide.loc[[d for d in DETECTORS if d in wide.index]]
    backends = [b for b in BACKENDS if b in set(runs.backend)]
    out = pd.DataFrame(index=wide.index)
    for backend in backends:
        out[f"steps/s ({backend})"] = wide["steps_per_s", backend].round(1)
    for backend in backends:
        out[f"AUROC ({backend})"] = wide["auroc", backend].round(3)
    others = [b for b in backends if b != "tensorflow"] if "tensorflow" in backends else []
    for backend in others:
        out[f"{NAMES[backend]} / TensorFlow speed"] = (wide["steps_per_s", backend]
                                                       / wide["steps_per_s", "tensorflow"]).round(2)
    formats = ["", *[".1f"] * len(backends), *[".3f"] * len(backends), *[".2f"] * len(others)]
    return out.to_markdown(floatfmt=formats)


def summary_sentence(runs: pd.DataFrame) -> str:
    """Which backend trains fastest, for how many detectors, and each one's median speed against TensorFlow."""
    wide = runs.pivot_table(index="detector", columns="backend", values="steps_per_s")
    backends = [b for b in BACKENDS if b in wide.columns]
    fastest = wide[backends].idxmax(axis=1)
    steps = int(runs.steps.iloc[0]) if "steps" in runs else None
    counts = ", ".join(f"{NAMES[b]} for {int((fastest == b).sum())}" for b in backends)
    ratios = "; ".join(
        f"{NAMES[b]}'s median speed is {(wide[b] / wide['tensorflow']).median():.2f} times TensorFlow's "
        f"(from {(wide[b] / wide['tensorflow']).min():.2f} to {(wide[b] / wide['tensorflow']).max():.2f})"
        for b in backends if b != "tensorflow" and "tensorflow" in backends)
    advice = ""
    if "tensorflow" in backends:
        others = {b: [d for d in fastest.index if fastest[d] == b] for b in backends if b != "tensorflow"}
        exceptions = "; ".join(f"{', '.join(names)} with {NAMES[b]} (`KERAS_BACKEND={b}`)"
                               for b, names in others.items() if names)
        advice = (" On a CPU, keep the default backend, TensorFlow." if not exceptions else
                  f" On a CPU, keep the default backend, TensorFlow, except to train {exceptions}.")
    return ((f"Each detector trained for {steps} steps on each backend. " if steps else "")
            + f"On this two-core CPU the fastest backend was {counts} of {len(fastest)} detectors. "
            + (ratios + "." if ratios else "") + advice)


def page_block(runs: pd.DataFrame) -> str:
    """The page's generated block: the table and what it says about speed."""
    return table(runs) + "\n\n" + summary_sentence(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    parser.add_argument("--detectors", nargs="+", default=DETECTORS)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--csv", help="write the runs to this CSV file")
    parser.add_argument("--page", help="rewrite the backend table of this Markdown page")
    parser.add_argument("--from-csv", help="read the runs from this CSV instead of training")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.detectors, args.steps)))
        return
    runs = pd.read_csv(args.from_csv) if args.from_csv else run(args.backends, args.detectors, args.steps)
    if args.csv:
        runs.to_csv(args.csv, index=False, float_format="%.6g")
    if args.page:
        TABLE.sync(Path(args.page), page_block(runs))
    print(table(runs))


if __name__ == "__main__":
    main()
