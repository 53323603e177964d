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
"""

from __future__ import annotations

import hashlib
import json
import os
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


class LossCache:
    """A folder of ``<key>.npy`` loss windows (float32)."""

    def __init__(self, folder: Path | str | None):
        self.folder = Path(folder) if folder else None
        self.hits = 0
        self.misses = 0
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

    def get(self, key: str) -> np.ndarray | None:
        """The cached array, or None."""
        if not self.folder:
            return None
        path = self._path(key)
        if not path.is_file():
            self.misses += 1
            return None
        self.hits += 1
        return np.load(path, allow_pickle=False)

    def put(self, key: str, arr: np.ndarray) -> None:
        """Store an array atomically."""
        if not self.folder:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}.npy")
        np.save(tmp, np.ascontiguousarray(arr), allow_pickle=False)
        os.replace(tmp, path)

    def size_mb(self) -> float:
        """Total size of the cache folder in MB."""
        if not self.folder:
            return 0.0
        return sum(p.stat().st_size for p in self.folder.rglob("*.npy")) / 1e6
