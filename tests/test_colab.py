"""`make colab`: the chapters' Colab copies, with the book's MyST markup as plain Jupyter Markdown.

Unit tests convert small synthetic chapters in a temporary book (glossary, bibliography, a second
chapter, a source file to include); the last tests convert every real chapter in memory."""
from __future__ import annotations

import ast
import functools
import inspect
import json
import re
from pathlib import Path

import nbformat
import pytest

from adlib import colab
from adlib.links import colab_url
from tests.test_docs import documented_parameters, parameters_of

ROOT = Path(__file__).resolve().parents[1]
BOOK = "https://adlib-book.github.io/adlib/"
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MYST = re.compile(r"\{glue|\{term\}|\{doc\}|\{ref\}|\{cite|\{eq\}|\{numref\}|^\s*(?:`{3,}|:{3,})\{", re.M)
INSTALL = ('# Colab only: install adlib.\nimport sys\n\nif "google.colab" in sys.modules:\n'
           '    %pip install -q "adlib @ git+https://github.com/adlib-book/adlib@v0.1.0"')
BADGE = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
         "(https://colab.research.google.com/github/adlib-book/adlib/blob/v0.1.0/notebooks/{name})")
GLOSSARY = """# Glossary

```{glossary}
AUROC
  Area under the ROC curve.

held-out normal data
  Normal inputs not trained on.

precision, recall and F1
  Three numbers.
```
"""
BIB = r"""@article{solo2001,
  author = {Hotelling, Harold},
  title  = {A {B} C},
  year   = {2001}
}
@inproceedings{duo2014,
  author = {Kingma, Diederik P. and Welling, Max},
  year   = 2014,
}
@inproceedings{trio2018,
  author = {Ak{\c{c}}ay, Samet and Seeb{\"o}ck, Philipp and Breckon, Toby P.},
  year   = {2018}
}
@misc{org1999,
  author = {{UCI Machine Learning and Data Repository}},
  year   = {1999}
}
"""
SOURCE = '''"""A module to include."""


def helper(x):
    return x + 1


class Model:
    """A class."""

    @staticmethod
    def step(x):
        """One step."""
        return helper(x)
'''


def glued(name: str, plain: str, markdown: str | None = None, png: bool = False):
    """An output as myst-nb's glue stores it."""
    prefix = "application/papermill.record/"
    data = {f"{prefix}text/plain": plain}
    if markdown is not None:
        data[f"{prefix}text/markdown"] = markdown
    if png:
        data[f"{prefix}image/png"] = "iVBORw0KGgo="
    return nbformat.v4.new_output("display_data", data=data, metadata={"scrapbook": {"name": name, "mime_prefix": prefix}})


def chapter(folder: Path, cells: list, name: str = "08_test.ipynb", title: str = "A test chapter") -> Path:
    """Write a chapter: install cell, title cell with badge, then ``cells``; markdown given as str."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    install = nbformat.v4.new_code_cell(INSTALL, metadata={"tags": ["remove-cell"]})
    nb.cells = [install, nbformat.v4.new_markdown_cell(f"# {title}\n\n{BADGE.format(name=name)}\n\nIntro.")]
    nb.cells += [nbformat.v4.new_markdown_cell(c) if isinstance(c, str) else c for c in cells]
    path = folder / "notebooks" / name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A book root: glossary, bibliography, a Markdown page, a second chapter, a source file."""
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "book" / "glossary.md").write_text(GLOSSARY)
    (tmp_path / "book" / "references.bib").write_text(BIB)
    (tmp_path / "book" / "gan_primer.md").write_text("Intro text.\n\n# A GAN primer\n\n## Part\n")
    (tmp_path / "pkg" / "mod.py").write_text(SOURCE)
    chapter(tmp_path, ["````{exercise}\n:label: ex-other\n\nElsewhere.\n````"], name="02_other.ipynb", title="The other chapter")
    return tmp_path


def markdown_of(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def converted(book: Path, *cells) -> str:
    return markdown_of(colab.convert(chapter(book, list(cells))))


# --- glue ------------------------------------------------------------------------------------------------

def test_glue_text_is_the_stored_value_formatted(book):
    outputs = [glued("x", "0.123456"), glued("big", "41.6"), glued("n", "6"), glued("name", "'kNN'"),
               glued("neg", "-0.0007809")]
    text = converted(book, nbformat.v4.new_code_cell("glue()", outputs=outputs),
                     "a {glue:text}`x:.3f` b {glue:text}`x:+.3f` c {glue:text}`x:.1%` d {glue:text}`big:.0f` "
                     "e {glue:text}`x` f {glue:text}`n:.3f` g {glue:text}`name` h {glue:text}`neg:+.3f` i {glue:text}`n`")
    assert "a 0.123 b +0.123 c 12.3% d 42 e 0.123456 f 6.000 g kNN h -0.001 i 6" in text


def test_glue_md_uses_the_markdown_and_falls_back_to_the_text(book):
    outputs = [glued("verdict", "<IPython.core.display.Markdown object>", markdown="within **noise**"),
               glued("plain", "'just text'")]
    text = converted(book, nbformat.v4.new_code_cell("", outputs=outputs), "It is {glue:md}`verdict`; {glue:md}`plain`.")
    assert "It is within **noise**; just text." in text


def test_a_glued_figure_is_a_note_linking_to_the_book(book):
    text = converted(book, nbformat.v4.new_code_cell("", outputs=[glued("fig", "<Figure>", png=True)]),
                     "See {glue}`fig`.", "```{glue:figure} fig\nThe caption.\n```")
    assert text.count(f"*(figure shown in the book: [{BOOK}notebooks/08_test.html]") == 2
    assert "The caption." in text


def test_a_glue_key_missing_from_the_outputs_is_an_error(book):
    with pytest.raises(ValueError, match=r"08_test\.ipynb.*'absent'"):
        converted(book, "Value {glue:text}`absent:.3f`.")


# --- terms, pages, references, citations, equations ----------------------------------------------------

def test_terms_link_to_the_glossary_entry_with_sphinx_ids(book):
    text = converted(book, "{term}`AUROC`, {term}`auroc`, {term}`held-out normal <held-out normal data>`, "
                           "{term}`F1 <precision, recall and F1>`")
    glossary = f"{BOOK}book/glossary.html"
    assert f"[*AUROC*]({glossary}#term-AUROC), [*auroc*]({glossary}#term-AUROC)" in text  # Sphinx keeps the case
    assert f"[*held-out normal*]({glossary}#term-held-out-normal-data)" in text
    assert f"[*F1*]({glossary}#term-precision-recall-and-F1)" in text
    with pytest.raises(ValueError, match="not a term"):
        converted(book, "{term}`no such term`")


def test_doc_links_to_the_online_page_titled_by_the_text_or_the_page(book):
    text = converted(book, "{doc}`the primer <../book/gan_primer>`, {doc}`02_other`, {doc}`../book/gan_primer`, "
                           "{doc}`05_not_yet`")
    assert f"[the primer]({BOOK}book/gan_primer.html)" in text
    assert f"[The other chapter]({BOOK}notebooks/02_other.html)" in text  # a bare target: the page's title
    assert f"[A GAN primer]({BOOK}book/gan_primer.html)" in text
    assert f"[05_not_yet]({BOOK}notebooks/05_not_yet.html)" in text  # no page to read: the target's name


def test_ref_to_an_exercise_is_its_number(book):
    text = converted(book, "````{exercise}\n:label: ex-a\n\nOne.\n````\n\n````{exercise}\n:label: ex-b\n\nTwo.\n````",
                     "See {ref}`ex-b`, {ref}`that one <ex-a>`, {ref}`ex-other` and {ref}`a section <sec-x>`.")
    assert "See Exercise 8.2, that one," in text
    assert f"[Exercise 2.1]({BOOK}notebooks/02_other.html#ex-other)" in text  # another chapter's exercise
    assert f"[a section]({BOOK}notebooks/08_test.html#sec-x)" in text


def test_citations_are_author_year_linked_to_the_references(book):
    text = converted(book, "A {cite}`solo2001`, B {cite}`duo2014`, C {cite}`trio2018`, D {cite}`duo2014,org1999`, "
                           "E {cite:t}`trio2018`.")
    refs = f"{BOOK}book/references.html"
    assert f"A ([Hotelling, 2001]({refs}))" in text
    assert f"B ([Kingma and Welling, 2014]({refs}))" in text
    assert f"C ([Akçay et al., 2018]({refs}))" in text  # TeX accents become characters
    assert f"D ([Kingma and Welling, 2014]({refs}); [UCI Machine Learning and Data Repository, 1999]({refs}))" in text
    assert f"E [Akçay et al. (2018)]({refs})" in text
    with pytest.raises(ValueError, match="citation 'nobody'"):
        converted(book, "{cite}`nobody`")


def test_labelled_equations_are_numbered_in_order_and_referenced(book):
    text = converted(book, "$$ a = 1 $$\n\n$$ b = 2 , $$ (eq-b)\n\nand\n\n$$\nc = 3\n\\\\ d\n$$ (eq-c)",
                     "By {eq}`eq-c` and {eq}`eq-b`, with $x$ inline.")
    assert "$$ a = 1 $$" in text  # unlabelled: not numbered, as in the book
    assert "$$ b = 2 , \\tag{1} $$" in text and "$$\nc = 3\n\\\\ d \\tag{2}\n$$" in text
    assert "By (2) and (1), with $x$ inline." in text and "(eq-b)" not in text
    with pytest.raises(ValueError, match="no equation labelled 'eq-z'"):
        converted(book, "{eq}`eq-z`")


# --- directives ------------------------------------------------------------------------------------------

def test_exercises_become_headings_and_solutions_details(book):
    text = converted(book, "````{exercise} A title\n:label: ex-a\n\nDo this:\n\n```python\nx = 1\n```\n\nThen that.\n````\n\n"
                           "````{solution} ex-a\n:class: dropdown\n\nLike so:\n\n```python\nx = 2\n```\n````",
                     "::::{exercise}\n:label: ex-b\n\nColon fenced.\n::::")
    assert "#### Exercise 8.1 (A title)\n\nDo this:\n\n```python\nx = 1\n```\n\nThen that." in text  # inner fence kept
    assert "<details><summary>Solution to exercise 8.1</summary>\n\nLike so:\n\n```python\nx = 2\n```\n\n</details>" in text
    assert "#### Exercise 8.2\n\nColon fenced." in text
    assert ":label:" not in text and ":class:" not in text


def test_solution_spans_keep_their_code_cells_runnable(book):
    nb = colab.convert(chapter(book, [
        "````{exercise}\n:label: ex-a\n\nCompute it.\n````\n\n````{solution-start} ex-a\n:class: dropdown\n````\n\nWe compute:",
        nbformat.v4.new_code_cell("answer = 42", outputs=[nbformat.v4.new_output("stream", text="x")], execution_count=4),
        "That is all.\n\n````{solution-end}\n````\n\n````{exercise}\n:label: ex-b\n\nMore.\n````\n\n"
        "````{solution-start} ex-b\n````",
        nbformat.v4.new_code_cell("more = 1"),
        "````{solution-end}\n````",
        "## After",
    ]))
    sources = [c.source for c in nb.cells[2:]]
    assert sources[0] == ("#### Exercise 8.1\n\nCompute it.\n\n"
                          "<details><summary>Solution to exercise 8.1</summary>\n\nWe compute:\n\n</details>")
    assert sources[1] == "# Solution to exercise 8.1\nanswer = 42" and nb.cells[3].outputs == []
    assert sources[2].startswith("<details><summary>Solution to exercise 8.1</summary>\n\nThat is all.\n\n</details>")
    assert sources[2].endswith("#### Exercise 8.2\n\nMore.")
    assert sources[3:] == ["# Solution to exercise 8.2\nmore = 1", "## After"]  # a cell left empty is dropped


def test_an_unclosed_solution_span_is_an_error(book):
    with pytest.raises(ValueError, match="solution-end"):
        converted(book, "````{exercise}\n:label: ex-a\n\nQ.\n````\n\n````{solution-start} ex-a\n````",
                  nbformat.v4.new_code_cell("x = 1"))


def test_literalinclude_shows_the_object_source(book):
    text = converted(book, "```{literalinclude} ../pkg/mod.py\n:language: python\n:pyobject: Model.step\n```\n\n"
                           "```{literalinclude} ../pkg/mod.py\n:pyobject: helper\n```")
    assert '```python\n@staticmethod\ndef step(x):\n    """One step."""\n    return helper(x)\n```' in text  # dedented
    assert "```python\ndef helper(x):\n    return x + 1\n```" in text
    with pytest.raises(ValueError, match="has no Model.missing"):
        converted(book, "```{literalinclude} ../pkg/mod.py\n:pyobject: Model.missing\n```")
    with pytest.raises(ValueError, match="start-after"):
        converted(book, "```{literalinclude} ../pkg/mod.py\n:start-after: x\n```")


def test_admonitions_become_blockquotes_with_a_bold_title(book):
    text = converted(book, "```{note}\nMind the gap.\n\nTwice.\n```",
                     ":::{admonition} Why it matters\n:class: tip\nBecause.\n:::")
    assert "> **Note**\n>\n> Mind the gap.\n>\n> Twice." in text
    assert "> **Why it matters**\n>\n> Because." in text


def test_markup_without_a_conversion_is_an_error(book):
    with pytest.raises(ValueError, match="MyST markup not converted"):
        converted(book, "```{figure} image.png\nCaption.\n```")
    with pytest.raises(ValueError, match="MyST markup not converted"):
        converted(book, "See {numref}`fig-x`.")


# --- cells -----------------------------------------------------------------------------------------------

def test_cells_install_cell_title_note_and_badge(book):
    path = chapter(book, [nbformat.v4.new_code_cell("secret = 1", metadata={"tags": ["remove-cell"]}),
                          nbformat.v4.new_markdown_cell("Hidden prose.", metadata={"tags": ["remove-cell"]}),
                          nbformat.v4.new_code_cell("shown = 2", metadata={"tags": ["remove-input"]},
                                                    outputs=[nbformat.v4.new_output("stream", text="2")],
                                                    execution_count=7)])
    nb = colab.convert(path)
    source = nbformat.read(path, as_version=4)
    assert nb.metadata == source.metadata
    install, title = nb.cells[0], nb.cells[1]
    assert "%pip install" in install.source and "tags" not in install.metadata
    lines = install.source.splitlines()
    environ = lines.index(colab.TF_LOG_LINE)
    assert lines.index("import os") < environ < next(i for i, line in enumerate(lines) if line.startswith("if "))
    assert title.source.startswith(f"# A test chapter\n\n{colab.NUMBERS_NOTE.split('{')[0]}")
    assert markdown_of(nb).count("Numbers quoted in the text") == 1 and f"({BOOK}notebooks/08_test.html)" in title.source
    assert f"({colab_url('colab/08_test.ipynb')})" in title.source and "/notebooks/08_test.ipynb" not in title.source
    assert [c.source for c in nb.cells[2:]] == ["shown = 2"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.source for c in code][1:] == ["shown = 2"] and code[1].metadata["tags"] == ["remove-input"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "Hidden prose." not in markdown_of(nb)


def test_a_chapter_without_the_install_cell_is_an_error(book):
    path = chapter(book, [])
    nb = nbformat.read(path, as_version=4)
    nb.cells = nb.cells[1:]
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="install cell"):
        colab.convert(path)


def test_write_and_check_from_the_command_line(book, capsys):
    source, out = book / "notebooks", book / "colab"
    chapter(book, ["Text."])
    assert colab.main([str(source), str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["02_other.ipynb", "08_test.ipynb"]
    assert colab.main([str(source), str(out), "--check"]) == 0 and colab.stale(source, out) == []
    chapter(book, ["Changed text."])
    (out / "99_gone.ipynb").write_text("{}")
    (out / "02_other.ipynb").unlink()
    capsys.readouterr()
    assert colab.main([str(source), str(out), "--check"]) == 1
    assert colab.stale(source, out) == ["02_other.ipynb", "08_test.ipynb", "99_gone.ipynb"]
    assert "out of date:" in capsys.readouterr().out
    colab.write_colab_copies(source, out)
    assert colab.stale(source, out) == [] and not (out / "99_gone.ipynb").exists()


@pytest.mark.parametrize("name", ["convert", "write_colab_copies", "stale"])
def test_public_functions_document_their_parameters(name):
    function = getattr(colab, name)
    assert parameters_of(function) <= documented_parameters(inspect.getdoc(function))
    assert "Returns\n" in inspect.getdoc(function)


# --- the real chapters ------------------------------------------------------------------------------------

@functools.cache
def converted_chapter(name: str):
    return colab.convert(ROOT / "notebooks" / name)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_chapter_converts_to_markdown_without_myst(path):
    nb = converted_chapter(path.name)
    leftovers = [m.group(0) for c in nb.cells if c.cell_type == "markdown" for m in MYST.finditer(c.source)]
    assert not leftovers
    assert markdown_of(nb).count("Numbers quoted in the text are from the book's run") == 1
    assert colab_url(f"colab/{path.name}") in nb.cells[1].source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_chapter_keeps_its_code_cells(path):
    """The rule: every code cell stays, in order, except those tagged remove-cell; the first cell (the Colab
    install cell) stays whatever its tags. All outputs are cleared."""
    source = nbformat.read(path, as_version=4).cells
    kept = [source[0].source] + [c.source for c in source[1:]
                                 if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])]
    code = [c for c in converted_chapter(path.name).cells if c.cell_type == "code"]
    assert len(code) == len(kept)
    assert [c.source.removeprefix(re.match(r"# Solution to exercise \d+\.\d+\n|", c.source)[0]) for c in code[1:]] == kept[1:]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_glued_number_of_a_chapter_appears_formatted(path):
    cells = json.loads(path.read_text())["cells"]
    stored = {o["metadata"]["scrapbook"]["name"]: o["data"]["application/papermill.record/text/plain"]
              for c in cells for o in c.get("outputs", []) if "scrapbook" in o.get("metadata", {})}
    prose = "".join("".join(c["source"]) for c in cells
                    if c["cell_type"] == "markdown" and "remove-cell" not in c["metadata"].get("tags", []))
    text = markdown_of(converted_chapter(path.name))
    for key, spec in re.findall(r"\{glue:text\}`([^`:]+):?([^`]*)`", prose):
        value = ast.literal_eval(stored[key])
        assert (format(value, spec) if spec else str(value)) in text, (key, spec)


def test_the_committed_colab_copies_are_current():
    """The badges open colab/<chapter>.ipynb at the release tag: the committed copies must be what
    `make colab` writes from the committed chapters."""
    assert (ROOT / "colab").is_dir(), "run `make colab` and commit colab/"
    assert colab.stale(ROOT / "notebooks", ROOT / "colab") == [], "run `make colab`"
