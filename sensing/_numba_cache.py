"""Where numba writes this package's compiled-kernel cache: a per-user cache folder.

The kernels of ``channels`` and ``estimators`` are ``@numba.njit(cache=True)``. Left to itself,
numba writes their index and object files (``*.nbi``, ``*.nbc``) into a ``__pycache__`` folder
beside each source file, that is into ``site-packages/channels/`` and so on after a regular
install. pip does not know these files: uninstalling (e.g. ``pip install -e .`` over a regular
install) leaves ``site-packages/channels/__pycache__/`` behind, and that empty-looking folder is
then imported as a namespace package ``channels`` that shadows the editable install
(``ImportError: cannot import name 'Paths' from 'channels' (unknown location)``).

This module, imported first by :mod:`sensing` (which every other package imports before it
defines a jitted function) and at the top of every kernel module, points numba at

1. ``$NUMBA_CACHE_DIR`` if it is set and non-empty (left unchanged), else
2. ``$XDG_CACHE_HOME/subspace-sensing/numba``, else
3. ``~/.cache/subspace-sensing/numba`` (``%LOCALAPPDATA%\\subspace-sensing\\numba`` on
   Windows, ``~/Library/Caches/subspace-sensing/numba`` on macOS).

numba reads ``NUMBA_CACHE_DIR`` when it is first imported, so the variable is set in
``os.environ`` (which spawned worker processes inherit as well); if numba is already imported,
``numba.config.CACHE_DIR`` is set too. numba decides a function's cache folder when the function
is decorated, so this must run before any kernel module is imported. Within the folder numba
keeps one sub-folder per source folder (named after it plus a hash of its full path), so an
installed and an editable copy never share entries; its index files also record the source's
timestamp and the numba version, so a stale entry is recompiled, never reused.

Delete the folder (:func:`numba_cache_dir` names it) to force a recompilation.
"""

from __future__ import annotations

import os
import sys

__all__ = ["numba_cache_dir"]

_APP = "subspace-sensing"


def _default_cache_dir() -> str:
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        base = xdg
    elif sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA", "").strip() or os.path.join(os.path.expanduser("~"), "AppData", "Local")
    elif sys.platform == "darwin":
        base = os.path.join(os.path.expanduser("~"), "Library", "Caches")
    else:
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, _APP, "numba")


def numba_cache_dir() -> str:
    """The folder numba caches this package's compiled kernels in (see the module docstring)."""
    return os.environ.get("NUMBA_CACHE_DIR", "").strip() or _default_cache_dir()


def _configure() -> None:
    if not os.environ.get("NUMBA_CACHE_DIR", "").strip():
        os.environ["NUMBA_CACHE_DIR"] = _default_cache_dir()
    numba = sys.modules.get("numba")
    config = getattr(getattr(numba, "core", None), "config", None) if numba is not None else None
    if config is not None and not getattr(config, "CACHE_DIR", ""):
        config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


_configure()
