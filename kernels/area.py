"""Area propagation kernel: ITU-R P.1812-8 basic transmission loss from one mast to every pixel.

For one transmitter the kernel computes, for every pixel within a radius, the basic
transmission loss of ITU-R P.1812-8 at p = 50 % for a path with no troposcatter or
anomalous propagation, Lb = Lbfs + Ld50 (eqs. 8, 8a and section 4.3.4, with ap = ae),
at any number of frequencies in one sweep.

Rays go from the mast pixel to every cell on the perimeter of the square of
half-width R = floor(radius_m / pixel_m) pixels (8 R rays), one sample per pixel along
their major axis. Every pixel is *owned* by exactly one ray (:func:`owns_pixel`), the
only one that writes it, so rays run in parallel without races and the result does not
depend on the thread count. A pixel's profile is its owner ray's samples up to it: the
surface (terrain + buildings) at the intermediate points, the ground at both terminals,
the smooth-Earth surface fitted to the ground. NaN means no data.

Per ray, :func:`c2000cov.kernels.ray.ray_core` updates hulls, running maxima and prefix
sums so that each pixel costs about O(log n) instead of O(n); Lbull and Ldsph come from
per-call tables. Against the O(n) twin (tests/kernels/twins.py) the float32 results
differ by at most 0.013 dB on the benchmark terrain. ``area_loss_multi_db(...)[k]`` is
bit-identical to ``area_loss_db(..., freqs_mhz[k])``.

The full design (profile rules, the O(n log n) method, the tables and their error
bounds, the several-frequency sweep, the P.1812-8 mechanisms left out) is in
``docs/kernels.md``. Modules: :mod:`.jit` (Numba options), :mod:`.constants`,
:mod:`.tables`, :mod:`.hulls`, :mod:`.smooth`, :mod:`.ray`, this driver, and
:mod:`.profile` for point-to-point paths.

``area_loss_multi_db`` is ``parallel=True`` with ``prange`` over chunks of rays
(``RAY_CHUNKS``, each chunk a block of adjacent rays, the blocks taken in an order,
``RAY_CHUNK_STRIDE``, that gives every thread's share of chunks every direction).
Row-major rays read the rasters down their columns, in place. Inputs are never modified;
results go to a new array or to ``out=``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .constants import (  # noqa: F401  (re-exported: the constants of the area kernel)
    CURVATURE_M_KM,
    ITU_REC,
    LBFS_CONST_DB,
    LBULL_TAB_ERR_DB,
    M_PER_KM,
    MIN_DIST_PIXELS,
    NU_FLOOR,
    POL_HORIZONTAL,
    POL_VERTICAL,
    RAY_CHUNK_STRIDE,
    RAY_CHUNKS,
    SPH_TAB_MIN_H_M,
    SPH_TAB_RELIEF_FACTOR,
    SPH_TAB_RELIEF_MARGIN_M,
)
from .jit import inline_kernel, kernel, parallel_kernel
from .ray import (  # noqa: F401  (ray_loss_db re-exported: it was defined here)
    LossTables,
    RayPhysics,
    RaySamples,
    freq_constants,
    new_scratch,
    ray_core,
    ray_loss_db,
    ray_physics,
)
from .tables import lbull_tables, make_sph_tables


@inline_kernel
def n_rays(rr):
    """Number of rays for a half-width of ``rr`` pixels: 8 rr (column-major rays to the
    two column sides of the square, corners included, row-major rays to the two row sides)."""
    return 2 * (2 * rr + 1) + 2 * (2 * rr - 1)


@inline_kernel
def ray_direction(ray, rr):
    """``(col_major, sign, e)`` of ray number ``ray`` (0 .. 8 rr - 1): its major axis (columns
    when True), the direction along it (+1/-1) and its perimeter offset ``e`` on the minor
    axis (|e| <= rr; row-major rays stop at rr - 1, the corners are column-major)."""
    n_cm = 2 * rr + 1  # column-major rays per side
    n_rm = 2 * rr - 1  # row-major rays per side (corners belong to column-major)
    if ray < 2 * n_cm:
        col_major = True
        sign = 1 if ray < n_cm else -1
        e = ray % n_cm - rr
    else:
        q = ray - 2 * n_cm
        col_major = False
        sign = 1 if q < n_rm else -1
        e = q % n_rm - (rr - 1)
    return col_major, sign, e


@inline_kernel
def minor_step(m, rem, e, two_r):
    """One step along the major axis of the ray with perimeter offset ``e``: the minor offset
    ``m_k = floor((2 k e + R) / 2R)`` tracked incrementally as ``2 k e + R = 2R m + rem``,
    ``two_r = 2R``. Returns the new ``(m, rem)``."""
    rem += 2 * e
    if rem >= two_r:
        rem -= two_r
        m += 1
    elif rem < 0:
        rem += two_r
        m -= 1
    return m, rem


@inline_kernel
def owns_pixel(e, k, m, rr, col_major):
    """Whether the ray with perimeter offset ``e`` owns the pixel at major offset ``k`` and
    minor offset ``m``: e == floor(m R / k + 1/2), i.e. (2e - 1) k <= 2 m R < (2e + 1) k;
    diagonal pixels belong to the column-major rays."""
    owned = (2 * e - 1) * k <= 2 * m * rr and 2 * m * rr < (2 * e + 1) * k
    if not col_major and (m == k or m == -k):
        owned = False
    return owned


@inline_kernel
def mast_pixel_loss_db(fs_const_db, h_tx_agl_m, h_rx_agl_m, pixel_m):
    """Loss of the mast's own pixel: free space at a horizontal distance of
    MIN_DIST_PIXELS pixels (and the height difference), no diffraction."""
    d0_km = MIN_DIST_PIXELS * pixel_m / M_PER_KM
    dz_km = h_tx_agl_m - h_rx_agl_m
    dz_km /= M_PER_KM
    return fs_const_db + 10.0 * math.log10(d0_km * d0_km + dz_km * dz_km)


@kernel
def sph_table_range(ground_m, h_tx_agl_m, h_rx_agl_m, pixel_m, radius_m):
    """The ranges the Ldsph table of an area call covers: ``(d_min_km, d_max_km, hte_lo_m,
    hte_hi_m, hre_lo_m, hre_hi_m)``, distances from one pixel to the radius, heights from the
    antenna heights (at least SPH_TAB_MIN_H_M) to SPH_TAB_RELIEF_FACTOR times the window's
    ground relief plus SPH_TAB_RELIEF_MARGIN_M above them."""
    g_lo, g_hi = _nan_min_max(ground_m)
    relief = SPH_TAB_RELIEF_FACTOR * (g_hi - g_lo) + SPH_TAB_RELIEF_MARGIN_M
    h_tx_agl = max(h_tx_agl_m, SPH_TAB_MIN_H_M)
    h_rx_agl = max(h_rx_agl_m, SPH_TAB_MIN_H_M)
    return (pixel_m / M_PER_KM, radius_m / M_PER_KM, h_tx_agl, h_tx_agl + relief, h_rx_agl,
            h_rx_agl + relief)


@kernel
def area_setup_tables(g_tx, h_tx_agl_m, h_rx_agl_m, freqs_mhz, ae_km, pol, omega_frac,
                      sph_tabs, sph_org):
    """The physics and tables of one area call, ``(RayPhysics, LossTables)``, around given
    Ldsph tables (``sph_tabs`` (n_freq, n_u, n_t, n_r, 2) and their origin ``sph_org``)."""
    freqs_ghz, lams_m, fs_consts_db = freq_constants(freqs_mhz)
    jt, et = lbull_tables()
    phys = ray_physics(g_tx + h_tx_agl_m, h_rx_agl_m, ae_km, omega_frac, pol, freqs_ghz, lams_m,
                      fs_consts_db)
    return phys, LossTables(jt, et, sph_tabs, sph_org)


@kernel
def area_setup(ground_m, g_tx, h_tx_agl_m, h_rx_agl_m, pixel_m, radius_m, freqs_mhz, ae_km, pol,
               omega_frac):
    """The physics and tables of one area call: ``(RayPhysics, LossTables)``, the Ldsph table
    built for this call over :func:`sph_table_range`. ``g_tx``: ground height of the mast
    pixel (m amsl)."""
    freqs_ghz = freq_constants(freqs_mhz)[0]
    d_lo, d_hi, t_lo, t_hi, r_lo, r_hi = sph_table_range(ground_m, h_tx_agl_m, h_rx_agl_m,
                                                         pixel_m, radius_m)
    sph_tabs, sph_org = make_sph_tables(d_lo, d_hi, t_lo, t_hi, r_lo, r_hi, ae_km, freqs_ghz,
                                        omega_frac, pol)
    return area_setup_tables(g_tx, h_tx_agl_m, h_rx_agl_m, freqs_mhz, ae_km, pol, omega_frac,
                             sph_tabs, sph_org)


@parallel_kernel
def area_loss_multi_db(
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
    sph_tabs=None,
    sph_org=None,
):
    """P.1812-8 basic transmission loss (p = 50 %) from one mast to every pixel in a radius,
    at several frequencies in one sweep.

    The rays, ownership, hulls, Stim/Srim, Bullington points, smooth surface,
    line-of-sight tests and the line-of-sight maximiser of nu depend only on the geometry
    and are computed once; per frequency only the physics (nu scale, Lbull and Ldsph
    lookups, free-space constant). ``out[k]`` is bit-identical to
    ``area_loss_db(..., freqs_mhz[k], ...)``, whatever the other frequencies (that function
    is this one with a single frequency).

    Parameters
    ----------
    surface_m : (rows, cols) float array
        Surface heights amsl (terrain + buildings, m); NaN = no data.
    ground_m : (rows, cols) float array
        Ground (terrain) heights amsl (m), same shape; NaN = no data.
    tx_row, tx_col : int
        Mast pixel (its centre is the mast position); all NaN if it is outside
        the window.
    h_tx_agl_m : float
        Mast antenna height above the ground of the mast pixel (m), > 0.
    h_rx_agl_m : float
        Receiver antenna height above ground (m), > 0.
    pixel_m : float
        Pixel size (m), square pixels.
    radius_m : float
        Pixels whose centre is farther than this from the mast get NaN.
    freqs_mhz : (n_freq,) float64 array
        Frequencies (MHz), each > 0.
    ae_km : float
        Median effective Earth radius (km), used as ap (p = 50 %).
    pol : int, optional
        1 horizontal, 2 vertical (default).
    omega_frac : float, optional
        Fraction of the path over sea, 0 (default) to 1.
    out : (n_freq, rows, cols) float32 array, optional
        Output array (fully overwritten); a new one is allocated if None.
    sph_tabs, sph_org : arrays, optional
        The call's Ldsph tables (n_freq, n_u, n_t, n_r, 2) and their origin (3,), as
        :func:`c2000cov.kernels.tables.make_sph_tables` builds them over
        :func:`sph_table_range` (``c2000cov.radio.sph_store`` cuts them out of tables shared
        by the masts of a run); built here when None. Both or neither.

    Returns
    -------
    (n_freq, rows, cols) float32 array
        Lbfs + Ld50 (dB) per frequency and pixel; NaN outside the radius, where the
        ground is NaN, and everywhere when the mast pixel's ground is NaN. See the
        module docstring for the profile each pixel sees.
    """
    nrow, ncol = surface_m.shape
    nf = freqs_mhz.shape[0]
    if out is None:
        res = np.empty((nf, nrow, ncol), np.float32)
    else:
        res = out
    for r in prange(nrow):
        for k in range(nf):
            for cc in range(ncol):
                res[k, r, cc] = np.nan
    if nf == 0 or not (0 <= tx_row < nrow and 0 <= tx_col < ncol):
        return res  # the caller validates; a kernel does not raise
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
    # Numba's parfors cannot capture tuples in a prange body: pass the fields, rebuild there
    hts_m = phys.hts_m
    freqs_ghz = phys.freqs_ghz
    lams_m = phys.lams_m
    fs_consts_db = phys.fs_consts_db
    jt = tabs.jt
    et = tabs.et
    sph_tabs = tabs.sph_tabs
    sph_org = tabs.sph_org
    nrays = n_rays(rr)
    n_chunks = min(nrays, RAY_CHUNKS)
    per_chunk = (nrays + n_chunks - 1) // n_chunks
    for chunk in prange(n_chunks):
        phys_c = ray_physics(hts_m, h_rx_agl_m, ae_km, omega_frac, pol, freqs_ghz, lams_m,
                            fs_consts_db)
        tabs_c = LossTables(jt, et, sph_tabs, sph_org)
        n_max = rr + 1
        x = np.empty(n_max, np.float64)
        sv = np.empty(n_max, np.float64)
        gv = np.empty(n_max, np.float64)
        need = np.zeros(n_max, np.bool_)
        rows = np.empty(n_max, np.int64)
        cols = np.empty(n_max, np.int64)
        loss = np.empty((nf, n_max), np.float64)
        scratch = new_scratch(n_max)
        # Chunk c takes the block of adjacent rays number (c RAY_CHUNK_STRIDE) mod n_chunks.
        # Adjacent rays read the same cache lines of the rasters near the mast, so a
        # block costs less than rays RAY_CHUNKS apart (9 % of the kernel's time on
        # workload a). Numba hands each thread a contiguous range of c; the stride,
        # a prime above RAY_CHUNKS, spreads every range over every direction (blocks
        # in plain order gave one thread the east and west rays, the other north and
        # south, whatever the terrain costs in each direction).
        first = ((chunk * RAY_CHUNK_STRIDE) % n_chunks) * per_chunk
        for ray in range(first, min(nrays, first + per_chunk)):
            col_major, sign, e = ray_direction(ray, rr)
            n = trace_ray(surface_m, ground_m, tx_row, tx_col, col_major, sign, e, rr, pixel_m,
                           radius_m, g_tx, x, sv, gv, need, rows, cols)
            if n < 2:
                continue
            ray_core(RaySamples(x, sv, gv, need, n), phys_c, tabs_c, scratch, loss)
            for j in range(1, n):
                if need[j]:
                    for k in range(nf):
                        res[k, rows[j], cols[j]] = loss[k, j]
    return res


@kernel
def area_loss_db(
    surface_m,
    ground_m,
    tx_row,
    tx_col,
    h_tx_agl_m,
    h_rx_agl_m,
    pixel_m,
    radius_m,
    freq_mhz,
    ae_km,
    pol=POL_VERTICAL,
    omega_frac=0.0,
    out=None,
):
    """P.1812-8 basic transmission loss (p = 50 %) from one mast to every pixel in a radius.

    :func:`area_loss_multi_db` with the single frequency ``freq_mhz`` (MHz); the other
    parameters and the result are as there, with a 2-D ``out`` / result
    (rows, cols) float32.
    """
    nrow, ncol = surface_m.shape
    freqs_mhz = np.empty(1, np.float64)
    freqs_mhz[0] = freq_mhz
    if out is None:
        res = area_loss_multi_db(surface_m, ground_m, tx_row, tx_col, h_tx_agl_m, h_rx_agl_m,
                                 pixel_m, radius_m, freqs_mhz, ae_km, pol, omega_frac, None)
        return res[0]
    area_loss_multi_db(surface_m, ground_m, tx_row, tx_col, h_tx_agl_m, h_rx_agl_m, pixel_m,
                       radius_m, freqs_mhz, ae_km, pol, omega_frac, out.reshape((1, nrow, ncol)))
    return out


@parallel_kernel
def _nan_min_max(a):
    """(min, max) of the finite values of a 2-D array ((inf, -inf) if none)."""
    nrow = a.shape[0]
    lo = np.full(nrow, np.inf)
    hi = np.full(nrow, -np.inf)
    for r in prange(nrow):
        for v in a[r]:
            if v < lo[r]:
                lo[r] = v
            if v > hi[r]:
                hi[r] = v
    return lo.min(), hi.max()


@kernel
def trace_ray(surface_m, ground_m, tx_row, tx_col, col_major, sign, e, rr, pixel_m, radius_m,
               g_tx, x, sv, gv, need, rows, cols):
    """Samples of one ray (distances km, surface, ground, ownership, pixel indices).

    Returns the number of samples, trimmed after the last pixel the ray owns
    (0 if it owns none). Column-major rays walk along the rasters' rows, row-major rays
    down their columns: a chunk's adjacent rays read the same cache lines, so the
    columns cost no more than a transposed copy did (which cost 4.5 % of the kernel's
    time to make, and 8 bytes per window pixel). The GPU kernel compiles this same
    function (:mod:`.area_cuda`); there the threads of a warp walk neighbouring rays,
    so their reads of one row are coalesced.
    """
    nrow, ncol = surface_m.shape
    if col_major:
        a0 = tx_row  # minor axis origin
        b0 = tx_col  # major axis origin
        n_minor = nrow
        n_major = ncol
    else:
        a0 = tx_col
        b0 = tx_row
        n_minor = ncol
        n_major = nrow
    x[0] = 0.0
    sv[0] = g_tx
    gv[0] = g_tx
    need[0] = False
    n = 1
    last_owned = 0
    two_r = 2 * rr
    # m_k = floor((2 k e + R) / 2R), tracked incrementally: num = 2 k e + R = 2R m + rem
    m = 0
    rem = rr
    for k in range(1, rr + 1):
        m, rem = minor_step(m, rem, e, two_r)
        a = a0 + m
        b = b0 + sign * k
        if a < 0 or a >= n_minor or b < 0 or b >= n_major:
            break
        dist_m = pixel_m * math.sqrt(float(k * k + m * m))
        if dist_m > radius_m:
            break
        x[n] = dist_m / M_PER_KM
        if col_major:
            r = a
            cc = b
        else:
            r = b
            cc = a
        sv[n] = surface_m[r, cc]
        gv[n] = ground_m[r, cc]
        rows[n] = r
        cols[n] = cc
        owned = owns_pixel(e, k, m, rr, col_major)
        need[n] = owned
        if owned:
            last_owned = n
        n += 1
    return last_owned + 1 if last_owned > 0 else 0
