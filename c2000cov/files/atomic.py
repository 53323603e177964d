"""Atomic writes and file checks: a failed or killed run never leaves a half-written file.

Writers go through :func:`atomic_path`: data is written under a temporary name in
the target folder and renamed when complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from c2000cov.errors import InputNotFoundError

#: Bytes read at a time when hashing or comparing files.
CHUNK_BYTES = 1 << 20


def require_file(path: Path, what: str) -> Path:
    """Raise InputNotFoundError naming ``what`` when ``path`` is not a file."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{what} file {path} does not exist; check the path in the "
                                 "scenario (relative paths are relative to the scenario file)")
    return path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    if tmp.exists():
        tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size
