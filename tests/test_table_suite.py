"""The book's page of the table suite (book/tables.md) is what the suite's own runs (book/table_suite.csv) say."""
import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("table_suite", ROOT / "benchmarks" / "table_suite.py")
table_suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(table_suite)


def test_the_tables_page_is_written_from_the_committed_runs():
    runs = pd.read_csv(ROOT / "book" / "table_suite.csv", keep_default_na=False)
    page = (ROOT / "book" / "tables.md").read_text()
    hint = "run `python benchmarks/table_suite.py --from-csv book/table_suite.csv --page book/tables.md`"
    assert page == table_suite.page(runs), hint
    assert set(runs.table) == set(table_suite.TABLES) and set(runs.detector) >= set(table_suite.DEEP)


def test_the_summary_measures_every_detector_against_knn():
    runs = pd.DataFrame([dict(table=t, seed=0, detector=d, auroc=a, seconds=1.0)
                         for t, scores in {"x": {"kNN (sklearn, k=5)": 0.9, "AE": 0.8},
                                           "y": {"kNN (sklearn, k=5)": 0.7, "AE": 0.9}}.items()
                         for d, a in scores.items()])
    summary = table_suite.summary(runs)
    assert summary.loc["AE", "gap to kNN"] == 0.05 or abs(summary.loc["AE", "gap to kNN"] - 0.05) < 1e-12
    assert summary.loc["AE", "worst"] == 0.8 and summary.loc["kNN (sklearn, k=5)", "gap to kNN"] == 0.0
