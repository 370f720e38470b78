"""Slide decks are made from the executed chapters: title, sections, equations, figures; no code."""
from pathlib import Path

from adlib import slides

ROOT = Path(__file__).resolve().parents[1]


def test_a_deck_has_a_title_sections_equations_and_figures_and_stops_at_the_exercises():
    deck = slides.deck(ROOT / "notebooks" / "04_aegmm_kddcup99.ipynb")
    kinds = [c.metadata["slideshow"]["slide_type"] for c in deck.cells]
    assert kinds[0] == "slide" and deck.cells[0].source.startswith("# ")
    sections = [c.source.split("\n")[0] for c in deck.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert len(sections) >= 4 and not any("Exercises" in s for s in sections)
    assert any(c.cell_type == "markdown" and c.source.startswith("$$") for c in deck.cells), "no equation slide"
    figures = [c for c in deck.cells if c.cell_type == "code"
               and any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert len(figures) >= 3
    assert all(k in ("slide", "subslide") for k in kinds)
    assert "{glue" not in "".join(c.source for c in deck.cells if c.cell_type == "markdown")


def test_the_exported_deck_loads_every_script_from_its_assets(tmp_path):
    html, _ = slides.exporter().from_notebook_node(slides.deck(ROOT / "notebooks" / "02_autoencoder_basics.ipynb"))
    for local in ("assets/reveal.js/dist/reveal.js", "assets/require.js", "assets/jquery.min.js",
                  "assets/mathjax-setup.js"):
        assert local in html, local
    assert "unpkg.com" not in html and "cdnjs" not in html and "fonts.googleapis" not in html
    assert "adlib.AE(latent_dim=3" not in html  # the chapter's code is not shown, only what it drew
