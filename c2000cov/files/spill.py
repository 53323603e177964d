"""Grid-sized arrays held in files on disk, their pages dropped from memory on demand.

A tiled run's finished coverage bands (25 bytes per pixel per profile and
noise state) are filled tile by tile and then read window by window (dead
zones, N-1, the stored reduction, the COG writes); held in memory they were
the largest part of a national run at 10 m. A :class:`Spill` puts each such
array in a file of its own, mapped into the process (``mmap``, ``MAP_SHARED``):
numpy sees an ordinary array and every caller works unchanged, the operating
system writes the pages back to the file, and :func:`release_pages` drops
the pages the process has touched from its resident set
(``madvise(MADV_DONTNEED)``; the data stays in the file and in the page
cache, a later read faults it back in). The files are unlinked as soon as they
are made (:func:`tempfile.TemporaryFile`): a killed run leaves nothing behind,
and the disk space goes back when the last array mapping the file is freed.

A :class:`Spill` without a folder gives ordinary in-memory arrays, and
:func:`release_pages` does nothing to arrays that are not mapped files.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path

import numpy as np

from c2000cov.errors import C2000CovError


def _mapping(arr: np.ndarray) -> mmap.mmap | None:
    """The file mapping an array's memory belongs to, or None."""
    base = arr
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer's base
        base = base.obj
    return base if isinstance(base, mmap.mmap) else None


def is_spilled(arr) -> bool:
    """True when ``arr`` is (a view of) an array in a spill file."""
    return isinstance(arr, np.ndarray) and _mapping(arr) is not None


def release_pages(*arrays) -> None:
    """Drop the resident pages of arrays that map a spill file (others are left alone).

    The contents are kept: ``MADV_DONTNEED`` on a shared file mapping only unmaps
    the pages, whose data (written or not yet written back) stays in the file.
    """
    for arr in arrays:
        mm = _mapping(arr) if isinstance(arr, np.ndarray) else None
        if mm is not None:
            mm.madvise(mmap.MADV_DONTNEED)


class SpillError(C2000CovError, OSError):
    """A spill file could not be made (full disk, folder not writable)."""


class Spill:
    """Makes grid-sized arrays, in files under ``folder`` (or in memory when it is None)."""

    def __init__(self, folder: Path | None):
        self.folder = None if folder is None else Path(folder)
        self.arrays: list[np.ndarray] = []

    def empty(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An array of ``shape`` and ``dtype``; in a spill file its values start at zero
        bytes (blocks reserved, nothing written before the caller writes).

        Raises
        ------
        SpillError
            The folder has no room for the file (or cannot hold files).
        """
        dtype = np.dtype(dtype)
        if self.folder is None:
            return np.empty(shape, dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.folder, prefix=".c2000cov-spill-") as fh:
            try:  # the blocks are reserved now: a full disk is this error, not a SIGBUS later
                os.posix_fallocate(fh.fileno(), 0, max(nbytes, 1))
            except OSError as exc:
                raise SpillError(
                    f"{self.folder}: no room for a {nbytes / 1e9:.2f} GB spill file of the "
                    f"run's coverage bands ({exc.strerror or exc}); free disk space there "
                    "(a tiled run needs 25 bytes per pixel per profile and noise state) or "
                    "write the output folder to another disk") from exc
            mm = mmap.mmap(fh.fileno(), max(nbytes, 1))  # the mapping outlives the file object
        arr = np.frombuffer(mm, dtype, count=int(np.prod(shape, dtype=np.int64))).reshape(shape)
        self.arrays.append(arr)
        return arr

    def release(self) -> None:
        """Drop the resident pages of every array this spill made (their data is kept)."""
        release_pages(*self.arrays)
