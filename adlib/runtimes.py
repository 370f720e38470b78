"""Keep every chapter's stated run time in step with its results file.

Each chapter says how long its published (``book``) run took, in a line that starts
``**Run time**: N minutes under `book```. The number is copied from ``runtime_s`` in
``notebooks/results/<chapter>.json``, which the run itself writes, so the text cannot drift from
the measurement. Book pages may also hold a table of every chapter's run time between the markers
:data:`TABLE_START` and :data:`TABLE_END` (the Colab page does); it is rewritten the same way.
``python -m adlib.runtimes .`` rewrites the lines and tables (``make notebooks`` does after a
``book`` run); ``--check`` only reports stale ones."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .generated import Block, notebook_title
from .links import rewrite_sources

STATED = re.compile(r"(\*\*Run time\*\*: )(\d+) (minutes?)( under `book`)")
TABLE_START = "<!-- run-time table: written by `python -m adlib.runtimes .` from the results files -->"
TABLE_END = "<!-- end of run-time table -->"
TABLE = Block(TABLE_START, TABLE_END)


def measured_minutes(results_file: Path) -> int:
    """The ``book`` run time of a chapter in whole minutes (at least 1), from its results file."""
    payload = json.loads(results_file.read_text())
    if payload.get("profile") != "book":
        raise ValueError(f"{results_file} holds a {payload.get('profile')!r} run, not the published `book` run")
    return max(1, round(payload["runtime_s"] / 60))


def stated_minutes(notebook: Path) -> list[int]:
    """Every run time a chapter states for its ``book`` run, in minutes."""
    cells = json.loads(notebook.read_text())["cells"]
    return [int(m.group(2)) for c in cells if c["cell_type"] == "markdown"
            for m in STATED.finditer("".join(c["source"]))]


def _sync_notebook(notebook: Path, minutes: int) -> bool:
    unit = "minute" if minutes == 1 else "minutes"
    return rewrite_sources(notebook, lambda source: STATED.sub(lambda m: f"{m.group(1)}{minutes} {unit}{m.group(4)}", source),
                           cell_type="markdown")


def chapters(root: Path) -> list[tuple[Path, Path]]:
    """(notebook, results file) of every chapter that has both."""
    pairs = []
    for notebook in sorted((root / "notebooks").glob("*.ipynb")):
        results = root / "notebooks" / "results" / f"{notebook.stem}.json"
        if results.is_file():
            pairs.append((notebook, results))
    return pairs


def run_time_table(root: Path) -> str:
    """A Markdown table of every chapter's ``book`` run time (the body of the pages' table block)."""
    rows = [f"| {{doc}}`{notebook_title(nb)} <../notebooks/{nb.stem}>` | {measured_minutes(res)} |"
            for nb, res in chapters(root)]
    return "\n".join(["| chapter | minutes under `book` |", "| --- | ---: |", *rows])


def pages_with_table(root: Path) -> list[Path]:
    """The book pages that hold a run-time table."""
    return [page for page in sorted((root / "book").glob("*.md")) if TABLE_START in page.read_text()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path, nargs="?", default=Path("."))
    parser.add_argument("--check", action="store_true", help="report stale run times, change nothing")
    args = parser.parse_args(argv)
    stale = []
    for notebook, results in chapters(args.root):
        minutes = measured_minutes(results)
        if args.check:
            if any(n != minutes for n in stated_minutes(notebook)):
                stale.append(notebook.name)
        elif _sync_notebook(notebook, minutes):
            print(f"{notebook.name}: run time {minutes} min")
    table = run_time_table(args.root)
    for page in pages_with_table(args.root):
        if TABLE.sync(page, table, check=args.check):
            if args.check:
                stale.append(page.name)
            else:
                print(f"{page.name}: run-time table rewritten")
    if stale:
        print("stale run times (run `python -m adlib.runtimes .`):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
