"""The built book in a real browser (headless Chromium, driven by Playwright), with the network cut off:
equations render, local images and links resolve, every chapter opens its own notebook in Colab and
shows no TensorFlow start-up log, and no table is wider than the text column. Run after the book is
built (``make test`` does); screenshots of three pages go to ``_build/screenshots/``."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from adlib.links import TAG, colab_copy, colab_url

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
SKIP_DIRS = {"_static", "_sources", "_images", "slides"}  # the slides are not book pages (own test below)
GENERATED = {"genindex.html", "search.html", "py-modindex.html"}
REDIRECT = "index.html"  # Jupyter Book's landing page only redirects to the first page of the table of contents
SCREENSHOTS = {"intro": "book/intro.html", "chapter": "notebooks/08_ocgan_mnist.html",
               "benchmark": "book/benchmark.html"}


def built_pages() -> list[str]:
    if not (HTML / "index.html").exists():
        return []
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not SKIP_DIRS & set(p.relative_to(HTML).parts) and p.name not in GENERATED
                  and p.relative_to(HTML).as_posix() != REDIRECT)


def chromium() -> str:
    """Debian's chromium, or another Chromium-based browser named by ADLIB_CHROMIUM."""
    for candidate in (os.environ.get("ADLIB_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (path := shutil.which(candidate)):
            return path
    pytest.fail("no Chromium found: install Debian's `chromium` (.ci/run does) or set ADLIB_CHROMIUM")


PAGES = built_pages()

# What each page reports about itself, once MathJax has finished typesetting.
INSPECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const column = document.querySelector("article.bd-article") || document.querySelector("main");
  const width = column ? column.getBoundingClientRect().width : window.innerWidth;
  return {
    mathSource: document.querySelectorAll(".math, div.math, span.math").length,
    mathRendered: document.querySelectorAll("mjx-container").length,
    mathErrors: Array.from(document.querySelectorAll("mjx-merror")).map(e => e.textContent).slice(0, 5),
    images: Array.from(document.images).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0})),
    links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
    colab: Array.from(document.querySelectorAll("a[href*='colab.research.google.com/github/']")).map(a => a.href),
    columnWidth: width,
    // TensorFlow's C++ start-up lines (absl, oneDNN), which say nothing to a reader
    startupLog: (column ? column.innerText : "").split("\\n")
      .filter(l => /absl::InitializeLog|oneDNN custom operations/.test(l)).slice(0, 2),
    // a table wider than the column counts as fitting only inside its own horizontal scroll box that fits
    wideTables: Array.from(column ? column.querySelectorAll("table") : [])
      .map(t => {
        let box = t.parentElement;
        while (box && box !== column && !["auto", "scroll"].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
        const boxed = box && box !== column;
        return {width: Math.round((boxed ? box : t).getBoundingClientRect().width), scrolls: boxed,
                head: (t.querySelector("tr") || t).textContent.trim().replace(/\\s+/g, " ").slice(0, 80)};
      })
      .filter(t => t.width > width + 1),
    scrollingTables: Array.from(column ? column.querySelectorAll("table") : [])
      .filter(t => t.getBoundingClientRect().width > width + 1).length,
    // figures a reader sees: images in the chapter's text column (badges are links to Colab, not figures)
    figures: Array.from(column ? column.querySelectorAll("img") : [])
      .filter(i => !i.closest("a[href*='colab.research.google.com']")).length,
    // code and text outputs whose content is wider than their box without a drawn scrollbar: cut off
    clipped: Array.from(column ? column.querySelectorAll("div.highlight pre, div.cell_output pre, div.output pre") : [])
      .filter(el => {
        const style = getComputedStyle(el);
        // a horizontal scrollbar that is drawn takes height from the box (an overlay one takes none)
        const bar = el.offsetHeight - el.clientHeight - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
        const scrolls = ["auto", "scroll"].includes(style.overflowX) && bar >= 4;
        const hidden = el.scrollWidth > el.clientWidth + 1 && !scrolls;
        const spills = el.getBoundingClientRect().right > column.getBoundingClientRect().right + 1;
        return hidden || spills;
      })
      .map(el => el.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), "").slice(0, 100)),
  };
}"""


@pytest.fixture(scope="module")
def browser():
    if not PAGES:
        pytest.fail(f"no built book under {HTML}: run `make build-book` first")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        # scrollbars drawn as a reader's browser draws them (Playwright hides them by default)
        browser = p.chromium.launch(executable_path=chromium(), ignore_default_args=["--hide-scrollbars"], args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--enable-features=OverlayScrollbar",  # as on macOS and phones: hidden until the reader scrolls
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def reports(browser) -> dict[str, dict]:
    """Every page opened once at 1280×900 with every non-file request refused (an offline reader)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused: list[str] = []

    def offline(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    out = {}
    SHOTS.mkdir(parents=True, exist_ok=True)
    for page_path in PAGES:
        page = context.new_page()
        page.goto((HTML / page_path).as_uri(), wait_until="load")
        out[page_path] = page.evaluate(INSPECT)
        for name, shot_path in SCREENSHOTS.items():
            if shot_path == page_path:
                page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
        page.close()
    context.close()
    out["__refused__"] = {"urls": sorted(set(refused))}
    (SHOTS / "report.json").write_text(json.dumps(out, indent=1))
    return out


def test_the_landing_page_redirects_to_the_introduction(browser):
    page = browser.new_page()
    page.goto((HTML / REDIRECT).as_uri(), wait_until="load")
    page.wait_for_url("**/book/intro.html")
    assert page.title(), "the introduction has no title"
    page.close()


def test_the_book_has_its_pages():
    assert "book/intro.html" in PAGES and "book/benchmark.html" in PAGES, PAGES[:5]
    assert sum(p.startswith("notebooks/") for p in PAGES) >= 9


@pytest.mark.parametrize("page_path", PAGES)
def test_equations_render_offline(reports, page_path):
    report = reports[page_path]
    assert not report["mathErrors"], report["mathErrors"]
    if report["mathSource"]:
        assert report["mathRendered"] >= 1, "the page has equations but MathJax rendered none (loaded from the build?)"


@pytest.mark.parametrize("page_path", PAGES)
def test_local_images_and_links_resolve(reports, page_path):
    report = reports[page_path]
    broken = [i["src"] for i in report["images"] if i["src"].startswith("file://") and not i["ok"]]
    assert not broken, broken
    missing = []
    for href in report["links"]:
        url = urlparse(href)
        if url.scheme == "file" and not Path(unquote(url.path)).exists():
            missing.append(href)
    assert not missing, missing


@pytest.mark.parametrize("page_path", [p for p in PAGES if p.startswith("notebooks/")])
def test_chapter_opens_its_own_colab_copy(reports, page_path):
    own = colab_url(colab_copy(Path(page_path).name.removesuffix(".html") + ".ipynb"))
    links = reports[page_path]["colab"]
    assert links, "no Colab link on the page"
    assert set(links) == {own}, (own, sorted(set(links)))
    assert f"/blob/{TAG}/" in own


@pytest.mark.parametrize("page_path", PAGES)
def test_no_table_is_wider_than_the_column(reports, page_path):
    report = reports[page_path]
    assert not report["wideTables"], (report["columnWidth"], report["wideTables"])


@pytest.mark.parametrize("page_path", [p for p in PAGES if p.startswith("notebooks/")])
def test_no_tensorflow_start_up_log_on_the_page(reports, page_path):
    assert not reports[page_path]["startupLog"], "tag the import cell `remove-stderr`"


def shown_figure_outputs(notebook: Path) -> int:
    """Image outputs of a notebook that the book shows: not in removed cells or outputs, not glue records."""
    count = 0
    for cell in json.loads(notebook.read_text())["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or tags & {"remove-cell", "remove-output"}:
            continue
        count += sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
    return count


@pytest.mark.parametrize("page_path", [p for p in PAGES if p.startswith("notebooks/")])
def test_every_figure_of_the_notebook_is_on_its_page(reports, page_path):
    expected = shown_figure_outputs(ROOT / Path(page_path).with_suffix(".ipynb"))
    assert expected > 0, f"{page_path}: its notebook has no figure outputs"
    assert reports[page_path]["figures"] >= expected, (reports[page_path]["figures"], expected)


@pytest.mark.parametrize("page_path", PAGES)
def test_no_code_or_output_is_cut_off(reports, page_path):
    assert not reports[page_path]["clipped"], reports[page_path]["clipped"]


def test_screenshots_were_saved(reports):
    for name in SCREENSHOTS:
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000, name


MARKUP = ("{glue", "{term}", "{doc}", "{ref}", "{cite", "{numref}", "```{", "````{", "{exercise}", "{solution",
          ":label:", ":class: dropdown")


def test_a_colab_copy_reads_without_markup_as_jupyter_renders_it(browser, tmp_path):
    """Chapter 04's Colab copy rendered by `jupyter nbconvert --to html`, the renderer Jupyter and Colab
    share for Markdown: no MyST role or directive shows, its numbers are written in, and each solution
    is a folded block. The screenshot is saved as _build/screenshots/colab-copy.png (offline, so
    MathJax, which Jupyter loads from the network, leaves the equations as TeX there)."""
    import subprocess
    import sys

    copy = ROOT / "colab" / "04_aegmm_kddcup99.ipynb"
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--output-dir", str(tmp_path), str(copy)],
                   check=True, capture_output=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
    page.goto((tmp_path / "04_aegmm_kddcup99.html").as_uri(), wait_until="load")
    text = page.inner_text("body")
    shown = [m for m in MARKUP if m in text]
    assert not shown, shown
    assert "book's run" in text, "the copy must say where its quoted numbers come from"
    assert page.locator("details").count() >= 2, "solutions should be folded <details> blocks"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("text=Gaussian-mixture energy models").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "colab-copy.png"))
    page.close()


def test_a_slide_deck_runs_offline(browser):
    """Chapter 04's reveal.js deck (make slides) from the build, with the network cut off: reveal.js is
    ready, the deck has its slides, MathJax typesets its equations, nothing is fetched from outside and
    no script fails. The screenshot (an equation slide) is saved as _build/screenshots/slide.png."""
    deck = HTML / "slides" / "04_aegmm_kddcup99.html"
    assert deck.is_file(), "run `make slides` (part of `make build-book`)"
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    refused, errors = [], []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
               else (refused.append(route.request.url), route.abort()))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(deck.as_uri(), wait_until="load")
    page.wait_for_function("document.querySelector('.reveal').classList.contains('ready')", timeout=20_000)
    page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=30_000)
    assert page.evaluate("document.querySelectorAll('.reveal .slides section').length") >= 8
    page.keyboard.press("ArrowDown")  # the first equation, under the title slide
    page.wait_for_timeout(1_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "slide.png"))
    page.close()
    assert not refused, refused
    assert not errors, errors
