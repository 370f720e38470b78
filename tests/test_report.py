"""The benchmark page is generated from the results files, never typed by hand."""
import json
from pathlib import Path

import pytest

from adlib import report

ROOT = Path(__file__).resolve().parents[1]


def test_committed_benchmark_page_matches_the_committed_results():
    expected = report.benchmark_page(ROOT / "notebooks" / "results")
    committed = (ROOT / "book" / "benchmark.md").read_text()
    assert committed == expected, ("book/benchmark.md is out of date: run "
                                   "`python -m adlib.report notebooks/results book/benchmark.md`")


def test_page_shows_every_number_with_its_paper_figure(tmp_path):
    payload = {"notebook": "99_demo", "profile": "book", "runtime_s": 12.3, "results": [
        {"method": "OCGAN", "dataset": "mnist", "protocol": "one-class normal=[8]", "metric": "auroc",
         "value": 0.912345, "std": 0.01, "n_runs": 3, "paper": 0.939, "paper_source": "Perera et al. 2019"},
        {"method": "AE", "dataset": "mnist", "protocol": "one-class normal=[8]", "metric": "seconds_per_sample",
         "value": 0.000123}]}
    (tmp_path / "99_demo.json").write_text(json.dumps(payload))
    page = report.benchmark_page(tmp_path)
    assert "## 99_demo" in page and "Profile: `book`" in page
    assert "0.9123" in page and "0.939" in page and "Perera et al. 2019" in page and "0.000123" in page


def test_missing_results_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the notebooks"):
        report.benchmark_page(tmp_path)
