"""Every public class and function documents its parameters (numpydoc), so that the API guide,
``help()`` and IDEs show what each setting does."""
from __future__ import annotations

import inspect

import pytest

import adlib
from adlib import base, datasets, links, metrics, plot, profiles, results, timing

DETECTORS = [obj for name in adlib.__all__ if isinstance(obj := getattr(adlib, name), type)
             and issubclass(obj, adlib.Detector) and obj is not adlib.Detector]
MODULES = [datasets, metrics, plot, profiles, results, timing, links]
FUNCTIONS = [obj for module in MODULES for name, obj in vars(module).items()
             if inspect.isfunction(obj) and not name.startswith("_") and obj.__module__ == module.__name__
             and name != "main"]


def documented_parameters(doc: str) -> set[str]:
    """Names listed in a numpydoc Parameters section (``name : type``)."""
    if "Parameters\n" not in doc:
        return set()
    section = doc.split("Parameters\n", 1)[1]
    names = set()
    for line in section.splitlines()[1:]:
        if line.strip() in {"Returns", "Raises", "Notes", "Examples", "Attributes", "Yields", "See Also"}:
            break
        stripped = line.strip()
        if " : " in stripped and not line.startswith(" " * 8):
            for name in stripped.split(" : ")[0].split(","):
                names.add(name.strip().lstrip("*"))
    return names


def parameters_of(obj) -> set[str]:
    function = obj.__init__ if inspect.isclass(obj) else obj
    return {name for name, p in inspect.signature(function).parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_every_detector_documents_its_constructor(cls):
    missing = parameters_of(cls) - documented_parameters(inspect.getdoc(cls) or "")
    assert not missing, f"{cls.__name__}: Parameters section lacks {sorted(missing)}"


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_every_public_function_documents_its_parameters(function):
    params = parameters_of(function)
    if not params:
        return
    missing = params - documented_parameters(inspect.getdoc(function) or "")
    assert not missing, f"{function.__module__}.{function.__name__}: Parameters section lacks {sorted(missing)}"


@pytest.mark.parametrize("method", ["fit", "score", "infer_threshold", "predict"])
def test_the_detector_verbs_document_their_parameters(method):
    function = getattr(base.Detector, method)
    missing = parameters_of(function) - documented_parameters(inspect.getdoc(function) or "")
    assert not missing, f"Detector.{method}: Parameters section lacks {sorted(missing)}"
