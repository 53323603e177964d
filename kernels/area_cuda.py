"""The area kernel on a GPU: :func:`c2000cov.kernels.area.area_loss_multi_db` with numba.cuda.

Same physics and outputs as the CPU kernel: the same per-call setup
(:func:`c2000cov.kernels.area.area_setup`, run on the host, so the Lbull and Ldsph
tables are the CPU's, bit for bit), the same rays and pixel ownership
(:func:`~c2000cov.kernels.area.ray_direction`, :func:`~c2000cov.kernels.area.trace_ray`)
and the same per-ray work
(:func:`c2000cov.kernels.ray.ray_core`), all frequencies in one sweep. Those functions
are compiled for the GPU from their Python source (:func:`c2000cov.kernels.jit.cuda_twin`):
one implementation, two targets. Threads of a warp walk neighbouring rays, so row-major
rays read neighbouring columns of one row (coalesced).

One GPU thread per ray; ``slots`` threads run at once, each ray ``slot + j * slots``,
with its scratch in global memory laid out ``[field, sample, slot]`` so that the
threads of a warp, at the same sample, touch neighbouring addresses. The results differ
from the CPU's only by the GPU's math library (last bits of log10, sqrt, pow...),
within the tolerances of tests/kernels/test_area_cuda.py.

``numba.cuda`` is imported when a function here is first called, never at import, so
that the CPU path does not need it. On a machine without a GPU,
``NUMBA_ENABLE_CUDASIM=1`` (set before numba is imported) runs this code on Numba's
CUDA simulator.
"""

from __future__ import annotations

import math

import numpy as np

from .area import (
    area_setup,
    area_setup_tables,
    mast_pixel_loss_db,
    n_rays,
    ray_direction,
    trace_ray,
)
from .constants import GPU_SCRATCH_BYTES, GPU_THREADS_PER_BLOCK, POL_VERTICAL
from .jit import cuda_compile, cuda_module
from .ray import LossTables, RaySamples, RayScratch, ray_core, ray_physics

_compiled_kernels = {}
_scratch_buffers = {}


def _rays_kernel(surface_m, ground_m, tx_row, tx_col, rr, pixel_m, radius_m, g_tx, hts_m,
                 h_rx_agl_m, ap_km, omega_frac, pol, freqs_ghz, lams_m, fs_consts_db, jt, et,
                 sph_tabs, sph_org, fwork, iwork, need_w, loss_w, res):
    """One thread per slot; slot s traces rays s, s + slots, ... and writes the pixels
    they own into ``res`` (n_freq, rows, cols)."""
    slot = cuda.grid(1)  # noqa: F821  (the cuda module, given by cuda_compile)
    nslots = need_w.shape[1]
    if slot >= nslots:
        return
    x = fwork[6, :, slot]
    sv = fwork[7, :, slot]
    gv = fwork[8, :, slot]
    rows = iwork[4, :, slot]
    cols = iwork[5, :, slot]
    need = need_w[:, slot]
    loss = loss_w[:, :, slot]
    phys = ray_physics(hts_m, h_rx_agl_m, ap_km, omega_frac, pol, freqs_ghz, lams_m,
                       fs_consts_db)
    tabs = LossTables(jt, et, sph_tabs, sph_org)
    scratch = RayScratch(fwork[0, :, slot], fwork[1, :, slot], iwork[0, :, slot],
                         fwork[2, :, slot], fwork[3, :, slot], iwork[1, :, slot],
                         fwork[4, :, slot], iwork[2, :, slot], iwork[3, :, slot],
                         fwork[5, :, slot])
    nf = freqs_ghz.shape[0]
    for ray in range(slot, n_rays(rr), nslots):
        col_major, sign, e = ray_direction(ray, rr)
        n = trace_ray(surface_m, ground_m, tx_row, tx_col, col_major, sign, e, rr, pixel_m,
                      radius_m, g_tx, x, sv, gv, need, rows, cols)
        if n < 2:
            continue
        ray_core(RaySamples(x, sv, gv, need, n), phys, tabs, scratch, loss)
        for j in range(1, n):
            if need[j]:
                for k in range(nf):
                    res[k, rows[j], cols[j]] = loss[k, j]


def _kernel():
    """The compiled ray kernel (compiled on first use, once per process)."""
    if "rays" not in _compiled_kernels:
        cuda = cuda_module()
        _compiled_kernels["rays"] = cuda_compile(_rays_kernel, device=False,
                                                 extra={"cuda": cuda})
    return _compiled_kernels["rays"]


def _scratch(cuda, n_max, slots, nf):
    """Device scratch of the ray kernel, kept for the next call of the same size (masts of
    one run share a radius, so a run allocates it once): ``(fwork, iwork, need, loss)``.
    Fully overwritten by every ray before it is read."""
    key = (n_max, slots, nf)
    if _scratch_buffers.get("key") != key:
        _scratch_buffers.clear()  # free the old buffers before allocating new ones
        _scratch_buffers["key"] = key
        _scratch_buffers["arrays"] = (
            cuda.device_array((9, n_max, slots), np.float64),
            cuda.device_array((6, n_max, slots), np.int64),
            cuda.device_array((n_max, slots), np.bool_),
            cuda.device_array((nf, n_max, slots), np.float64),
        )
    return _scratch_buffers["arrays"]


def gpu_name():
    """Name of the GPU numba.cuda would use (``"SIMULATOR"`` on the CUDA simulator), or
    None when there is none (no driver, no device, or numba.cuda cannot start)."""
    from numba import config

    try:
        cuda = cuda_module()
        if not cuda.is_available():
            return None
        if config.ENABLE_CUDASIM:
            return "SIMULATOR"
        name = cuda.get_current_device().name
    except Exception:  # noqa: BLE001  (any CUDA start-up failure means: no usable GPU)
        return None
    return name.decode() if isinstance(name, bytes) else str(name)


def gpu_check():
    """``(name, None)`` when the GPU compiles and runs the area kernel, else ``(None, why)``.

    Runs :func:`area_loss_multi_db_gpu` on a 9 x 9 window: the first call compiles the
    kernel (seconds), so a GPU without a usable CUDA toolchain (NVVM, a driver too old
    for its PTX) is found before a run starts, not in its first mast.
    """
    name = gpu_name()
    if name is None:
        return None, "numba finds no CUDA GPU"
    ground = np.full((9, 9), 10.0, np.float32)
    try:
        loss = area_loss_multi_db_gpu(ground + 5.0, ground, 4, 4, 30.0, 1.5, 25.0, 100.0,
                                      np.array([392.5]), 8494.0)
    except Exception as exc:  # noqa: BLE001  (any failure: the GPU cannot run the kernel)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, f"{name} cannot run the kernel: {type(exc).__name__}: {first}"
    if not np.isfinite(loss[0, 4, 8]):
        return None, f"{name} ran the kernel but returned no loss"
    return name, None


def area_loss_multi_db_gpu(
    surface_m,
    ground_m,
    tx_row,
    tx_col,
    h_tx_agl_m,
    h_rx_agl_m,
    pixel_m,
    radius_m,
    freqs_mhz,
    ae_km,
    pol=POL_VERTICAL,
    omega_frac=0.0,
    out=None,
    max_slots=None,
    sph_tabs=None,
    sph_org=None,
):
    """:func:`c2000cov.kernels.area.area_loss_multi_db` on the GPU (same parameters, same
    result: (n_freq, rows, cols) float32, NaN where the CPU kernel gives NaN).

    ``max_slots`` bounds the rays in flight (threads); by default as many as fit in
    ``GPU_SCRATCH_BYTES`` of scratch, at most one per ray. The caller checks that a GPU
    is there (:func:`gpu_name`). ``sph_tabs, sph_org``: the call's Ldsph tables, as for the
    CPU kernel (built on the host when None).
    """
    surface_m = np.ascontiguousarray(surface_m, dtype=np.float32)
    ground_m = np.ascontiguousarray(ground_m, dtype=np.float32)
    freqs_mhz = np.ascontiguousarray(freqs_mhz, dtype=np.float64)
    nrow, ncol = surface_m.shape
    nf = freqs_mhz.shape[0]
    res = np.empty((nf, nrow, ncol), np.float32) if out is None else out
    res.fill(np.nan)
    if nf == 0 or not (0 <= tx_row < nrow and 0 <= tx_col < ncol):
        return res
    g_tx = ground_m[tx_row, tx_col]
    if math.isnan(g_tx):
        return res
    if sph_tabs is None:
        phys, tabs = area_setup(ground_m, g_tx, h_tx_agl_m, h_rx_agl_m, pixel_m, radius_m,
                                freqs_mhz, ae_km, pol, omega_frac)
    else:
        phys, tabs = area_setup_tables(g_tx, h_tx_agl_m, h_rx_agl_m, freqs_mhz, ae_km, pol,
                                       omega_frac, sph_tabs, sph_org)
    for k in range(nf):
        res[k, tx_row, tx_col] = mast_pixel_loss_db(phys.fs_consts_db[k], h_tx_agl_m,
                                                    h_rx_agl_m, pixel_m)
    rr = int(math.floor(radius_m / pixel_m))
    if rr < 1:
        return res
    cuda = cuda_module()
    kern = _kernel()
    nrays = n_rays(rr)
    n_max = rr + 1
    if max_slots is None:
        max_slots = GPU_SCRATCH_BYTES // (n_max * (9 * 8 + 6 * 8 + 1 + 8 * nf))
    slots = max(1, min(nrays, int(max_slots)))
    stream = cuda.stream()
    d_res = cuda.to_device(res, stream=stream)
    args = (
        cuda.to_device(surface_m, stream=stream), cuda.to_device(ground_m, stream=stream),
        int(tx_row), int(tx_col), rr, float(pixel_m), float(radius_m), float(g_tx),
        phys.hts_m, phys.h_rx_agl_m, phys.ap_km, phys.omega_frac, phys.pol,
        cuda.to_device(phys.freqs_ghz, stream=stream), cuda.to_device(phys.lams_m, stream=stream),
        cuda.to_device(phys.fs_consts_db, stream=stream), cuda.to_device(tabs.jt, stream=stream),
        cuda.to_device(tabs.et, stream=stream), cuda.to_device(tabs.sph_tabs, stream=stream),
        cuda.to_device(tabs.sph_org, stream=stream),
        *_scratch(cuda, n_max, slots, nf),
        d_res,
    )
    blocks = (slots + GPU_THREADS_PER_BLOCK - 1) // GPU_THREADS_PER_BLOCK
    kern[blocks, GPU_THREADS_PER_BLOCK, stream](*args)
    d_res.copy_to_host(res, stream=stream)
    stream.synchronize()
    return res
