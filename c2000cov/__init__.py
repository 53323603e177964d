"""c2000cov: coverage, interference and dead-zone analysis for the C2000 TETRA network."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

__version__ = "0.1.0"


def _numba_cache_dir() -> str:
    """A Numba cache folder keyed by the content of every kernel source file.

    Numba invalidates a cached function when its own file changes, not when a
    function it inlines from another file does (area.py inlines diffraction.py):
    such a stale entry can crash. Keying the folder by all kernel sources makes
    every kernel change start from a clean cache.
    """
    kernels = Path(__file__).resolve().parent / "kernels"
    if not kernels.is_dir():  # editable install: the kernels live in the top-level folder
        kernels = Path(__file__).resolve().parents[1] / "kernels"
    digest = hashlib.sha256()
    for path in sorted(kernels.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return str(base / "c2000cov" / "numba" / digest.hexdigest()[:16])


def _use_numba_cache_dir() -> None:
    """Point Numba at :func:`_numba_cache_dir` unless the user chose a folder."""
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    folder = _numba_cache_dir()
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:  # read-only home: keep Numba's default (next to the sources)
        return
    os.environ["NUMBA_CACHE_DIR"] = folder
    numba = sys.modules.get("numba")  # already imported by the caller: set its config too
    if numba is not None and hasattr(numba, "config"):
        numba.config.CACHE_DIR = folder


_use_numba_cache_dir()
