"""Sphinx extension: number each chapter's exercises within the chapter (8.1, 8.2, ...).

Sphinx numbers exercises (sphinx-exercise's ``numfig`` type ``exercise``) across the whole book when
the table of contents is not numbered, so chapter 8 would hold "Exercise 23". The chapter's number is
the two-digit prefix of its file name (``notebooks/08_ocgan_mnist``), which follows the reading order
of ``_toc.yml`` (tested). This handler runs after Sphinx has assigned its numbers and replaces each
chapter's exercise numbers by (chapter, position in the chapter)."""
from __future__ import annotations

import re

CHAPTER = re.compile(r"(?:^|/)(\d{2})_[^/]+$")


def chapter_numbers(app, env):
    for docname, numbers in env.toc_fignumbers.items():
        match = CHAPTER.search(docname)
        exercises = numbers.get("exercise")
        if not match or not exercises:
            continue
        chapter = int(match.group(1))
        in_order = sorted(exercises, key=lambda label: exercises[label])
        numbers["exercise"] = {label: (chapter, i) for i, label in enumerate(in_order, start=1)}
    return []


def setup(app):
    # after sphinx.environment.collectors.toctree, which assigns the book-wide numbers (priority 500)
    app.connect("env-get-updated", chapter_numbers, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
