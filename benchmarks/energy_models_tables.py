"""AEGMM and VAEGMM on the table suite with other code sizes and mixture sizes (issue 35's study of why
the energy models trail kNN on small tables): each setting, two seeds, the mean AUROC per table.

    python benchmarks/energy_models_tables.py AEGMM modes,correlated,kdd_http '{"latent_dim": 4, "n_gmm": 4}'

The tables and their one-class protocol are those of ``benchmarks/table_suite.py`` (the suite the table
defaults are tuned on, never a test set of the book). Each further argument is one setting, as JSON
keyword arguments of the detector; every other argument keeps its default.
"""
from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))
import table_suite as ts  # noqa: E402

import adlib  # noqa: E402


def main() -> None:
    cls = getattr(adlib, sys.argv[1])
    tables = sys.argv[2].split(",")
    for setting in [json.loads(arg) for arg in sys.argv[3:]] or [{}]:
        for name in tables:
            x, y = ts.TABLES[name]()
            aurocs, start = [], time.time()
            for seed in (0, 1):
                x_train, x_scored, y_scored = ts.split(x, y, seed, 5000, 1000)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    detector = cls(seed=seed, **setting).fit(x_train, verbose=0)
                aurocs.append(roc_auc_score(y_scored, detector.score(x_scored)))
            print(f"{sys.argv[1]} {json.dumps(setting):32s} {name:14s} {np.mean(aurocs):.3f} "
                  f"({aurocs[0]:.3f}, {aurocs[1]:.3f}) {time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
