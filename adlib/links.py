"""Keep every link to the repository and every install line in step with :mod:`adlib._version`.

Readers open a chapter in Colab at the release tag of the book's version, and its first cell
installs that same release, so a chapter never breaks when main moves on.
``python -m adlib.links`` rewrites the copies in place; ``--check`` only reports them (CI)."""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from ._version import REPOSITORY, __version__

TAG = f"v{__version__}"
GITHUB = f"https://github.com/{REPOSITORY}"


def install_line() -> str:
    """The pip line of every notebook's Colab cell: the release of the book's version."""
    return f'%pip install -q "adlib @ git+{GITHUB}@{TAG}"'


def colab_url(notebook: str) -> str:
    """The Colab address of a notebook at the release tag.

    Parameters
    ----------
    notebook : str
        The notebook's path relative to the repository root, e.g. ``notebooks/02_autoencoder_basics.ipynb``.

    Returns
    -------
    str
    """
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{TAG}/{notebook}"


def colab_copy(notebook_name: str) -> str:
    """The repository path of a chapter's Colab copy (``colab/<name>.ipynb``, written by ``make colab``):
    the copy, not the book's source, is what the badges open, because Colab renders no MyST markup.

    Parameters
    ----------
    notebook_name : str
        The chapter's file name, e.g. ``08_ocgan_mnist.ipynb``.

    Returns
    -------
    str
    """
    return f"colab/{notebook_name}"


_INSTALL = re.compile(r'%pip install -q "adlib @ git\+https://github\.com/[^"@]+@[^"]+"')
_BADGE = re.compile(r"https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/[^/]+/(notebooks/[\w.-]+\.ipynb)")


def rewrite_sources(path: Path, transform: Callable[[str], str], cell_type: str | None = None) -> bool:
    """Apply ``transform`` to the source of every cell of a notebook (of one ``cell_type`` only, if
    given) and write the notebook back in nbformat's layout if anything changed; outputs are untouched.

    Parameters
    ----------
    path : Path
        The ``.ipynb`` file.
    transform : callable
        Maps a cell's source text to its new source text.
    cell_type : str or None, default None
        ``"markdown"`` or ``"code"`` to rewrite only those cells.

    Returns
    -------
    bool
        True if the file changed.
    """
    text = path.read_text()
    nb = json.loads(text)
    for cell in nb["cells"]:
        if cell_type is not None and cell["cell_type"] != cell_type:
            continue
        source = "".join(cell["source"])
        new = transform(source)
        if new != source:
            cell["source"] = new.splitlines(keepends=True)
    out = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if out != text:
        path.write_text(out)
        return True
    return False


def _sync_notebook(path: Path, root: Path) -> bool:
    """Rewrites the install line and the badge of one notebook; True if anything changed."""
    badge = colab_url(colab_copy(path.name))
    return rewrite_sources(path, lambda source: _BADGE.sub(lambda m: badge, _INSTALL.sub(install_line(), source)))


def _sync_text(path: Path, replacements: list[tuple[str, str]]) -> bool:
    text = path.read_text()
    new = text
    for pattern, repl in replacements:
        new = re.sub(pattern, repl, new, flags=re.MULTILINE)
    if new != text:
        path.write_text(new)
        return True
    return False


def sync(root: Path) -> list[str]:
    """Rewrite every copy of the URL and version under ``root``.

    Parameters
    ----------
    root : Path
        The repository root (holding ``notebooks/``, ``_config.yml``, ``pyproject.toml``, ``README.md``).

    Returns
    -------
    list of str
        The files that changed, relative to ``root``.
    """
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    changed = [p.relative_to(root).as_posix() for p in notebooks if _sync_notebook(p, root)]
    text_files = {
        "_config.yml": [(r"^(  url: ).*$", rf"\g<1>{GITHUB}"), (r"^(  branch: ).*$", rf"\g<1>{TAG}")],
        "pyproject.toml": [(r'^(Homepage = ").*(")$', rf"\g<1>{GITHUB}\g<2>")],
        "README.md": [(r'git\+https://github\.com/[\w.-]+/[\w.-]+(@[\w.-]+)?"`', f'git+{GITHUB}@{TAG}"`')],
    }
    for name, replacements in text_files.items():
        if _sync_text(root / name, replacements):
            changed.append(name)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=".", type=Path, help="repository root")
    parser.add_argument("--check", action="store_true", help="report copies out of date; change nothing")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.check:
        import shutil
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp)
            for name in ("_config.yml", "pyproject.toml", "README.md"):
                shutil.copy(root / name, copy / name)
            shutil.copytree(root / "notebooks", copy / "notebooks", ignore=shutil.ignore_patterns("results", "saved"))
            stale = sync(copy)
        for name in stale:
            print(f"out of date: {name} (run `make links`)")
        return 1 if stale else 0
    for name in sync(root):
        print(f"updated {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
