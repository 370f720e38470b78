"""Helpers for the book's notebooks: numbers quoted in prose come from the run, never typed by hand."""
from __future__ import annotations

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
