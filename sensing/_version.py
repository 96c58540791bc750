"""The package version: the one place it is written.

``pyproject.toml`` reads it at build time (``[tool.setuptools.dynamic] version``) and
:mod:`sensing` re-exports it as ``sensing.__version__``.
"""

__version__ = "0.1.0"
