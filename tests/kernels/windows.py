"""Random test windows shared by the area-kernel tests and the GPU comparison script.

Numpy only: tests/kernels/cuda_compare.py imports it before numba is configured.
"""

from __future__ import annotations

import numpy as np


def random_window(n, seed, nan_frac=0.0):
    """Hilly ground with random building blocks; float32 rasters (surface, ground)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n]
    ground = np.full((n, n), 5.0)
    for _ in range(8):
        cy, cx = rng.uniform(0, n, 2)
        w = rng.uniform(4, n / 2)
        ground += rng.uniform(-15, 35) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * w * w))
    ground = ground.astype(np.float32)
    surface = ground.copy()
    for _ in range(n * n // 30):
        r, c = rng.integers(0, n, 2)
        h, w = rng.integers(1, 5, 2)
        surface[r : r + h, c : c + w] = ground[r : r + h, c : c + w] + rng.uniform(3, 40)
    if nan_frac:
        surface[rng.random((n, n)) < nan_frac] = np.nan
        ground[rng.random((n, n)) < nan_frac] = np.nan
    return surface, ground
