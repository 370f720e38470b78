"""Generated blocks inside hand-written files: the text between a start and an end comment, which a
script rewrites from its source (the run-time tables, the course plan, the backend table), and the
titles the blocks name their pages by."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Block:
    """A generated block delimited by the comment lines ``start`` and ``end`` (kept when rewritten)."""

    start: str
    end: str

    @property
    def pattern(self) -> re.Pattern:
        return re.compile(re.escape(self.start) + r".*?" + re.escape(self.end), re.S)

    def wrap(self, body: str) -> str:
        """``body`` between the markers, a blank line on either side."""
        return "\n".join([self.start, "", body.strip("\n"), "", self.end])

    def current(self, text: str) -> str | None:
        """The block in ``text``, markers included, or None if ``text`` has no markers."""
        found = self.pattern.search(text)
        return None if found is None else found.group(0)

    def replaced(self, text: str, body: str) -> str:
        """``text`` with its block holding ``body``; a ``ValueError`` if it has no markers."""
        if self.current(text) is None:
            raise ValueError(f"no generated block ({self.start} ... {self.end}) in the text")
        return self.pattern.sub(lambda _: self.wrap(body), text, count=1)

    def sync(self, path: Path, body: str, check: bool = False) -> bool:
        """Whether the block in the file ``path`` differed from ``body``; rewritten unless ``check``."""
        text = path.read_text()
        new = self.replaced(text, body)
        if new != text and not check:
            path.write_text(new)
        return new != text


def notebook_title(notebook: Path) -> str:
    """The first level-1 heading of a notebook's Markdown cells, or its file name without suffix."""
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return notebook.stem


def page_title(page: Path) -> str:
    """The first level-1 heading of a Markdown page, or its file name without suffix."""
    return next((line[2:].strip() for line in page.read_text().splitlines() if line.startswith("# ")), page.stem)
