"""Where the package's own data lives: assets, templates and reference data.

One owner for these folders so that moving a module never breaks a path.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
DATA_DIR = PACKAGE_DIR / "data"
P1812_DATA_DIR = DATA_DIR / "itu" / "p1812"


def kernels_dir() -> Path:
    """Folder of the Numba kernels: installed as ``c2000cov/kernels``, or the top-level
    ``kernels/`` of a source checkout (editable install)."""
    installed = PACKAGE_DIR / "kernels"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "kernels"


@functools.cache
def kernel_source_digest(folder: Path | None = None) -> str:
    """SHA-256 (hex) over the name and bytes of every kernel source file.

    One digest keys both the Numba cache folder (:func:`numba_cache_dir`) and
    every per-mast loss-cache entry, so any edit of any kernel file, including
    one that another kernel inlines, invalidates both: nothing has to be
    bumped by hand.
    """
    digest = hashlib.sha256()
    for path in sorted(Path(folder or kernels_dir()).rglob("*.py")):
        digest.update(path.relative_to(folder or kernels_dir()).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def numba_cache_dir() -> Path:
    """Numba cache folder keyed by :func:`kernel_source_digest`.

    Numba invalidates a cached function when its own file changes, not when a
    function it inlines from another file does: such a stale entry can crash.
    A folder per digest makes every kernel change start from a clean cache.
    """
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "c2000cov" / "numba" / kernel_source_digest()[:16]


def use_numba_cache_dir() -> None:
    """Point Numba (and child processes) at :func:`numba_cache_dir`, unless the user chose one.

    Called by the entry points (the CLI and the public API) before any kernel
    is imported; importing ``c2000cov`` itself changes nothing.
    """
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    folder = numba_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home: keep Numba's default (next to the sources)
        return
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
