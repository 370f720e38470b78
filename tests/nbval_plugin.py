"""nbval settings for the notebook regression run (loaded with ``-p tests.nbval_plugin``).

Notebooks are checked with ``--nbval-lax``: every cell must run without error, and only cells
marked ``# NBVAL_CHECK_OUTPUT`` (data shapes, settings, parameter counts) are compared with the
committed outputs. Figures, HTML tables and stderr (progress bars, warnings) are never compared.
"""


def pytest_collectstart(collector):
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("text/html", "image/png", "image/svg+xml",
                                   "application/javascript", "stderr")
