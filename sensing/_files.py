"""Atomic file writes shared by datasets, sweep headers, figures and CSV.

A file is written to a temporary name in the destination folder (same file system), flushed to
disk and moved into place with :func:`os.replace`, so a reader never sees a half-written file
and an interruption leaves the previous version intact.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["temp_path_beside", "atomic_write"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_path_beside(path: Path) -> str:
    """A fresh temporary file next to ``path`` with the permissions ``open()`` would give.

    :func:`tempfile.mkstemp` creates files readable by the owner only (0600), which would make
    results unreadable for the rest of a group on a shared cluster; the mode is reset to
    ``0666 & ~umask``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    return tmp


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)``, fsync the file and move it to ``path``; clean up on failure.

    The one atomic-write mechanism of the package (datasets, sweep headers, figures, CSV,
    configs): a reader never sees a half-written file, an interruption leaves the previous
    version in place, and the rename is made durable by an fsync of the folder.

    Parameters
    ----------
    path : path-like
        Destination file; its folder must exist.
    write : callable
        ``write(tmp_path)`` writes the whole content to the temporary path it is given.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sensing import atomic_write
    >>> with tempfile.TemporaryDirectory() as d:
    ...     target = Path(d) / "notes.txt"
    ...     atomic_write(target, lambda tmp: Path(tmp).write_text("hello"))
    ...     print(target.read_text(), sorted(p.name for p in Path(d).iterdir()))
    hello ['notes.txt']
    """
    path = Path(path)
    tmp = temp_path_beside(path)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename durable (best effort: not every platform can open a folder)
        dir_fd = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
