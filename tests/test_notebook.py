"""The notebooks' glue helper stores values that myst-nb can format in prose."""
import numpy as np
import pytest

from adlib import notebook


def test_glue_stores_numpy_scalars_as_python_numbers(monkeypatch):
    myst_nb = pytest.importorskip("myst_nb")
    stored = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: stored.update({name: (value, display)}))
    assert notebook.glue("auroc", np.float64(0.25)) == 0.25
    assert notebook.glue("n", np.int64(3)) == 3
    assert notebook.glue("label", "digit 8") == "digit 8"
    # myst-nb formats {glue:text}`auroc:.3f` from the stored repr, so it must read as a number
    assert repr(stored["auroc"][0]) == "0.25" and repr(stored["n"][0]) == "3"
    assert stored["label"] == ("digit 8", False)
