"""The machine-readable record each notebook leaves behind; ``book/benchmark.md`` is built from these."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from . import profiles

METRICS = ("auroc", "auprc", "precision", "recall", "f1", "accuracy", "false_positive_rate",
           "seconds_per_sample", "seconds_per_epoch", "speedup")
REQUIRED = ("method", "dataset", "protocol", "metric", "value")
# What a chapter shows of its records: the measured number, its spread and the paper's beside it. The
# settings recorded with a number (batch size, steps, ...) stay in the JSON file and in the CSV.
SHOWN = ("method", "protocol", "metric", "value", "std", "n_runs", "paper")


class Results:
    """Collect a notebook's measured figures and write ``notebooks/results/<notebook>.json``.

    Only ``book`` and ``full`` runs write into the repository; a ``smoke`` run (CI, nbval) writes
    to a temporary folder so that it can never overwrite the published figures.

    Parameters
    ----------
    notebook : str
        The notebook's name, which names the output file ``<notebook>.json``. The active profile is read when
        the object is created, and the run time recorded is counted from then.
    """

    def __init__(self, notebook: str) -> None:
        self.notebook = notebook
        self.profile = profiles.current()
        self.rows: list[dict[str, Any]] = []
        self._start = time.perf_counter()

    def add(self, *, method: str, dataset: str, protocol: str, metric: str, value: float,
            paper: float | None = None, paper_source: str | None = None, **extra: Any) -> None:
        """Record one measured number, with the paper's figure beside it where the paper has one."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
        if (paper is None) != (paper_source is None):
            raise ValueError("give paper and paper_source together: every reference figure needs its source")
        row = {"method": method, "dataset": dataset, "protocol": protocol, "metric": metric,
               "value": round(float(value), 6), **extra}
        if paper is not None:
            row.update(paper=paper, paper_source=paper_source)
        self.rows.append(row)

    def table(self, *extra: str) -> pd.DataFrame:
        """The records as a compact table for the page: the :data:`SHOWN` columns that any record has,
        and the ``extra`` settings named (say ``"search_steps"``) where rows differ only by them."""
        frame = pd.DataFrame(self.rows)
        return frame[[c for c in (*SHOWN, *extra) if c in frame.columns]]

    def directory(self) -> Path:
        if os.environ.get("ADLIB_RESULTS"):
            return Path(os.environ["ADLIB_RESULTS"])
        if self.profile == "smoke":
            return Path(tempfile.gettempdir()) / "adlib-results-smoke"
        return Path("results")  # notebooks run with the notebooks folder as working directory

    def write(self) -> Path:
        """Write the JSON file and return its path (the elapsed time since creation is ``runtime_s``)."""
        out = self.directory()
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{self.notebook}.json"
        payload = {"notebook": self.notebook, "profile": self.profile,
                   "runtime_s": round(time.perf_counter() - self._start, 1), "results": self.rows}
        path.write_text(json.dumps(payload, indent=2) + "\n")
        return path
