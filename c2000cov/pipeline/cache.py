"""On-disk cache of per-mast path-loss windows.

The key is a SHA-256 over everything a loss window depends on: the surface
and ground heights of the window (their bytes), the window's transform, the
mast's pixel and antenna height, the model parameters, the frequency, the
receiver height and :data:`c2000cov.radio.models.KERNEL_VERSION` (the SHA-256 of
every kernel source file, :func:`c2000cov.resources.kernel_source_digest`). Editing one
mast therefore recomputes that mast only; a changed building recomputes the
masts whose window holds it. Entries are written under a temporary name and
renamed, so a run killed at any moment leaves only whole entries, and a
restarted run reuses every finished mast.

Each entry carries the SHA-256 of its bytes (:data:`ENTRY_MAGIC`, digest,
then the ``.npy`` bytes). An entry that is truncated, overwritten, of the
wrong shape or dtype, or a folder in its place, is reported once (a
:class:`DamagedCacheWarning`), removed and recomputed, never used. A write
that fails (full disk, read-only folder) leaves no partial entry and is
reported once; the run goes on without caching.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

from c2000cov.scenario.schema import ModelConfig


def loss_key(surface_win: np.ndarray, ground_win: np.ndarray, window_transform, mast_row: int,
             mast_col: int, h_agl_m: float, model: ModelConfig, freq_mhz: float,
             h_rx_m: float, kernel_version: str) -> str:
    """Hex SHA-256 key of one loss window."""
    h = hashlib.sha256()
    meta = {"transform": list(window_transform)[:6], "mast_rc": [int(mast_row), int(mast_col)],
            "h_agl_m": float(h_agl_m), "model": asdict(model), "freq_mhz": float(freq_mhz),
            "h_rx_m": float(h_rx_m), "kernel": kernel_version,
            "shape": list(surface_win.shape)}
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(np.ascontiguousarray(surface_win, dtype="float32").tobytes())
    h.update(np.ascontiguousarray(ground_win, dtype="float32").tobytes())
    return h.hexdigest()


def array_key(*parts) -> str:
    """Hex SHA-256 over arrays (their dtype, shape and bytes) and JSON-able values."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


#: First bytes of a cache entry (format version 1), then the SHA-256 of the rest.
ENTRY_MAGIC = b"c2000cov-cache/1\n"
_DIGEST_BYTES = 32


class DamagedCacheWarning(UserWarning):
    """A cache entry was damaged (and recomputed) or could not be written."""


class LossCache:
    """A folder of ``<key>.npy`` loss windows (float32), each with its checksum."""

    def __init__(self, folder: Path | str | None):
        self.folder = Path(folder) if folder else None
        self.hits = 0
        self.misses = 0
        self.damaged = 0
        self.failed_writes = 0
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def has(self, key: str) -> bool:
        """True when the key is cached; an absent key counts as a miss."""
        found = bool(self.folder) and self._path(key).is_file()
        if self.folder and not found:
            self.misses += 1
        return found

    def _damaged(self, path: Path, why: str) -> None:
        if self.damaged == 0:
            warnings.warn(f"cache entry {path} is damaged ({why}); it is removed and "
                          "recomputed (further damaged entries are counted, not reported)",
                          DamagedCacheWarning, stacklevel=3)
        self.damaged += 1
        self.misses += 1
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only cache: the entry stays unused

    def get(self, key: str, shape: tuple[int, ...] | None = None,
            dtype: str | np.dtype | None = None) -> np.ndarray | None:
        """The cached array, or None (absent or damaged; a damaged entry is removed).

        ``shape`` and ``dtype``, when given, are what the entry must hold.
        """
        if not self.folder:
            return None
        path = self._path(key)
        if not path.exists():
            self.misses += 1
            return None
        try:
            raw = path.read_bytes()
        except OSError as exc:  # a folder in its place, unreadable
            self._damaged(path, exc.strerror or type(exc).__name__)
            return None
        head = len(ENTRY_MAGIC) + _DIGEST_BYTES
        if len(raw) < head or not raw.startswith(ENTRY_MAGIC):
            self._damaged(path, "not a c2000cov cache entry")
            return None
        payload = raw[head:]
        if hashlib.sha256(payload).digest() != raw[len(ENTRY_MAGIC):head]:
            self._damaged(path, "checksum differs: truncated or overwritten")
            return None
        try:
            arr = np.load(io.BytesIO(payload), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            self._damaged(path, f"unreadable array: {exc}")
            return None
        if shape is not None and arr.shape != tuple(shape):
            self._damaged(path, f"shape {arr.shape}, expected {tuple(shape)}")
            return None
        if dtype is not None and arr.dtype != np.dtype(dtype):
            self._damaged(path, f"dtype {arr.dtype}, expected {np.dtype(dtype)}")
            return None
        self.hits += 1
        return arr

    def put(self, key: str, arr: np.ndarray) -> None:
        """Store an array atomically with its checksum; a failed write leaves nothing."""
        if not self.folder:
            return
        path = self._path(key)
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
        payload = buf.getvalue()
        tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}")  # not *.npy: never an entry
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            with tmp.open("wb") as fh:
                fh.write(ENTRY_MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, path)
        except OSError as exc:
            if self.failed_writes == 0:
                warnings.warn(f"cache entry {path} could not be written ({exc.strerror or exc}); "
                              "the run goes on without caching it", DamagedCacheWarning,
                              stacklevel=2)
            self.failed_writes += 1
        finally:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass

    def size_mb(self) -> float:
        """Total size of the cache folder in MB."""
        if not self.folder:
            return 0.0
        return sum(p.stat().st_size for p in self.folder.rglob("*.npy") if p.is_file()) / 1e6
