"""nbval settings for the notebook regression run (loaded with ``-p tests.nbval_plugin``).

Notebooks are checked with ``--nbval-lax``: every cell must run without error, and only cells
marked ``# NBVAL_CHECK_OUTPUT`` (data shapes, settings, parameter counts) are compared with the
committed outputs. Figures, HTML tables and stderr (progress bars, warnings) are never compared.

``make nbval`` runs two notebooks at a time (pytest-xdist, one worker per core, each notebook's
cells on one worker in order); every kernel then uses one thread, so that the two do not fight
over the cores.
"""
from tests._workers import one_thread_per_worker

one_thread_per_worker()  # inherited by the kernel each worker starts


def pytest_collectstart(collector):
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("text/html", "image/png", "image/svg+xml",
                                   "application/javascript", "stderr")
