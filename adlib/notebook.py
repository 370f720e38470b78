"""Helpers for the book's notebooks: numbers quoted in prose come from the run, never typed by hand."""
from __future__ import annotations

import os
from typing import Any

import numpy as np


def glue(name: str, value: Any) -> Any:
    """Store ``value`` under ``name`` for the chapter's prose (myst-nb ``{glue:text}`name```), without
    displaying it. Where myst-nb is not installed (e.g. on Colab) nothing is stored; the value is returned.

    Parameters
    ----------
    name : str
        The key the prose refers to.
    value : Any
        The value to store; NumPy scalars are stored as plain Python numbers.

    Returns
    -------
    Any
        ``value`` itself, unchanged, so that the call can wrap an expression.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    # NumPy scalars print as ``np.float64(0.5)``, which myst-nb cannot format as a number
    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=False)
    return value


def fit_verbosity() -> int | str:
    """The ``verbose`` a chapter passes to ``fit``: Keras' progress bar (``"auto"``) when a reader runs
    the chapter, and 0 when ``make notebooks`` or nbval executes it (``ADLIB_BATCH_RUN=1``), so the
    published page shows the one summary line per model that the chapter prints instead of a log line
    per epoch.

    Returns
    -------
    int or str
        ``0`` in a batch run, ``"auto"`` otherwise.
    """
    return 0 if os.environ.get("ADLIB_BATCH_RUN") == "1" else "auto"


def use_book_style() -> None:
    """Set the chapters' Matplotlib style: fonts that stay readable at the book's column width.

    The book shows a figure scaled to its text column (about 6.5 inches at 100 dpi), so a 10-inch
    figure is drawn at two thirds of its size: labels start at 14 pt to be read at about 9 pt. Chapters
    call it once, after their imports; it changes only Matplotlib's rc settings, never the data.
    """
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "font.size": 14, "axes.titlesize": 14, "axes.labelsize": 14,
                         "xtick.labelsize": 13, "ytick.labelsize": 13, "legend.fontsize": 13,
                         "figure.titlesize": 15})
