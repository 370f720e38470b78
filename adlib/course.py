"""The week-by-week plan of the course page (``book/course.md``), generated from the chapters.

One week per chapter, in the order of the table of contents; a page that is not a chapter (the GAN
primer, the benchmark page) joins the week of the chapter it leads into or follows. For every week
the plan states the chapter's learning goals and prerequisites (copied from its "You will learn"
and "Prerequisites" lines), its study time (Markdown words read at :data:`WORDS_PER_MINUTE`, plus
:data:`MINUTES_PER_EXERCISE` per exercise) and its compute time under ``book`` (from its results
file). The plan sits in the page between :data:`PLAN_START` and :data:`PLAN_END`;
``python -m adlib.course .`` rewrites it (``make course``), ``--check`` reports a stale one, so the
numbers cannot drift from the chapters."""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .generated import Block, notebook_title, page_title
from .runtimes import measured_minutes

WORDS_PER_MINUTE = 200  # reading speed of technical prose with equations, a common planning figure
MINUTES_PER_EXERCISE = 20  # an exercise is a short experiment or derivation; its solution is in the book
PLAN_START = "<!-- course plan: written by `python -m adlib.course .` from the chapters -->"
PLAN_END = "<!-- end of course plan -->"
PLAN = Block(PLAN_START, PLAN_END)
WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")


@dataclass
class Chapter:
    """What the plan says about one chapter."""

    stem: str
    title: str
    goals: list[str]
    prerequisites: str
    words: int
    exercises: int
    compute_minutes: int | None

    @property
    def study_minutes(self) -> int:
        return math.ceil(self.words / WORDS_PER_MINUTE) + MINUTES_PER_EXERCISE * self.exercises


def _block_after(text: str, marker: str) -> list[str]:
    """The bullet items (continuation lines joined) that follow the line ``marker``."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == marker)
    except StopIteration:
        return []
    items: list[str] = []
    for line in lines[start + 1:]:
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
        elif line.strip() or items:
            break
    return items


def _relative_to_book(markdown: str) -> str:
    """``{doc}`` targets of a chapter (relative to notebooks/) as seen from a page in book/."""
    return re.sub(r"\{doc\}`([^`<]*<)?(\d\d_[\w]+)(>?)`",
                  lambda m: f"{{doc}}`{m.group(1) or ''}../notebooks/{m.group(2)}{m.group(3)}`", markdown)


def read_chapter(notebook: Path, results_dir: Path) -> Chapter:
    """The plan's facts about one chapter, read from its notebook and its results file."""
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "markdown"]
    texts = ["".join(c["source"]) for c in cells]
    first = texts[0] if texts else ""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", first)]
    prerequisites = next((p.split(":", 1)[1].strip() for p in paragraphs if p.startswith("**Prerequisites**")), "")
    results = results_dir / f"{notebook.stem}.json"
    return Chapter(
        stem=notebook.stem, title=notebook_title(notebook),
        goals=[_relative_to_book(g) for g in _block_after(first, "**You will learn**")],
        prerequisites=_relative_to_book(prerequisites),
        words=sum(len(WORD.findall(t)) for t in texts),
        exercises=sum(t.count("{exercise}") for t in texts),
        compute_minutes=measured_minutes(results) if results.is_file() else None,
    )


def toc_files(root: Path) -> list[str]:
    """The files of the table of contents, in reading order (``notebooks/01_...``, ``book/...``)."""
    return re.findall(r"^\s*- file:\s*(\S+)\s*$", (root / "_toc.yml").read_text(), re.M)


def weeks(root: Path) -> list[tuple[Chapter, list[str]]]:
    """One (chapter, extra pages) per week: a book page before a chapter joins that chapter's week,
    the benchmark page joins the week before it; pages after the last chapter's week are left out."""
    plan: list[tuple[Chapter, list[str]]] = []
    pending: list[str] = []
    for file in toc_files(root):
        if file.startswith("notebooks/"):
            chapter = read_chapter(root / f"{file}.ipynb", root / "notebooks" / "results")
            plan.append((chapter, pending))
            pending = []
        elif file == "book/benchmark" and plan:
            plan[-1][1].append(file)
        elif plan and file != "book/intro":
            pending.append(file)
    return plan


def plan_markdown(root: Path) -> str:
    """The plan (the body of its block): a summary table and one section per week."""
    rows, sections = [], []
    for number, (chapter, extras) in enumerate(weeks(root), start=1):
        compute = "—" if chapter.compute_minutes is None else f"{chapter.compute_minutes}"
        rows.append(f"| {number} | {{doc}}`../notebooks/{chapter.stem}` | {chapter.study_minutes / 60:.1f} | "
                    f"{chapter.exercises} | {compute} |")
        extra = "".join(f" Also read {{doc}}`{page_title(root / (f + '.md'))} <../{f}>`." for f in extras)
        sheet = root / "exercises" / f"{chapter.stem}.ipynb"
        graded = (f"Autograded sheet: `exercises/{sheet.name}`, {sheet.read_text().count('# BEGIN QUESTION')} "
                  "questions.\n\n" if sheet.is_file() else "")
        goals = "\n".join(f"- {g}" for g in chapter.goals) or "- (the chapter states no goals)"
        sections.append(
            f"### Week {number}: {chapter.title}\n\n{{doc}}`Read the chapter <../notebooks/{chapter.stem}>`.{extra}"
            f' <a href="../slides/{chapter.stem}.html">Slides</a> for the lecture.'
            f"\n\nGoals: after this week a student can explain\n\n{goals}\n\n"
            + (f"Prerequisites: {chapter.prerequisites}\n\n" if chapter.prerequisites else "")
            + f"Study time: about {chapter.study_minutes} minutes ({chapter.words:,} words of text at "
            f"{WORDS_PER_MINUTE} words a minute, and {chapter.exercises} exercises at {MINUTES_PER_EXERCISE} "
            f"minutes each). Compute time: {compute} minutes under `book` on a two-core CPU, about a "
            f"minute under `smoke`.\n\n" + graded)
    table = "\n".join(["| week | chapter | study hours | exercises | compute minutes (`book`) |",
                       "| ---: | --- | ---: | ---: | ---: |", *rows])
    return "\n\n".join([table, *(s.rstrip() for s in sections)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", default=Path("."))
    parser.add_argument("--check", action="store_true", help="report a stale plan, change nothing")
    args = parser.parse_args(argv)
    page = args.root / "book" / "course.md"
    if PLAN.current(page.read_text()) is None:
        print(f"{page}: no plan markers ({PLAN_START} ... {PLAN_END})")
        return 1
    if PLAN.sync(page, plan_markdown(args.root), check=args.check):
        print(f"{page}: the course plan is stale (run `python -m adlib.course .`)" if args.check
              else f"{page}: course plan rewritten")
        return 1 if args.check else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
