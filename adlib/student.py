"""Student copies of the chapters: no outputs, no solutions, for handing out.

``python -m adlib.student notebooks _build/student`` (``make student``) writes every notebook of
``notebooks/`` into ``_build/student/`` with its outputs cleared and every sphinx-exercise solution
removed: ``{solution}`` blocks inside a Markdown cell, and ``{solution-start}`` ... ``{solution-end}``
spans, which may hold code cells. The exercises themselves stay.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

SOLUTION_BLOCK = re.compile(r"^(`{3,}|:{3,})\{solution\}.*?^\1[ \t]*$\n?", re.S | re.M)
SOLUTION_START = re.compile(r"^(`{3,}|:{3,})\{solution-start\}.*?^\1[ \t]*$\n?", re.S | re.M)
SOLUTION_END = re.compile(r"^(`{3,}|:{3,})\{solution-end\}.*?^\1[ \t]*$\n?", re.S | re.M)


def student_cells(cells: list) -> list:
    """The cells without solutions; code cells keep their source and lose their outputs."""
    kept, inside = [], False
    for cell in cells:
        source = cell.source
        if inside:  # within a solution-start/-end span: keep only what follows the end marker
            end = SOLUTION_END.search(source) if cell.cell_type == "markdown" else None
            if end is None:
                continue
            inside, source = False, source[end.end():]
        if cell.cell_type == "markdown":
            source = SOLUTION_BLOCK.sub("", source)
            while (start := SOLUTION_START.search(source)) is not None:
                end = SOLUTION_END.search(source, start.end())
                if end is None:  # the span goes on into the next cells
                    inside, source = True, source[:start.start()]
                    break
                source = source[:start.start()] + source[end.end():]
            if not source.strip():
                continue
        cell = nbformat.from_dict({**cell, "source": source.rstrip("\n")})
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        kept.append(cell)
    if inside:
        raise ValueError("a {solution-start} has no matching {solution-end}")
    return kept


def write_student_copies(source_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write a student copy of every notebook in ``source_dir`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        notebook.cells = student_cells(notebook.cells)
        target = out / path.name
        nbformat.write(notebook, target)
        written.append(target)
    if not written:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {source_dir}")
    return written


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m adlib.student NOTEBOOK_DIR OUTPUT_DIR")
    for path in write_student_copies(*args):
        print(path)


if __name__ == "__main__":
    main()
