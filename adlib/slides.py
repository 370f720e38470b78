"""reveal.js slides of every chapter, made from its executed notebook, served with the book.

A deck is built from the chapter's Colab copy (its MyST markup already plain Markdown, glued numbers
written in) and the outputs of the chapter's committed run:

- the title slide: the chapter's title and its "You will learn" list, its introduction's equations
  under it;
- one slide per section (``## ...``): the heading and the section's first paragraph;
- every display equation, figure and table of the section as a further slide (``subslide``) under it,
  the figures and tables without the code that made them;
- the summary section whole; nothing from the exercises on.

``python -m adlib.slides notebooks _build/html/slides`` (``make slides``, part of ``make book``)
writes ``<chapter>.html`` for every chapter; reveal.js, RequireJS, jQuery and MathJax are served
from ``assets/`` beside them (no CDN), which the Makefile fills from the npm registry.
"""
from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

from .colab import convert

ASSETS = "assets"
DISPLAY_MATH = re.compile(r"^\$\$.*?^\$\$[^\n]*$", re.S | re.M)
SHOWN = ("image/png", "image/svg+xml", "text/html")


def _first_paragraph(text: str) -> str:
    body = text.split("\n", 1)[1] if "\n" in text else ""
    for block in re.split(r"\n\s*\n", body.strip()):
        if block.strip() and not block.lstrip().startswith(("$$", "|", "```", "<")):
            return block.strip()
    return ""


def _title_slide(text: str) -> str:
    lines = text.splitlines()
    title = next((line for line in lines if line.startswith("# ")), "# Chapter")
    goals = []
    if "**You will learn**" in text:
        after = text.split("**You will learn**", 1)[1].strip().split("\n\n")[0]
        goals = [after]
    return "\n\n".join([title, *(["**You will learn**", *goals] if goals else [])])


def _slide(source: str, kind: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata["slideshow"] = {"slide_type": kind}
    return cell


def deck(chapter: Path) -> nbformat.NotebookNode:
    """The slide notebook of one executed chapter (``slideshow`` metadata on every cell)."""
    original = nbformat.read(chapter, as_version=4)
    runs = [c for c in original.cells[1:] if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])]
    converted = convert(chapter)
    cells: list[nbformat.NotebookNode] = []
    code_index, section, titled = 0, None, False
    for cell in converted.cells[1:]:  # the first is the install cell
        if cell.cell_type == "code":
            run = runs[code_index] if code_index < len(runs) else None
            code_index += 1
            shows = run is not None and any(k in out.get("data", {}) for out in run.get("outputs", []) for k in SHOWN)
            if section is not None and shows and "remove-output" not in run.metadata.get("tags", []):
                shown = copy.deepcopy(run)
                shown.outputs = [o for o in run.outputs if any(k in o.get("data", {}) for k in SHOWN)]
                shown.metadata = {"slideshow": {"slide_type": "subslide"}}
                cells.append(shown)
            continue
        text = cell.source
        if not titled:
            cells.append(_slide(_title_slide(text), "slide"))
            cells.extend(_slide(equation, "subslide") for equation in DISPLAY_MATH.findall(text))
            titled = True
            continue
        if text.startswith("## "):
            section = text.split("\n", 1)[0][3:].strip()
            if section.lower().startswith(("exercises", "results", "settings")):
                break
            if section.lower().startswith("summary"):
                cells.append(_slide(text, "slide"))
                continue
            paragraph = _first_paragraph(text)
            cells.append(_slide(f"## {section}" + (f"\n\n{paragraph}" if paragraph else ""), "slide"))
        for equation in DISPLAY_MATH.findall(text):
            cells.append(_slide(equation, "subslide"))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(original.metadata))
    nbformat.validate(notebook)
    return notebook


def exporter() -> SlidesExporter:
    """nbconvert's reveal.js exporter, with every script served from :data:`ASSETS` and no code shown."""
    exp = SlidesExporter()
    exp.reveal_url_prefix = f"{ASSETS}/reveal.js"
    exp.require_js_url = f"{ASSETS}/require.js"
    exp.jquery_url = f"{ASSETS}/jquery.min.js"
    exp.mathjax_url = f"{ASSETS}/mathjax-setup.js"
    # the chapters draw no diagrams: a module that does nothing stands in for mermaid's CDN copy
    exp.mermaid_js_url = "data:text/javascript,export default {initialize() {}};"
    exp.reveal_theme = "white"  # its fonts ship with reveal.js (the "simple" theme imports web fonts)
    exp.reveal_scroll = True
    exp.exclude_input = True
    exp.exclude_input_prompt = True
    exp.exclude_output_prompt = True
    return exp


MATHJAX_SETUP = """// MathJax 3 for the slides: $...$ inline as in the chapters, loaded from the book's own copy.
// nbconvert's reveal template re-renders a slide with MathJax 2's Hub; MathJax 3 has typeset every
// slide at load, so the shim below answers that call with nothing to do.
window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]]},
  startup: {ready: function () {
    MathJax.startup.defaultReady();
    MathJax.Hub = {getAllJax: function () { return false; }, Rerender: function () {}};
  }},
};
window.MathJax.Hub = {getAllJax: function () { return false; }, Rerender: function () {}};
(function () {
  var script = document.createElement("script");
  script.src = document.currentScript.src.replace("mathjax-setup.js", "mathjax/tex-chtml-full.js");
  script.async = true;
  document.head.appendChild(script);
})();
"""


def write_decks(source_dir: Path, out_dir: Path) -> list[Path]:
    """One ``.html`` deck per chapter of ``source_dir`` in ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ASSETS).mkdir(exist_ok=True)
    (out_dir / ASSETS / "mathjax-setup.js").write_text(MATHJAX_SETUP)
    written = []
    for chapter in sorted(source_dir.glob("[0-9][0-9]_*.ipynb")):
        body, _ = exporter().from_notebook_node(deck(chapter))
        target = out_dir / f"{chapter.stem}.html"
        target.write_text(body)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m adlib.slides NOTEBOOKS_DIR OUT_DIR")
    for path in write_decks(Path(args[0]), Path(args[1])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
