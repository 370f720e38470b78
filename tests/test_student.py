"""`make student`: the chapters without outputs and without solutions."""
from pathlib import Path

import nbformat
import pytest

from adlib import student

ROOT = Path(__file__).resolve().parents[1]


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\n````{exercise}\n:label: ex-a\n\nWhat is 2 + 2?\n````\n\n"
                                      "````{solution} ex-a\n:class: dropdown\n\nFour.\n````\n\nText after."),
        nbformat.v4.new_code_cell("x = 1\nx", outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "1"})],
                                  execution_count=3),
        nbformat.v4.new_markdown_cell("````{exercise}\n:label: ex-b\n\nCompute it.\n````\n\n"
                                      "````{solution-start} ex-b\n:class: dropdown\n````\n\nWe compute:"),
        nbformat.v4.new_code_cell("answer = 42"),
        nbformat.v4.new_markdown_cell("That is all.\n\n````{solution-end}\n````\n\n## Results"),
    ]
    return nb


def test_solutions_and_outputs_are_removed_exercises_kept():
    cells = student.student_cells(_notebook().cells)
    text = "\n".join(c.source for c in cells)
    assert "{exercise}" in text and "What is 2 + 2?" in text and "Compute it." in text
    assert "Four." not in text and "{solution" not in text and "answer = 42" not in text
    assert "We compute" not in text and "That is all." not in text
    assert "Text after." in text and "## Results" in text and "x = 1" in text
    code = [c for c in cells if c.cell_type == "code"]
    assert len(code) == 1 and code[0].outputs == [] and code[0].execution_count is None


def test_several_spans_in_one_cell_are_all_removed():
    nb = _notebook()
    nb.cells[2].source += ("\n\n````{solution-end}\n````\n\nBetween.\n\n````{exercise}\n:label: ex-c\n\nMore.\n````\n\n"
                           "````{solution-start} ex-c\n````\n\nSecret.")
    text = "\n".join(c.source for c in student.student_cells(nb.cells))
    assert "Between." in text and "More." in text
    assert "We compute" not in text and "Secret." not in text and "answer = 42" not in text


def test_an_unclosed_solution_span_is_an_error():
    nb = _notebook()
    nb.cells = nb.cells[:4]
    with pytest.raises(ValueError, match="solution-end"):
        student.student_cells(nb.cells)


def test_student_copies_of_the_chapters(tmp_path):
    written = student.write_student_copies(ROOT / "notebooks", tmp_path)
    assert {p.name for p in written} == {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    for path in written:
        original = nbformat.read(ROOT / "notebooks" / path.name, as_version=4)
        copy = nbformat.read(path, as_version=4)
        nbformat.validate(copy)
        text = "\n".join(c.source for c in copy.cells)
        assert "{solution" not in text, path.name
        assert text.count("{exercise}") == "\n".join(c.source for c in original.cells).count("{exercise}")
        assert all(not c.outputs for c in copy.cells if c.cell_type == "code"), path.name
