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


def test_the_speed_summary_names_the_fastest_backend():
    speeds = {"AE": (10.0, 30.0, 20.0), "VAE": (10.0, 20.0, 5.0), "OCGAN": (4.0, 3.0, 6.0)}
    runs = pd.DataFrame([dict(backend=b, detector=d, steps=100, steps_per_s=s, auroc=0.9)
                         for d, row in speeds.items() for b, s in zip(("tensorflow", "jax", "torch"), row)])
    sentence = backends.summary_sentence(runs)
    assert sentence.startswith("Each detector trained for 100 steps on each backend.")
    assert "the fastest backend was TensorFlow for 0, JAX for 2, PyTorch for 1 of 3 detectors" in sentence
    assert "JAX's median speed is 2.00 times TensorFlow's (from 0.75 to 3.00)" in sentence
    assert "PyTorch's median speed is 1.50 times TensorFlow's (from 0.50 to 2.00)" in sentence
    assert sentence.endswith("On a CPU, keep the default backend, TensorFlow, except to train AE, VAE with JAX "
                             "(`KERAS_BACKEND=jax`); OCGAN with PyTorch (`KERAS_BACKEND=torch`).")
