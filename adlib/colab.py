"""Colab copies of the chapters: the book's MyST markup turned into plain Jupyter Markdown.

Jupyter and Colab show the chapters' Jupyter Book markup raw: glued numbers, glossary terms, citations,
cross-references, numbered equations, included source and sphinx-exercise blocks. ``python -m adlib.colab
notebooks colab`` (``make colab``) writes a copy of every chapter into ``colab/`` with that markup as plain
Markdown (the numbers of the book's run, links into the online book, exercises as headings, solutions as
``<details>``), outputs cleared, and the Colab badge pointing at the copy itself. ``--check`` changes
nothing and exits 1 if a committed copy differs from what would be written now.

Choices: a glued figure becomes an italic note linking to the chapter online (running the chapter draws
it again); equations are numbered within the chapter, not across the book. Markup left over after the
conversion is an error, so that a new kind of markup fails the tests instead of reaching readers raw.
"""
from __future__ import annotations

import argparse
import ast
import json
import posixpath
import re
import sys
import textwrap
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ._version import REPOSITORY
from .links import colab_url

_OWNER, _NAME = REPOSITORY.split("/")
BOOK_URL = f"https://{_OWNER.lower()}.github.io/{_NAME}/"  # the online book (GitHub Pages)
COLAB_DIR = "colab"  # where the copies are committed, relative to the repository root: their badges point there
GLOSSARY, BIBLIOGRAPHY, REFERENCES = "book/glossary", "book/references.bib", "book/references"
CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"
NUMBERS_NOTE = ("Numbers quoted in the text are from the book's run under the `book` profile "
                "(see the chapter online: {link}); yours will differ slightly.")
TF_LOG_LINE = 'os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # silences TensorFlow\'s C++ log; set before TensorFlow is imported'
ADMONITIONS = {"admonition": "", "note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
               "warning": "Warning", "caution": "Caution", "attention": "Attention", "danger": "Danger",
               "error": "Error", "seealso": "See also"}
LITERALINCLUDE_OPTIONS = {"language", "pyobject", "caption", "linenos", "emphasize-lines", "dedent"}

ROLE = re.compile(r"\{(?P<role>[a-z][\w:.-]*)\}`(?P<content>[^`]+)`")
TITLED = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.S)  # `text <target>`
DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[^}\s]+)\}[ \t]*(?P<arg>[^\n]*)\n(?P<body>.*?)"
                       r"^(?P=fence)[ \t]*$\n?", re.S | re.M)
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
SOLUTION_START = re.compile(r"^(`{3,}|:{3,})\{solution-start\}[ \t]*(\S*)[^\n]*\n.*?^\1[ \t]*$\n?", re.S | re.M)
SOLUTION_END = re.compile(r"^(`{3,}|:{3,})\{solution-end\}.*?^\1[ \t]*$\n?", re.S | re.M)
DISPLAY_MATH = re.compile(r"\$\$(?P<math>.+?)\$\$(?:[ \t]*\((?P<label>[^()\s]+)\))?", re.S)  # `$$ ... $$ (label)`
BADGE = re.compile(r"(?<=\()https://colab\.research\.google\.com/github/[^)\s]+\.ipynb(?=\))")
LEFTOVER = re.compile(r"\{[a-z][\w:.-]*\}`|^[ \t]*(?:`{3,}|:{3,})\{", re.M)  # any role, any directive
ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307",
           "c": "\u0327"}


@dataclass
class _Chapter:
    """What converting one chapter needs to know beyond the cell at hand."""
    path: Path
    root: Path  # the book's root: the parent of the chapters' folder
    page: str  # the chapter's page, root-relative without suffix: notebooks/08_ocgan_mnist
    exercises: list[tuple[str | None, str]]  # (label, "8.1") in order
    equations: dict[str, int]
    glue: dict[str, dict[str, object]]
    glossary: dict[str, str]
    bibliography: dict[str, tuple[str, str]]
    seen: int = field(default=0)  # exercises converted so far

    def url(self, page: str | None = None) -> str:
        return f"{BOOK_URL}{self.page if page is None else page}.html"

    def number(self, label: str) -> str:
        for known, number in self.exercises:
            if known == label:
                return number
        raise ValueError(f"{self.path.name}: no exercise labelled {label!r}")


# --- the book's glossary, bibliography and page titles -------------------------------------------------

def _sphinx_id(text: str) -> str:
    """The id Sphinx gives a glossary term (``term-`` + this): ASCII, case kept, other runs become ``-``."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9._]+", "-", " ".join(text.split()))
    return re.sub(r"^[-0-9._]+|-+$", "", text)


def _glossary(root: Path) -> dict[str, str]:
    """The terms of the glossary page, lower-cased (Sphinx matches terms without case) to their spelling."""
    path = root / f"{GLOSSARY}.md"
    block = re.search(r"^(`{3,}|:{3,})\{glossary\}[^\n]*\n(.*?)^\1", path.read_text(encoding="utf-8"), re.S | re.M) \
        if path.exists() else None
    lines = block.group(2).splitlines() if block else []
    return {" ".join(line.split()).lower(): line.strip() for line in lines if line.strip() and not line[0].isspace()}


def _braced(text: str, start: int) -> str:
    """The text inside the braces opening at ``text[start]``, nested braces included."""
    depth = 0
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[start + 1:end]
    raise ValueError(f"unbalanced braces in BibTeX after {text[start:start + 40]!r}")


def _tex(text: str) -> str:
    """BibTeX text as plain text: accents (``{\\"o}``, ``{\\c{c}}``) as characters, braces dropped."""
    text = re.sub(r"\\([\"'`^~=.]|c(?=[\s{]))\s*\{?\s*(\w)\s*\}?", lambda m: m[2] + ACCENTS[m[1]], text)
    return unicodedata.normalize("NFC", text.replace("{", "").replace("}", ""))


def _bibliography(path: Path) -> dict[str, tuple[str, str]]:
    """Each entry's key to (authors as cited, year): Last; Last and Last2; Last et al."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    entries = {}
    for match in re.finditer(r"@\w+\s*(?=\{)", text):
        body = _braced(text, match.end())
        key = body.split(",", 1)[0].strip()
        author = re.search(r"\b(?:author|editor)\s*=\s*(?=\{)", body)
        year = re.search(r"\byear\s*=\s*[{\"]?\s*(\d{4})", body)
        if not author or not year:
            raise ValueError(f"{path}: entry {key!r} has no author or no year")
        names = [name.strip() for name in re.split(r"\s+and\s+(?![^{]*\})", _braced(body, author.end()))]  # not in braces
        surnames = [_tex(name if name.startswith("{") else name.split(",")[0] if "," in name else name.split()[-1])
                    for name in names]  # {An Organisation}; Last, First; First Last
        cited = surnames[0] if len(surnames) == 1 else " and ".join(surnames) if len(surnames) == 2 \
            else f"{surnames[0]} et al."
        entries[key] = (cited, year.group(1))
    return entries


def _page_title(root: Path, page: str) -> str | None:
    """The first ``# `` heading of a page (notebook or Markdown file), or None if there is none."""
    notebook, markdown = root / f"{page}.ipynb", root / f"{page}.md"
    if notebook.exists():
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        texts = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    else:
        texts = [markdown.read_text(encoding="utf-8")] if markdown.exists() else []
    heading = next((m for t in texts if (m := re.search(r"^# +(.+?)\s*$", t, re.M))), None)
    return heading.group(1) if heading else None


# --- one chapter's numbers: exercises, equations, glued values ------------------------------------------

def _options(body: str) -> tuple[dict[str, str], str]:
    """A directive's leading ``:key: value`` lines, and the rest of its body."""
    lines, options = body.split("\n"), {}
    while lines and (option := OPTION.match(lines[0])):
        options[option["key"]] = option["value"].strip()
        lines.pop(0)
    return options, "\n".join(lines).strip("\n")


def _exercises(sources: list[str], chapter: int) -> list[tuple[str | None, str]]:
    found = [_options(m["body"])[0].get("label") for s in sources for m in DIRECTIVE.finditer(s) if m["name"] == "exercise"]
    return [(label, f"{chapter}.{k}") for k, label in enumerate(found, start=1)]


def _chapter(path: Path, cells: list) -> _Chapter:
    prefix = re.match(r"(\d{2})_", path.name)
    if prefix is None:
        raise ValueError(f"{path.name}: a chapter's name starts with its two-digit number (NN_name.ipynb)")
    path = path.resolve()
    root = path.parent.parent
    markdown = [c.source for c in cells if c.cell_type == "markdown" and "remove-cell" not in c.metadata.get("tags", [])]
    labels = [m["label"] for s in markdown for m in DISPLAY_MATH.finditer(s) if m["label"]]
    glue = {}
    for cell in cells:
        for output in cell.get("outputs", []):
            if scrap := output.get("metadata", {}).get("scrapbook"):
                prefix_ = scrap.get("mime_prefix", "application/papermill.record/")
                glue[scrap["name"]] = {k[len(prefix_):]: v for k, v in output.get("data", {}).items() if k.startswith(prefix_)}
    return _Chapter(path, root, path.relative_to(root).with_suffix("").as_posix(), _exercises(markdown, int(prefix[1])),
                    {label: n for n, label in enumerate(labels, start=1)}, glue, _glossary(root),
                    _bibliography(root / BIBLIOGRAPHY))


# --- roles and labelled equations -----------------------------------------------------------------------

def _format(value: object, spec: str) -> str:
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return format(float(value), spec)  # as myst-nb does: the number the stored text holds


def _glue(role: str, content: str, ch: _Chapter) -> str:
    key, _, spec = content.strip().partition(":")
    if key not in ch.glue:
        raise ValueError(f"{ch.path.name}: glue key {key!r} is not in the notebook's outputs (re-execute the chapter)")
    data = ch.glue[key]
    if role == "glue:md" and "text/markdown" in data:
        return str(data["text/markdown"])
    if role != "glue:text" and "image/png" in data:
        return f"*(figure shown in the book: [{ch.url()}]({ch.url()}))*"
    text = str(data.get("text/plain", ""))
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    return _format(value, spec) if spec else str(value)


def _other_exercise(ch: _Chapter, label: str) -> tuple[str, str] | None:
    """(page, number) of an exercise labelled ``label`` in another chapter of the same folder."""
    for other in sorted(ch.path.parent.glob(CHAPTER_GLOB)):
        if other != ch.path and label in other.read_text(encoding="utf-8"):
            cells = nbformat.read(other, as_version=4).cells
            markdown = [c.source for c in cells if c.cell_type == "markdown"]
            for known, number in _exercises(markdown, int(other.name[:2])):
                if known == label:
                    return other.relative_to(ch.root).with_suffix("").as_posix(), number
    return None


def _role(match: re.Match, ch: _Chapter) -> str:
    role, content = match["role"], match["content"]
    titled = TITLED.match(content)
    text, target = (titled["text"], titled["target"].strip()) if titled else (None, content.strip())
    if role in {"glue", "glue:", "glue:any", "glue:text", "glue:md"}:
        return _glue(role, content, ch)
    if role == "term":
        spelling = ch.glossary.get(" ".join(target.split()).lower())
        if spelling is None:
            raise ValueError(f"{ch.path.name}: {target!r} is not a term of {GLOSSARY}.md")
        return f"[*{text or content}*]({ch.url(GLOSSARY)}#term-{_sphinx_id(spelling)})"
    if role == "doc":
        page = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(posixpath.dirname(ch.page), target))
        page = re.sub(r"\.(ipynb|md)$", "", page)
        return f"[{text or _page_title(ch.root, page) or target}]({ch.url(page)})"
    if role == "ref":
        if any(label == target for label, _ in ch.exercises):
            return text or f"Exercise {ch.number(target)}"
        page, number = _other_exercise(ch, target) or (ch.page, None)
        return f"[{text or (f'Exercise {number}' if number else target)}]({ch.url(page)}#{target})"
    if role in {"cite", "cite:p", "cite:t"}:
        cited = []
        for key in (k.strip() for k in content.split(",")):
            if key not in ch.bibliography:
                raise ValueError(f"{ch.path.name}: citation {key!r} is not in {BIBLIOGRAPHY}")
            authors, year = ch.bibliography[key]
            cited.append(f"[{authors} ({year})]({ch.url(REFERENCES)})" if role == "cite:t"
                         else f"[{authors}, {year}]({ch.url(REFERENCES)})")
        return "; ".join(cited) if role == "cite:t" else f"({'; '.join(cited)})"
    if role == "eq":
        if target not in ch.equations:
            raise ValueError(f"{ch.path.name}: no equation labelled {target!r} in the chapter")
        return f"({ch.equations[target]})"
    return match[0]  # unknown: left for the check in convert() to report


def _equation(match: re.Match, ch: _Chapter) -> str:
    if not match["label"]:
        return match[0]
    math = match["math"]
    return f"$${math.rstrip()} \\tag{{{ch.equations[match['label']]}}}{chr(10) if math.endswith(chr(10)) else ' '}$$"


def _inline(text: str, ch: _Chapter) -> str:
    text = DISPLAY_MATH.sub(lambda m: _equation(m, ch), text)
    return ROLE.sub(lambda m: _role(m, ch), text)


# --- directives -----------------------------------------------------------------------------------------

def _details(number: str, body: str) -> str:
    return f"<details><summary>Solution to exercise {number}</summary>\n\n{body.strip()}\n\n</details>\n"


def _pyobject(source: str, name: str, where: str) -> str:
    """The source lines of function, class or ``Class.method`` ``name``, decorators included, dedented."""
    nodes, node = ast.parse(source).body, None
    for part in name.split("."):
        node = next((n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == part), None)
        if node is None:
            raise ValueError(f"{where} has no {name}")
        nodes = node.body
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return textwrap.dedent("\n".join(source.splitlines()[start - 1:node.end_lineno]))


def _literalinclude(arg: str, options: dict[str, str], ch: _Chapter) -> str:
    if unknown := set(options) - LITERALINCLUDE_OPTIONS:
        raise ValueError(f"{ch.path.name}: literalinclude option(s) {sorted(unknown)} are not converted")
    path = ch.root / arg[1:] if arg.startswith("/") else ch.path.parent / arg
    source = path.read_text(encoding="utf-8")
    if "pyobject" in options:
        source = _pyobject(source, options["pyobject"], arg)
    fence = "```"
    while fence in source:
        fence += "`"
    return f"{fence}{options.get('language', 'python')}\n{source.rstrip()}\n{fence}\n"


def _directive(match: re.Match, ch: _Chapter) -> str:
    name, arg = match["name"], match["arg"].strip()
    options, body = _options(match["body"])
    if name == "exercise":
        ch.seen += 1
        title = f" ({arg})" if arg else ""
        return f"#### Exercise {ch.exercises[ch.seen - 1][1]}{title}\n\n{_directives(body, ch).strip()}\n"
    if name == "solution":
        return _details(ch.number(arg), _directives(body, ch))
    if name == "literalinclude":
        return _literalinclude(arg, options, ch)
    if name in {"glue", "glue:", "glue:figure"}:
        return f"{_glue('glue', arg, ch)}\n\n{_directives(body, ch).strip()}\n"
    if name in ADMONITIONS:
        title = arg if name == "admonition" else ADMONITIONS[name]
        content = _directives(body if name == "admonition" or not arg else f"{arg}\n{body}", ch).strip()
        return "\n".join(f"> {line}".rstrip() for line in [f"**{title}**", "", *content.splitlines()]) + "\n"
    return match[0]  # unknown: left for the check in convert() to report


def _directives(text: str, ch: _Chapter) -> str:
    return DIRECTIVE.sub(lambda m: _directive(m, ch), text)


# --- cells ----------------------------------------------------------------------------------------------

def _markdown(source: str, ch: _Chapter, inside: str | None) -> tuple[str, str | None]:
    """One Markdown cell converted, given the number of the solution span it starts in (or None); the
    span's text goes into ``<details>`` blocks. Returns the text and the span open at the cell's end."""
    parts, pos = [], 0
    while True:
        marker = (SOLUTION_END if inside else SOLUTION_START).search(source, pos)
        segment = source[pos:marker.start() if marker else len(source)]
        if segment.strip():
            text = _directives(_inline(segment, ch), ch).strip()
            parts.append(_details(inside, text).strip() if inside else text)
        if marker is None:
            return "\n\n".join(parts), inside
        inside, pos = (None if inside else ch.number(marker[2])), marker.end()


def _install_cell(cell: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The Colab install cell, with TensorFlow's log level set before anything imports it."""
    if cell.cell_type != "code" or "google.colab" not in cell.source:
        raise ValueError(f"{name}: the first cell must be the Colab install cell (`if \"google.colab\" in sys.modules`)")
    lines = cell.source.splitlines()
    if "TF_CPP_MIN_LOG_LEVEL" not in cell.source:
        start = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
        lines.insert(start, "import os")
        after = next((i for i in range(start, len(lines)) if lines[i].strip() and not lines[i].startswith(("import ", "from "))),
                     len(lines))
        lines[after:after] = [TF_LOG_LINE, ""]
    tags = [t for t in cell.metadata.get("tags", []) if t != "remove-cell"]
    return _clean(cell, "\n".join(lines), tags)


def _clean(cell: nbformat.NotebookNode, source: str, tags: list[str]) -> nbformat.NotebookNode:
    """A copy of ``cell`` with ``source``: no outputs, no execution count or timings (they would make every
    re-execution of the chapter a change of its copy)."""
    metadata = {k: v for k, v in cell.metadata.items() if k not in {"execution", "tags"}}
    new = nbformat.from_dict({**cell, "source": source, "metadata": {**metadata, **({"tags": tags} if tags else {})}})
    if new.cell_type == "code":
        new.outputs, new.execution_count = [], None
    return new


def convert(path: str | Path) -> nbformat.NotebookNode:
    """The Colab copy of one chapter, in memory.

    Parameters
    ----------
    path : str or Path
        The chapter, ``NN_name.ipynb`` in a folder of the book's root (``notebooks/``); the glossary,
        bibliography and pages it refers to are read relative to that root.

    Returns
    -------
    nbformat.NotebookNode
        The copy: MyST markup as plain Markdown, cells tagged ``remove-cell`` dropped except the install
        cell, outputs cleared, the notebook's metadata kept.

    Raises
    ------
    ValueError
        If a glued key, term, citation, label or included object is missing, a solution span is not
        closed, or MyST markup is left over after conversion.
    """
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    ch = _chapter(path, notebook.cells)
    cells, inside, titled = [_install_cell(notebook.cells[0], path.name)], None, False
    for cell in notebook.cells[1:]:
        tags = cell.metadata.get("tags", [])
        if "remove-cell" in tags:
            continue
        if cell.cell_type != "markdown":
            solution = inside and cell.cell_type == "code"
            cells.append(_clean(cell, f"# Solution to exercise {inside}\n{cell.source}" if solution else cell.source, tags))
            continue
        source, inside = _markdown(cell.source, ch, inside)
        if not titled:
            source, titled = _title(source, ch), True
        if source.strip():
            cells.append(_clean(cell, source, tags))
    if inside:
        raise ValueError(f"{path.name}: a {{solution-start}} of exercise {inside} has no matching {{solution-end}}")
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and (left := LEFTOVER.search(cell.source)):
            line = cell.source[cell.source.rfind("\n", 0, left.start()) + 1:].split("\n")[0]
            raise ValueError(f"{path.name}, cell {index}: MyST markup not converted: {line!r}")
    notebook.cells = cells
    nbformat.validate(notebook)
    return notebook


def _title(source: str, ch: _Chapter) -> str:
    """The title cell: the note on numbers after its heading, and its badge pointing at the copy."""
    heading = re.search(r"^# .*$", source, re.M)
    if heading is None:
        raise ValueError(f"{ch.path.name}: the first Markdown cell has no `# ` title")
    note = NUMBERS_NOTE.format(link=f"[{ch.url().split('://', 1)[1]}]({ch.url()})")
    source = f"{source[:heading.end()]}\n\n{note}{source[heading.end():]}"
    source, badges = BADGE.subn(colab_url(f"{COLAB_DIR}/{ch.path.name}"), source)
    if not badges:
        raise ValueError(f"{ch.path.name}: the title cell has no Colab badge")
    return source


# --- files and command line -----------------------------------------------------------------------------

def _text(notebook: nbformat.NotebookNode) -> str:
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def _chapters(source_dir: str | Path) -> list[Path]:
    chapters = sorted(Path(source_dir).glob(CHAPTER_GLOB))
    if not chapters:
        raise FileNotFoundError(f"no chapters ({CHAPTER_GLOB}) in {source_dir}")
    return chapters


def write_colab_copies(source_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the Colab copy of every chapter, and delete copies whose chapter is gone. Every chapter is
    converted before anything is written, so that an error leaves the folder as it was.

    Parameters
    ----------
    source_dir : str or Path
        The chapters' folder (``notebooks``).
    out_dir : str or Path
        Where the copies go (``colab``), created if needed.

    Returns
    -------
    list of Path
        The copies written, in chapter order.
    """
    copies = {path.name: _text(convert(path)) for path in _chapters(source_dir)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / name for name in copies]
    for target in written:
        target.write_text(copies[target.name], encoding="utf-8")
    for orphan in set(out.glob(CHAPTER_GLOB)) - set(written):
        orphan.unlink()
    return written


def stale(source_dir: str | Path, out_dir: str | Path) -> list[str]:
    """The copies that differ from what :func:`write_colab_copies` would write now.

    Parameters
    ----------
    source_dir : str or Path
        The chapters' folder (``notebooks``).
    out_dir : str or Path
        The folder of the committed copies (``colab``).

    Returns
    -------
    list of str
        File names of copies that are out of date, missing, or left from a chapter that is gone; sorted.
    """
    out = Path(out_dir)
    expected = {path.name: _text(convert(path)) for path in _chapters(source_dir)}
    names = {name for name, text in expected.items()
             if not (out / name).exists() or (out / name).read_text(encoding="utf-8") != text}
    return sorted(names | ({p.name for p in out.glob(CHAPTER_GLOB)} - expected.keys()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_dir", type=Path, help="the chapters (notebooks)")
    parser.add_argument("out_dir", type=Path, help="where the copies go (colab)")
    parser.add_argument("--check", action="store_true", help="report copies out of date; change nothing")
    args = parser.parse_args(argv)
    if args.check:
        names = stale(args.source_dir, args.out_dir)
        for name in names:
            print(f"out of date: {args.out_dir / name} (run `make colab`)")
        return 1 if names else 0
    for path in write_colab_copies(args.source_dir, args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
