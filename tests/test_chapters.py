"""The committed chapters as a reader meets them: every figure a cell draws is in its outputs, the
file names, the table of contents and the "What's next" links agree on one reading order, the
exercises are numbered per chapter, each stated run time is the measured one, and the teaching text
holds no development history."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from adlib import runtimes

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# calls that create or draw on a matplotlib figure: pyplot, seaborn, adlib.plot, pandas/axes .plot
DRAWS = re.compile(r"\bplt\.(?:subplots|figure|subplot|imshow|plot|hist)\(|\bsns\.\w+\(|\bplot\.\w+\(|\.plot\(")
HISTORY = re.compile(r"earlier version|previous run|in development|an earlier run|the last run of this",
                     re.IGNORECASE)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def drawing_cells(nb_cells: list[dict]) -> list[int]:
    """Indices of the code cells that draw a figure: they call a plotting function directly, or a
    function defined earlier in the notebook that does."""
    drawing_functions: set[str] = set()
    found = []
    for i, cell in enumerate(nb_cells):
        if cell["cell_type"] != "code":
            continue
        text = source(cell)
        for name, body in re.findall(r"^def (\w+)\(.*?\n((?:[ \t]+.*\n?|\n)*)", text, re.MULTILINE):
            if DRAWS.search(body) or any(re.search(rf"\b{f}\(", body) for f in drawing_functions):
                drawing_functions.add(name)
        calls_own = any(re.search(rf"(?<![\w.]){f}\(", re.sub(r"^def .*$", "", text, flags=re.MULTILINE))
                        for f in drawing_functions)
        top_level = re.sub(r"^def \w+\(.*?\n(?:[ \t]+.*\n?|\n)*", "", text, flags=re.MULTILINE)
        if DRAWS.search(top_level) or calls_own:
            found.append(i)
    return found


def image_outputs(cell: dict) -> int:
    return sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def toc_order() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_that_draws_a_figure_shows_it(path):
    nb_cells = cells(path)
    drawing = drawing_cells(nb_cells)
    assert drawing, f"{path.name}: no drawing cell found (the detection is broken)"
    missing = [i for i in drawing if not image_outputs(nb_cells[i])]
    assert not missing, (f"{path.name}: cells {missing} draw a figure but have no image output; "
                         "re-run with `make notebooks` (inline backend)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_has_alt_text(path):
    """Screen readers read a figure's alt text (myst-nb's ``mystnb.image.alt`` cell metadata)."""
    nb_cells = cells(path)
    missing = [i for i in drawing_cells(nb_cells)
               if not nb_cells[i]["metadata"].get("mystnb", {}).get("image", {}).get("alt", "").strip()]
    assert not missing, f"{path.name}: cells {missing} draw a figure without alt text"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_output_prints_a_plotting_objects_repr(path):
    """A cell that ends in ``ax.legend()`` or ``plt.title(...)`` without a semicolon prints the returned
    object (``<matplotlib.legend.Legend at 0x...>``) above its figure: noise a reader cannot use."""
    shown = [i for i, cell in enumerate(cells(path)) for out in cell.get("outputs", [])
             if out.get("output_type") == "execute_result"
             and re.match(r"<(matplotlib|seaborn)\.", "".join(out.get("data", {}).get("text/plain", "")))]
    assert not shown, f"{path.name}: cells {shown} print a plotting object's repr; end them with `;`"


def test_the_drawing_cell_detection():
    code = lambda text: {"cell_type": "code", "source": text, "outputs": []}  # noqa: E731
    nb_cells = [code("import numpy as np\nx = np.ones(3)"),
                code("def show(v):\n    fig, ax = plt.subplots()\n    ax.plot(v)\n"),
                code("show(x)"),
                code("def wrap():\n    return show(1)\n\nwrap()"),
                code("plot.training_curves(h);"),
                code("print(plot_name)")]
    assert drawing_cells(nb_cells) == [2, 3, 4]


def test_notebook_file_names_follow_the_table_of_contents():
    chapters = [f for f in toc_order() if f.startswith("notebooks/")]
    assert chapters == sorted(chapters), chapters
    assert {f"notebooks/{p.stem}" for p in NOTEBOOKS} == set(chapters)
    numbers = [int(Path(f).name[:2]) for f in chapters]
    assert numbers == list(range(1, len(chapters) + 1)), numbers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_whats_next_names_the_page_the_next_button_opens(path):
    order = toc_order()
    own = f"notebooks/{path.stem}"
    following = order[order.index(own) + 1]
    text = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")
    match = re.search(r"\*\*What's next\*\*:(.*?)(?:\n\n|$)", text, re.DOTALL)
    assert match, f"{path.name} has no **What's next** paragraph"
    targets = re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", match.group(1))
    assert targets, f"{path.name}: What's next links no page"
    first = (Path("notebooks") / targets[0]).as_posix()
    first = re.sub(r"^notebooks/\.\./", "", first)
    assert first == following, f"{path.name}: What's next opens {first}, the Next button {following}"


def test_exercises_are_numbered_per_chapter():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"] == {"chapter_exercise_numbers": "tools/"}
    from tools.chapter_exercise_numbers import chapter_numbers

    class Env:
        toc_fignumbers = {"notebooks/08_ocgan_mnist": {"exercise": {"a": (23,), "b": (25,), "c": (24,)}},
                          "book/intro": {"figure": {"f": (1,)}}}
    chapter_numbers(None, Env)
    assert Env.toc_fignumbers["notebooks/08_ocgan_mnist"]["exercise"] == {"a": (8, 1), "c": (8, 2), "b": (8, 3)}
    assert Env.toc_fignumbers["book/intro"] == {"figure": {"f": (1,)}}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_stated_run_time_is_the_measured_one(path):
    results = ROOT / "notebooks" / "results" / f"{path.stem}.json"
    stated = runtimes.stated_minutes(path)
    assert stated, f"{path.name} states no **Run time**: N minutes under `book`"
    assert set(stated) == {runtimes.measured_minutes(results)}, "run `make runtimes`"


def test_runtime_sync_rewrites_a_stale_line(tmp_path):
    (tmp_path / "notebooks" / "results").mkdir(parents=True)
    nb = {"cells": [{"cell_type": "markdown", "metadata": {},
                     "source": ["**Run time**: 3 minutes under `book` (measured)."]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "notebooks" / "01_x.ipynb").write_text(json.dumps(nb))
    (tmp_path / "notebooks" / "results" / "01_x.json").write_text(json.dumps({"profile": "book", "runtime_s": 1290.0}))
    assert runtimes.main([str(tmp_path), "--check"]) == 1
    assert runtimes.main([str(tmp_path)]) == 0
    assert runtimes.stated_minutes(tmp_path / "notebooks" / "01_x.ipynb") == [22]
    assert runtimes.main([str(tmp_path), "--check"]) == 0


def test_runtime_sync_rewrites_a_stale_table_on_a_book_page(tmp_path):
    (tmp_path / "notebooks" / "results").mkdir(parents=True)
    (tmp_path / "book").mkdir()
    title_and_time = "# A chapter\n\n**Run time**: 22 minutes under `book`."
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": [title_and_time]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "notebooks" / "01_x.ipynb").write_text(json.dumps(nb))
    (tmp_path / "notebooks" / "results" / "01_x.json").write_text(json.dumps({"profile": "book", "runtime_s": 1290.0}))
    page = tmp_path / "book" / "colab.md"
    page.write_text(f"Before.\n\n{runtimes.TABLE_START}\n| stale | 3 |\n{runtimes.TABLE_END}\n\nAfter.\n")
    assert runtimes.main([str(tmp_path), "--check"]) == 1
    assert runtimes.main([str(tmp_path)]) == 0
    text = page.read_text()
    assert "| {doc}`A chapter <../notebooks/01_x>` | 22 |" in text and "stale" not in text
    assert text.startswith("Before.") and text.endswith("After.\n")
    assert runtimes.main([str(tmp_path), "--check"]) == 0


def test_the_colab_page_states_every_chapters_measured_run_time():
    assert runtimes.pages_with_table(ROOT) == [ROOT / "book" / "colab.md"]
    assert runtimes.main([str(ROOT), "--check"]) == 0, "run `make runtimes`"


@pytest.mark.parametrize("path", NOTEBOOKS + sorted((ROOT / "book").glob("*.md")), ids=lambda p: p.stem)
def test_no_development_history_in_the_teaching_text(path):
    if path.suffix == ".ipynb":
        text = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    found = [text[max(0, m.start() - 60):m.end() + 20] for m in HISTORY.finditer(text)]
    assert not found, found
