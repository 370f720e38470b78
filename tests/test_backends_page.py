"""The book's backend page (book/backends.md) shows what the benchmark's own runs (book/backends.csv) say."""
import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("backends_benchmark", ROOT / "benchmarks" / "backends.py")
backends = importlib.util.module_from_spec(spec)
spec.loader.exec_module(backends)


def test_the_backend_table_is_written_from_the_committed_runs():
    runs = pd.read_csv(ROOT / "book" / "backends.csv")
    page = (ROOT / "book" / "backends.md").read_text()
    assert backends.TABLE.current(page) == backends.TABLE.wrap(backends.page_block(runs)), (
        "run `python benchmarks/backends.py --from-csv book/backends.csv --page book/backends.md`")
    assert set(runs.detector) == set(backends.DETECTORS) and set(runs.backend) == set(backends.BACKENDS)


def test_the_speed_summary_names_the_faster_backend():
    runs = pd.DataFrame([dict(backend=b, detector=d, steps=100, steps_per_s=s, auroc=0.9)
                         for d, speeds in {"AE": (10.0, 20.0), "VAE": (10.0, 5.0), "OCGAN": (4.0, 6.0)}.items()
                         for b, s in zip(("tensorflow", "torch"), speeds)])
    sentence = backends.summary_sentence(runs)
    assert sentence.startswith("Each detector trained for 100 steps on each backend.")
    assert "PyTorch trained faster than TensorFlow for 2 of 3 detectors" in sentence
    assert "median speed ratio 1.50" in sentence and "0.50 for VAE" in sentence and "2.00 for AE" in sentence
