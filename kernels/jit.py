"""The Numba options every kernel is compiled with, in one place.

- ``kernel``: ``@njit(cache=True, error_model="numpy")``. The numpy error model
  makes a division by zero give inf/NaN instead of raising, so kernels never
  raise (house style: NaN for no data);
- ``inline_kernel``: the same, inlined into its callers at the Numba IR level
  (small scalar helpers called per sample in the ray loop);
- ``parallel_kernel``: the same with ``parallel=True`` (``prange`` loops).

Compiled functions are cached on disk (``cache=True``); c2000cov keys the cache
folder by the content of every kernel source file (see ``c2000cov.__init__``), so
an edit here recompiles every kernel.
"""

from __future__ import annotations

from numba import njit

KERNEL_OPTIONS = {"cache": True, "error_model": "numpy"}

kernel = njit(**KERNEL_OPTIONS)
inline_kernel = njit(inline="always", **KERNEL_OPTIONS)
parallel_kernel = njit(parallel=True, **KERNEL_OPTIONS)

