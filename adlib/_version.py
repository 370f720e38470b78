"""The book's version and its repository: the one place both are written. ``make links``
(``python -m adlib.links``) copies them into the notebooks' Colab badges and install cells,
``_config.yml`` and the README; a unit test fails when a copy is out of date."""

__version__ = "0.1.0"
REPOSITORY = "adlib-book/adlib"  # GitHub owner/name
