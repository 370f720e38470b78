"""The benchmark page is generated from the results files, never typed by hand."""
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from adlib import report

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "notebooks" / "results"


def test_committed_benchmark_page_and_csv_match_the_committed_results():
    # the figure is only checked to exist: a PNG differs between matplotlib versions
    hint = "run `make benchmark` (python -m adlib.report notebooks/results book/benchmark.md)"
    assert (ROOT / "book" / "benchmark.md").read_text() == report.benchmark_page(RESULTS), hint
    assert (ROOT / "book" / report.RECORDS_CSV).read_text() == report.records_csv(RESULTS), hint
    assert (ROOT / "book" / report.TABLE_CSV).read_text() == report.records_csv(RESULTS, report.TABLE_COLUMNS), hint
    assert (ROOT / "book" / report.FIGURE_PNG).is_file(), hint


def test_committed_page_stays_short():
    assert len((ROOT / "book" / "benchmark.md").read_bytes()) < 20_000


def _demo(tmp_path):
    payload = {"notebook": "99_demo", "profile": "book", "runtime_s": 126.0, "results": [
        {"method": "OCGAN", "dataset": "mnist", "protocol": "one-class normal=[8]", "metric": "auroc",
         "value": 0.912345, "paper": 0.939, "paper_source": "Perera et al. 2019, Table 2"},
        {"method": "OCGAN", "dataset": "mnist", "protocol": "one-class, mean over digits [8, 9]", "metric": "auroc",
         "value": 0.95, "std": 0.01, "n_runs": 3, "paper": 0.96, "paper_source": "Perera et al. 2019, Table 2"},
        {"method": "AE", "dataset": "mnist", "protocol": "one-class normal=[8]", "metric": "auroc",
         "value": 0.8, "paper": 0.865, "paper_source": "Ruff et al. 2018, Table 1"},
        {"method": "AE", "dataset": "mnist", "protocol": "one-class normal=[8]", "metric": "seconds_per_sample",
         "value": 0.000123}]}
    (tmp_path / "99_demo.json").write_text(json.dumps(payload))
    return payload


def test_headline_shows_ours_beside_the_paper_with_the_gap_and_a_key(tmp_path):
    _demo(tmp_path)
    page = report.benchmark_page(tmp_path)
    assert "## 99_demo" in page and "profile `book`, run time 2.1 min, 4 records" in page
    assert "0.950 ± 0.010 (n = 3)" in page and "-0.010" in page       # the mean row, with its spread and gap
    assert "0.912" not in page                                         # its per-digit row is in the CSV only
    assert "0.800" in page and "| -0.065" in page                        # AE has no mean row: its per-digit row stays
    assert "**99.1**: one-class, mean over digits [8, 9]. Paper: Perera et al. 2019, Table 2." in page
    assert "{csv-table}" in page and report.RECORDS_CSV in page and report.TABLE_CSV in page


def test_csv_holds_every_record_with_its_protocol(tmp_path):
    payload = _demo(tmp_path)
    frame = pd.read_csv(io.StringIO(report.records_csv(tmp_path)))
    assert len(frame) == len(payload["results"]) and list(frame.columns)[:len(report.CSV_COLUMNS)] == report.CSV_COLUMNS
    assert frame.protocol.str.contains("normal=\\[8\\]").sum() == 3
    assert frame.value.tolist() == pytest.approx([r["value"] for r in payload["results"]], rel=1e-5)


def test_main_writes_page_csv_and_figure(tmp_path):
    _demo(tmp_path)
    report.main([str(tmp_path), str(tmp_path / "page.md")])
    assert (tmp_path / "page.md").read_text() == report.benchmark_page(tmp_path)
    assert (tmp_path / report.RECORDS_CSV).stat().st_size > 0 and (tmp_path / report.TABLE_CSV).stat().st_size > 0
    assert (tmp_path / report.FIGURE_PNG).read_bytes()[:4] == b"\x89PNG"


def test_missing_results_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the notebooks"):
        report.benchmark_page(tmp_path)


def test_a_chapter_shows_its_records_without_their_settings():
    from adlib.results import Results
    results = Results("99_demo")
    results.add(method="AE", dataset="mnist", protocol="one-class normal=[0]", metric="auroc", value=0.91234567,
                batch_size=64, steps_per_execution=32)
    results.add(method="OCGAN", dataset="mnist", protocol="one-class normal=[0]", metric="auroc", value=0.9,
                std=0.01, n_runs=3, paper=0.998, paper_source="Perera et al. 2019, Table 2")
    table = results.table()
    assert list(table.columns) == ["method", "protocol", "metric", "value", "std", "n_runs", "paper"]
    assert table.value.tolist() == [0.912346, 0.9]
    assert table.paper.isna().tolist() == [True, False]
