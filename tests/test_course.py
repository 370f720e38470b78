"""The course page's plan is generated from the chapters and cannot go stale."""
import json
from pathlib import Path

from adlib import course

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, first: str, more: list[str]) -> None:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": [text]} for text in [first, *more]]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_the_committed_course_plan_is_current():
    assert "book/course" in course.toc_files(ROOT)
    assert course.main([str(ROOT), "--check"]) == 0, "run `make course`"


def test_the_plan_follows_the_table_of_contents_and_counts_the_study_time(tmp_path):
    (tmp_path / "notebooks" / "results").mkdir(parents=True)
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/intro\nparts:\n  - chapters:\n      - file: notebooks/01_a\n"
                                       "      - file: book/primer\n      - file: notebooks/02_b\n"
                                       "      - file: book/benchmark\n")
    (tmp_path / "book" / "primer.md").write_text("# A primer\n")
    (tmp_path / "book" / "benchmark.md").write_text("# Benchmarks\n")
    first = ("# Chapter A\n\n**You will learn**\n\n- one thing,\n  over two lines;\n- another.\n\n"
             "**Prerequisites**: the {doc}`basics <02_b>`,\nand patience.\n\nSome text.")
    _notebook(tmp_path / "notebooks" / "01_a.ipynb", first, ["word " * 400 + "\n````{exercise}\n````"])
    _notebook(tmp_path / "notebooks" / "02_b.ipynb", "# Chapter B\n", [])
    (tmp_path / "notebooks" / "results" / "01_a.json").write_text(json.dumps({"profile": "book", "runtime_s": 600}))
    (tmp_path / "book" / "course.md").write_text(f"Intro.\n\n{course.PLAN_START}\n{course.PLAN_END}\n")
    weeks = course.weeks(tmp_path)
    assert [(c.stem, extras) for c, extras in weeks] == [("01_a", []), ("02_b", ["book/primer", "book/benchmark"])]
    a = weeks[0][0]
    assert a.goals == ["one thing, over two lines;", "another."]
    assert a.prerequisites == "the {doc}`basics <../notebooks/02_b>`, and patience."
    assert a.exercises == 1 and a.compute_minutes == 10
    assert a.study_minutes == -(-a.words // course.WORDS_PER_MINUTE) + course.MINUTES_PER_EXERCISE
    assert course.main([str(tmp_path), "--check"]) == 1
    assert course.main([str(tmp_path)]) == 0
    text = (tmp_path / "book" / "course.md").read_text()
    assert "### Week 2: Chapter B" in text and "Also read {doc}`A primer <../book/primer>`" in text
    assert course.main([str(tmp_path), "--check"]) == 0
