"""The Numba options every kernel is compiled with, in one place.

- ``kernel``: ``@njit(cache=True, error_model="numpy")``. The numpy error model
  makes a division by zero give inf/NaN instead of raising, so kernels never
  raise (house style: NaN for no data);
- ``inline_kernel``: the same, inlined into its callers at the Numba IR level
  (small scalar helpers called per sample in the ray loop);
- ``parallel_kernel``: the same with ``parallel=True`` (``prange`` loops);
- ``nogil_kernel``: the same on one thread, releasing the GIL for the whole call (the
  loss cache's codec and the best-server fold, which run beside the area kernel in the
  local executor's two threads);
- ``noref_kernel``: the same without Numba's runtime (``_nrt=False``), for per-ray kernels
  that allocate nothing: no atomic reference counting of the arrays passed to them
  (12-15 % of the area kernel's time on workload a). Numba refuses to compile an
  allocation in such a kernel; the arrays it is given are its caller's.

Compiled functions are cached on disk (``cache=True``); c2000cov keys the cache
folder by the content of every kernel source file (see ``c2000cov.__init__``), so
an edit here recompiles every kernel.
"""

from __future__ import annotations

from numba import njit

KERNEL_OPTIONS = {"cache": True, "error_model": "numpy"}

kernel = njit(**KERNEL_OPTIONS)
inline_kernel = njit(inline="always", **KERNEL_OPTIONS)
parallel_kernel = njit(parallel=True, nogil=True, **KERNEL_OPTIONS)
nogil_kernel = njit(nogil=True, **KERNEL_OPTIONS)
noref_kernel = njit(_nrt=False, **KERNEL_OPTIONS)  # no reference counting: see above


# ---------------------------------------------------------------- CUDA twins
#
# The scalar and per-ray kernels are plain Python under their decorator, using only
# what numba.cuda also compiles (math, tuples, namedtuples, array indexing, no
# allocation). ``cuda_twin`` compiles that same Python source as a CUDA device
# function, so the GPU kernel (kernels/area_cuda.py) runs the CPU kernel's code, not a
# copy of it.

_CUDA_TWINS = {}


def cuda_module():
    """``numba.cuda``, imported on first use (the CPU path never imports it).

    numba-cuda still names ``np.row_stack``, which NumPy 2.5 removed: alias it to
    ``np.vstack`` (what it was) before the import. Set ``NUMBA_ENABLE_CUDASIM=1`` before
    importing numba to run on Numba's CUDA simulator instead of a GPU.
    """
    import numpy as np

    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack
    from numba import cuda

    return cuda


def cuda_compile(fn, device=True, extra=None):
    """Compile the Python function ``fn`` with numba.cuda, calling GPU code only.

    ``fn`` is rebuilt with the same code and a copy of its module's globals in which
    every CPU kernel it calls is replaced by that kernel's CUDA twin (:func:`cuda_twin`)
    and the names in ``extra`` by their values (other device functions, the ``cuda``
    module); then compiled with ``numba.cuda.jit(device=device)``.
    """
    import types

    from numba.core.registry import CPUDispatcher

    cuda = cuda_module()
    glb = dict(fn.__globals__)
    for name in fn.__code__.co_names:
        obj = glb.get(name)
        if isinstance(obj, CPUDispatcher):
            glb[name] = cuda_twin(obj)
    glb.update(extra or {})
    py = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    py.__qualname__ = fn.__qualname__
    py.__module__ = fn.__module__
    py.__doc__ = fn.__doc__
    return cuda.jit(device=device)(py)


def cuda_twin(dispatcher):
    """The CUDA device-function twin of a CPU kernel (a Numba dispatcher): its Python
    function compiled by :func:`cuda_compile`, so the CPU kernels it calls become their
    twins too (recursively). Made once per kernel."""
    twin = _CUDA_TWINS.get(dispatcher)
    if twin is None:
        twin = cuda_compile(dispatcher.py_func)
        _CUDA_TWINS[dispatcher] = twin
    return twin
