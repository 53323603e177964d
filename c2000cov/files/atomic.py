"""Atomic writes and file checks: a failed or killed run never leaves a half-written file.

Writers go through :func:`atomic_path`: data is written under a temporary name in
the target folder and renamed when complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from c2000cov.errors import InputNotFoundError, InvalidInputError

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


# --------------------------------------------------------------------------- names and places
#: Characters kept in a file name made from a label (scenario or area name).
_UNSAFE_CHARS_RE = re.compile(r"[^A-Za-z0-9_-]+")
#: Longest file-name stem made from a label.
MAX_STEM_CHARS = 64


def safe_file_stem(label: str, fallback: str = "scenario") -> str:
    """A file-name stem for a free-text label: letters, digits, ``_`` and ``-`` only.

    ``"../x"`` becomes ``"x"``, ``"Demo Utrecht"`` becomes ``"Demo_Utrecht"``; the
    label itself is kept wherever a person reads it.
    """
    stem = _UNSAFE_CHARS_RE.sub("_", str(label)).strip("_-")[:MAX_STEM_CHARS]
    return stem or fallback


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (resolved, links followed) lies inside ``folder``."""
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def require_inside(path: Path, folder: Path, what: str) -> Path:
    """Raise InvalidInputError unless ``path`` lies inside ``folder``; the resolved path."""
    if not is_inside(path, folder):
        raise InvalidInputError(f"{what} {path} lies outside {folder}; only paths inside it "
                                "are accepted")
    return Path(path).resolve()


def refuse_overwriting(target: Path, protected: list[Path], what: str) -> Path:
    """Raise InvalidInputError when ``target`` is one of the ``protected`` files (inputs)."""
    resolved = Path(target).resolve()
    for path in protected:
        if path is not None and Path(path).resolve() == resolved:
            raise InvalidInputError(f"{what} {target} is an input of this run; an output never "
                                    "overwrites an input, choose another path")
    return Path(target)


# --------------------------------------------------------------------------- whole folders
@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (``.<name>.lock`` next to it) or refuse at once."""
    folder = Path(folder).resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock_path = folder.parent / f".{folder.name}.lock"
    with lock_path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidInputError(f"{folder}: another run is writing into this folder (lock "
                                    f"{lock_path.name}); wait for it to finish or choose "
                                    "another output folder") from None
        try:
            yield lock_path
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_replaceable(folder: Path, marker: str) -> None:
    """Refuse a folder that a whole-folder replace would destroy: it exists, holds visible
    entries and no ``marker`` file (it is not an earlier output of this kind)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"output folder {folder} is a file; choose a folder")
    if not folder.is_dir() or (folder / marker).is_file():
        return
    visible = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    if visible:
        raise InvalidInputError(
            f"output folder {folder} holds {visible[0]!r} and is not a run folder (no "
            f"{marker}); a run replaces its whole folder, so choose a new or empty folder")


@contextlib.contextmanager
def replaced_folder(folder: Path, marker: str) -> Iterator[Path]:
    """Yield a fresh staging folder; on success it replaces ``folder`` as a whole.

    The staging folder has the same name as ``folder`` (inside a hidden
    ``.<name>.staging-<pid>`` folder next to it), so outputs that mention their
    folder's name read the same. On success hidden entries of the old folder
    (``.cache``) move into the new one, the old folder is renamed away and
    the new one renamed into place; an exception or interruption (SIGINT,
    SIGTERM raised as an exception) removes the staging folder and leaves
    the previous complete folder untouched. Between the two renames a kill
    leaves no folder, never a mixed one.
    """
    folder = Path(folder).resolve()
    check_replaceable(folder, marker)
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    wrapper = parent / f".{folder.name}.staging-{os.getpid()}"
    old = parent / f".{folder.name}.old-{os.getpid()}"
    for stale in (wrapper, old):
        if stale.exists():
            shutil.rmtree(stale)
    wrapper.mkdir()
    staging = wrapper / folder.name
    staging.mkdir()
    try:
        yield staging
        if folder.is_dir():
            check_replaceable(folder, marker)
            for entry in folder.iterdir():
                if entry.name.startswith(".") and not (staging / entry.name).exists():
                    os.rename(entry, staging / entry.name)
            os.rename(folder, old)
        try:
            os.rename(staging, folder)
        except BaseException:
            if old.is_dir() and not folder.exists():
                os.rename(old, folder)  # the previous complete run comes back
            raise
    finally:
        shutil.rmtree(wrapper, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
