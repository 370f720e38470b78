"""The autograded exercises: the answer key earns every point, an untouched student notebook none
(without crashing the grader), and a plausible mistake fails a hidden test that the public checks miss."""
import json
import shutil
from pathlib import Path

import pytest

from adlib import grading
from tests.conftest import folder_made_once

ROOT = Path(__file__).resolve().parents[1]
SHEETS = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))


@pytest.fixture(scope="session")
def assignments(tmp_path_factory, worker_id):
    """``otter assign`` on every sheet (it runs each master notebook's tests, about 40 s): once per session."""
    return folder_made_once(tmp_path_factory, worker_id, "assignments",
                            lambda out: grading.assign(ROOT / "exercises", out))


def _answer(notebook: Path, function: str, body: str, to: Path) -> Path:
    """A copy of a student notebook with ``body`` as the answer of ``function``."""
    nb = json.loads(notebook.read_text())
    cells = [c for c in nb["cells"] if "".join(c["source"]).startswith(f"def {function}(")]
    assert len(cells) == 1, function
    cells[0]["source"] = "".join(cells[0]["source"]).replace("    ...", body)
    to.write_text(json.dumps(nb))
    return to


def test_every_sheet_has_two_questions_with_hidden_tests(assignments):
    assert len(SHEETS) >= 2
    for sheet in SHEETS:
        master = (ROOT / "exercises" / f"{sheet}.ipynb").read_text()
        assert master.count("# BEGIN QUESTION") >= 2 and "# HIDDEN" in master, sheet
        student = (assignments / sheet / "student" / f"{sheet}.ipynb").read_text()
        assert "# BEGIN SOLUTION" not in student and "# HIDDEN" not in student, sheet
        assert grading.autograder_zip(assignments, sheet).is_file()


def test_the_key_scores_full_marks_and_an_untouched_sheet_zero(assignments, tmp_path):
    for sheet in SHEETS:
        shutil.copy(assignments / sheet / "autograder" / f"{sheet}.ipynb", tmp_path / f"key_{sheet}.ipynb")
        shutil.copy(assignments / sheet / "student" / f"{sheet}.ipynb", tmp_path / f"blank_{sheet}.ipynb")
    scores = grading.grade(tmp_path, assignments).set_index("student")
    for sheet in SHEETS:
        questions = scores.loc[f"key_{sheet}"].drop(["sheet", "total"]).dropna()
        assert len(questions) >= 2 and (questions > 0).all(), questions
        assert scores.loc[f"blank_{sheet}", "total"] == 0
        assert scores.loc[f"key_{sheet}", "sheet"] == sheet


def test_a_threshold_that_also_flags_ties_fails_a_hidden_test(assignments, tmp_path):
    """`>=` instead of `>` passes the public check (no score equals the threshold there)."""
    student = assignments / "02_autoencoder_basics" / "student" / "02_autoencoder_basics.ipynb"
    key = grading.grade_one(assignments / "02_autoencoder_basics" / "autograder" / "02_autoencoder_basics.ipynb",
                            assignments)
    wrong = _answer(student, "threshold_and_share",
                    "    threshold = float(np.percentile(reference, percentile))\n"
                    "    return threshold, float(np.mean(np.asarray(scores) >= threshold))", tmp_path / "wrong.ipynb")
    assert 0 < grading.grade_one(wrong, assignments)["share_flagged"] < key["share_flagged"]


def test_an_auroc_that_ignores_ties_fails_a_hidden_test(assignments, tmp_path):
    student = assignments / "01_classical_methods" / "student" / "01_classical_methods.ipynb"
    wrong = _answer(student, "auroc_by_pairs",
                    "    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels).astype(bool)\n"
                    "    return float(np.mean(scores[labels][:, None] > scores[~labels][None, :]))",
                    tmp_path / "wrong.ipynb")
    row = grading.grade_one(wrong, assignments)
    assert 0 < row["auroc_pairs"] < 2


def test_a_notebook_that_is_no_exercise_sheet_is_refused(tmp_path):
    (tmp_path / "x.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": "1"}]}))
    with pytest.raises(ValueError, match="not an exercise sheet"):
        grading.sheet_of(tmp_path / "x.ipynb")


def test_the_book_shows_the_current_student_sheets(assignments, tmp_path):
    """book/exercises/ (committed, shown by the book) holds what `make assignments` publishes."""
    published = grading.publish(assignments, tmp_path)
    assert [p.name for p in published] == [f"{s}.ipynb" for s in SHEETS]
    for path in published:
        committed = ROOT / "book" / "exercises" / path.name
        assert committed.is_file(), "run `make assignments` and commit book/exercises/"
        sources = [c["source"] for c in json.loads(committed.read_text())["cells"]]
        assert sources == [c["source"] for c in json.loads(path.read_text())["cells"]], "run `make assignments`"
        assert "# BEGIN SOLUTION" not in committed.read_text() and "# HIDDEN" not in committed.read_text()
