"""Run profiles: one notebook, three sizes (smoke for CI, book for the published run, full for papers)."""
from __future__ import annotations

import copy
import os
from typing import Any

PROFILES = ("smoke", "book", "full")
DEFAULT_PROFILE = "book"
ENV_VAR = "ADLIB_PROFILE"


def current() -> str:
    """Return the active profile name, read from ``$ADLIB_PROFILE`` (default ``book``).

    Returns
    -------
    str
        ``"smoke"``, ``"book"`` or ``"full"`` (case and surrounding spaces ignored; empty means ``book``). An
        unknown name raises ``ValueError``.
    """
    name = os.environ.get(ENV_VAR, DEFAULT_PROFILE).strip().lower() or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(
            f"{ENV_VAR}={name!r} is not a known profile; expected one of {', '.join(PROFILES)}. "
            f"Unset it to use the default ({DEFAULT_PROFILE!r})."
        )
    return name


def choose(*, smoke: dict[str, Any], book: dict[str, Any], full: dict[str, Any],
           profile: str | None = None) -> dict[str, Any]:
    """Pick the settings of the active profile; the result also carries its name under ``"profile"``.

    All three dictionaries must have the same keys, so that a notebook cannot silently
    depend on a setting that only one profile defines.

    Parameters
    ----------
    smoke : dict
        Settings of the smoke profile (for CI).
    book : dict
        Settings of the book profile (the published run).
    full : dict
        Settings of the full profile (for the papers' comparisons).
    profile : str or None, default None
        Use this profile instead of the active one (:func:`current`).

    Returns
    -------
    dict
        A deep copy of the chosen settings, plus ``"profile"``: the profile's name.
    """
    options = {"smoke": smoke, "book": book, "full": full}
    keys = {name: set(cfg) for name, cfg in options.items()}
    if len({frozenset(k) for k in keys.values()}) != 1:
        union = set().union(*keys.values())
        missing = {name: sorted(union - k) for name, k in keys.items() if union - k}
        raise ValueError(f"every profile must define the same settings; missing: {missing}")
    name = profile if profile is not None else current()
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    cfg = copy.deepcopy(options[name])
    cfg["profile"] = name
    return cfg
