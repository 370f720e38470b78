"""Autograded exercises with otter-grader: hand out student notebooks, grade submitted ones locally.

The exercises are written as otter-grader *master* notebooks in ``exercises/`` (one per chapter:
questions, solutions, public tests and hidden tests). ``python -m adlib.grading assign exercises
_build/assignments`` (``make assignments``) runs ``otter assign`` on each: ``<chapter>/student/`` holds
the notebook to hand out (no solutions, public checks only) and ``<chapter>/autograder/`` the answer
key and the grader's zip with every test; ``python -m adlib.grading publish _build/assignments
book/exercises`` copies the student notebooks into the book (committed; the book shows each sheet's
questions and public checks, unexecuted). ``python -m adlib.grading grade <folder>
_build/assignments _build/grades.csv`` (``make grade SUBMISSIONS=<folder>``) grades every submitted
notebook of a folder with ``otter run``, which needs no Docker, and writes one row per submission with
the points of every question and the total. A submission names its exercise sheet itself (the
``otter.Notebook("<chapter>.ipynb")`` line of its first cell); its student is its file name.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

SHEET = re.compile(r"otter\.Notebook\(\s*[\"']([^\"']+)\.ipynb[\"']")


def assign(masters: Path, out: Path) -> list[Path]:
    """Run ``otter assign`` on every master notebook of ``masters``; returns the output folders."""
    folders = []
    for master in sorted(masters.glob("*.ipynb")):
        target = out / master.stem
        run = subprocess.run([sys.executable, "-m", "otter", "assign", str(master), str(target)],
                             capture_output=True, text=True)
        if run.returncode:  # otter assign runs every test on the solutions: say which failed
            raise RuntimeError(f"otter assign failed on {master}:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
        folders.append(target)
    return folders


def publish(assignments: Path, book_dir: Path) -> list[Path]:
    """Copy every student notebook (questions and public checks, no solutions) into ``book_dir`` for the
    book, as ``<chapter>.ipynb``; returns the copies. The book shows them unexecuted."""
    book_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for student in sorted(assignments.glob("*/student/*.ipynb")):
        notebook = json.loads(student.read_text())
        for index, cell in enumerate(notebook["cells"]):
            cell["id"] = f"{student.stem}-{index}"  # otter assign draws new ids on every run
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        target = book_dir / student.name
        target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        written.append(target)
    return written


def autograder_zip(assignments: Path, sheet: str) -> Path:
    """The grader's zip of an exercise sheet, written by :func:`assign`."""
    zips = sorted((assignments / sheet / "autograder").glob("*.zip"))
    if not zips:
        raise FileNotFoundError(f"no autograder for {sheet!r} under {assignments}: run `make assignments` first")
    return zips[-1]


def sheet_of(notebook: Path) -> str:
    """The exercise sheet a submitted notebook belongs to, from its ``otter.Notebook(...)`` line."""
    for cell in json.loads(notebook.read_text())["cells"]:
        match = SHEET.search("".join(cell.get("source", "")))
        if match:
            return match.group(1)
    raise ValueError(f"{notebook}: not an exercise sheet (no otter.Notebook(...) line)")


def grade_one(notebook: Path, assignments: Path) -> dict:
    """Points per question of one submission (``otter run``, hidden tests included)."""
    sheet = sheet_of(notebook)
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(autograder_zip(assignments, sheet)),
                              "-o", tmp, str(notebook)], capture_output=True, text=True)
        results = Path(tmp) / "results.json"
        if not results.is_file():
            raise RuntimeError(f"otter run could not grade {notebook}:\n{run.stdout}\n{run.stderr}")
        tests = json.loads(results.read_text())["tests"]
    row = {"student": notebook.stem, "sheet": sheet}
    for test in tests:
        if test.get("max_score") is not None:  # the "Public Tests" summary carries no points
            row[test["name"]] = float(test.get("score") or 0.0)
    row["total"] = sum(v for k, v in row.items() if k not in ("student", "sheet"))
    return row


def grade(submissions: Path, assignments: Path) -> pd.DataFrame:
    """One row per submitted notebook of ``submissions``: student, sheet, points per question, total."""
    notebooks = sorted(p for p in submissions.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not notebooks:
        raise FileNotFoundError(f"no notebooks under {submissions}")
    scores = pd.DataFrame([grade_one(nb, assignments) for nb in notebooks])
    questions = sorted(c for c in scores.columns if c not in ("student", "sheet", "total"))
    return scores[["student", "sheet", *questions, "total"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    a = commands.add_parser("assign", help="write the student notebooks and the autograders")
    a.add_argument("masters", type=Path)
    a.add_argument("out", type=Path)
    b = commands.add_parser("publish", help="copy the student notebooks into the book")
    b.add_argument("assignments", type=Path)
    b.add_argument("book_dir", type=Path)
    g = commands.add_parser("grade", help="grade a folder of submitted notebooks into a CSV")
    g.add_argument("submissions", type=Path)
    g.add_argument("assignments", type=Path)
    g.add_argument("csv", type=Path)
    args = parser.parse_args(argv)
    if args.command == "assign":
        for folder in assign(args.masters, args.out):
            print(f"{folder}: student/ and autograder/")
        return 0
    if args.command == "publish":
        for path in publish(args.assignments, args.book_dir):
            print(path)
        return 0
    scores = grade(args.submissions, args.assignments)
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    scores.to_csv(args.csv, index=False)
    print(scores.to_string(index=False))
    print(f"written: {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
