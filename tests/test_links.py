"""The repository URL and the version live in adlib/_version.py; every copy must agree with it."""
from __future__ import annotations

import json
from pathlib import Path

import adlib
from adlib import links
from adlib._version import REPOSITORY, __version__

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_every_copy_is_in_step_with_the_version_file(capsys):
    assert links.main([str(ROOT), "--check"]) == 0, capsys.readouterr().out


def test_each_notebook_installs_the_release_and_opens_its_colab_copy():
    for path in NOTEBOOKS:
        text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        assert links.install_line() in text, path.name
        assert links.colab_url(f"colab/{path.name}") in text, path.name  # the badge opens the Colab copy
        assert "@main" not in text, path.name


def test_the_release_tag_follows_the_version():
    assert adlib.__version__ == __version__ and links.TAG == f"v{__version__}"
    assert links.install_line() == f'%pip install -q "adlib @ git+https://github.com/{REPOSITORY}@v{__version__}"'


def test_sync_rewrites_a_stale_copy(tmp_path):
    for name in ("_config.yml", "pyproject.toml", "README.md"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "notebooks").mkdir()
    nb = json.loads(NOTEBOOKS[0].read_text())
    stale = json.dumps(nb).replace(f"@v{__version__}", "@main").replace(f"/blob/v{__version__}/", "/blob/main/")
    (tmp_path / "notebooks" / NOTEBOOKS[0].name).write_text(stale)
    assert links.sync(tmp_path) == [f"notebooks/{NOTEBOOKS[0].name}"]
    assert links.sync(tmp_path) == []  # idempotent
    cells = json.loads((tmp_path / "notebooks" / NOTEBOOKS[0].name).read_text())["cells"]
    assert any(links.install_line() in "".join(cell["source"]) for cell in cells)
