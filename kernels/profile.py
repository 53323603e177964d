"""Path profiles between two points of a raster, and the P.1812-8 point-to-point loss over them.

Used for the loss between a solar installation and a mast antenna (uplink
interference): many short point-to-point paths instead of one mast's area.

Profile of a path
-----------------
Points are given in fractional pixel coordinates of the raster window
(``col_f = (x - x_left) / pixel_m``, ``row_f = (y_top - y) / pixel_m``, so pixel
``(r, c)`` spans ``r <= row_f < r + 1``). A path of horizontal length ``d``
pixels is sampled at ``n = ceil(d) + 1`` (at least 2) evenly spaced points,
spacing at most one pixel; each sample takes the value of the pixel that holds
it (nearest-pixel sampling, as the area kernel of :mod:`c2000cov.kernels.area`
does along its rays). As in the area kernel:

- the two terminals use the ground height, the intermediate points the
  surface height (terrain + buildings): an antenna is never inside a building;
- a NaN surface sample takes the ground height of the same sample, a NaN
  ground sample the previous filled ground height; a NaN ground height at
  either terminal makes the whole path NaN (no data);
- the smooth-Earth surface of P.1812-8 Attachment 1 (eqs. 85-91) is fitted to
  the ground profile (terrain without buildings).

Loss
----
``Lb = Lbfs + Ld``: P.1812-8 eq. (8) free-space loss over the 3-D distance of
eq. (8a), plus the delta-Bullington diffraction loss of section 4.3.4
(eqs. 37-39, :func:`c2000cov.kernels.diffraction.delta_bullington_db`) with
ap = ae (p = 50 %), vertical polarisation, a land path. Paths shorter than one
pixel get free-space loss only, at a horizontal distance of at least half a
pixel (``MIN_DIST_PIXELS``), the rule of the area kernel for the mast pixel.

All kernels are compiled with the options of :mod:`c2000cov.kernels.jit` (the numpy
error model: a division by zero gives inf/NaN, never an exception), never raise and
never modify their inputs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .constants import LBFS_CONST_DB, M_PER_KM, MHZ_PER_GHZ, MIN_DIST_PIXELS, POL_VERTICAL
from .diffraction import delta_bullington_db, diffraction_surface_heights
from .jit import kernel, parallel_kernel


@kernel
def _pixel_index(v, size):
    i = int(math.floor(v))
    if i < 0:
        return 0
    if i >= size:
        return size - 1
    return i


@kernel
def path_profile(surface_m, ground_m, row0_f, col0_f, row1_f, col1_f, pixel_m):
    """Sample the profile between two points of a raster (see the module docstring).

    Parameters
    ----------
    surface_m, ground_m : (rows, cols) float arrays
        Surface (terrain + buildings) and ground heights amsl (m); NaN = no data.
    row0_f, col0_f, row1_f, col1_f : float
        Fractional pixel coordinates of the start (transmitter) and end
        (receiver) points; both must lie inside the raster.
    pixel_m : float
        Pixel size (m).

    Returns
    -------
    tuple of (n,) float64 arrays
        ``(d_km, h_m, g_m)``: distances from the start (km), profile heights
        for diffraction (ground at the terminals, filled surface between) and
        filled ground heights (m amsl). ``h_m`` and ``g_m`` are all NaN when the
        ground at either terminal is NaN.
    """
    nrow, ncol = ground_m.shape
    drow = row1_f - row0_f
    dcol = col1_f - col0_f
    dist_px = math.sqrt(drow * drow + dcol * dcol)
    n = int(math.ceil(dist_px)) + 1
    if n < 2:
        n = 2
    d_km = np.empty(n, np.float64)
    h_m = np.empty(n, np.float64)
    g_m = np.empty(n, np.float64)
    g_prev = np.nan
    for j in range(n):
        t = j / (n - 1)
        r = _pixel_index(row0_f + t * drow, nrow)
        c = _pixel_index(col0_f + t * dcol, ncol)
        d_km[j] = t * dist_px * pixel_m / M_PER_KM
        graw = ground_m[r, c]
        g = graw if not math.isnan(graw) else g_prev
        s = surface_m[r, c]
        g_m[j] = g
        h_m[j] = s if not math.isnan(s) else g
        g_prev = g
    if math.isnan(ground_m[_pixel_index(row0_f, nrow), _pixel_index(col0_f, ncol)]) or math.isnan(
        ground_m[_pixel_index(row1_f, nrow), _pixel_index(col1_f, ncol)]
    ):
        h_m[:] = np.nan
        g_m[:] = np.nan
        return d_km, h_m, g_m
    h_m[0] = g_m[0]
    h_m[n - 1] = g_m[n - 1]
    return d_km, h_m, g_m


@kernel
def p1812_point_loss_db(surface_m, ground_m, row0_f, col0_f, h0_agl_m, row1_f, col1_f, h1_agl_m,
                        pixel_m, freq_mhz, ae_km):
    """P.1812-8 basic transmission loss Lbfs + Ld (p = 50 %) between two points (dB).

    Parameters
    ----------
    surface_m, ground_m : (rows, cols) float arrays
        Surface and ground heights amsl (m); NaN = no data.
    row0_f, col0_f : float
        Fractional pixel coordinates of the transmitter.
    h0_agl_m : float
        Transmitter antenna height above the ground of its pixel (m).
    row1_f, col1_f : float
        Fractional pixel coordinates of the receiver.
    h1_agl_m : float
        Receiver antenna height above the ground of its pixel (m).
    pixel_m : float
        Pixel size (m).
    freq_mhz : float
        Frequency (MHz).
    ae_km : float
        Median effective Earth radius (km), used as ap.

    Returns
    -------
    float
        Loss in dB; NaN when the ground at a terminal is NaN.
    """
    d_km, h_m, g_m = path_profile(surface_m, ground_m, row0_f, col0_f, row1_f, col1_f, pixel_m)
    n = d_km.shape[0]
    if math.isnan(g_m[0]):
        return np.nan
    hts = g_m[0] + h0_agl_m
    hrs = g_m[n - 1] + h1_agl_m
    freq_ghz = freq_mhz / MHZ_PER_GHZ
    dtot_km = d_km[n - 1]
    d_fs_km = max(dtot_km, MIN_DIST_PIXELS * pixel_m / M_PER_KM)
    dz_km = (hts - hrs) / M_PER_KM
    lbfs = LBFS_CONST_DB + 20.0 * math.log10(freq_ghz) + 10.0 * math.log10(
        d_fs_km * d_fs_km + dz_km * dz_km)
    if dtot_km < pixel_m / M_PER_KM:
        return lbfs
    hstd, hsrd = diffraction_surface_heights(d_km, g_m, hts, hrs)
    ld = delta_bullington_db(d_km, h_m, hts, hrs, ae_km, freq_ghz, 0.0, POL_VERTICAL, hstd,
                             hsrd)[0]
    return lbfs + ld


@parallel_kernel
def p1812_point_losses_db(surface_m, ground_m, row0_f, col0_f, h0_agl_m, row1_f, col1_f,
                          h1_agl_m, pixel_m, freq_mhz, ae_km, out=None):
    """:func:`p1812_point_loss_db` for many paths (1-D arrays of equal length), in parallel.

    Returns
    -------
    (n,) float64 array
        Loss per path (dB), written to ``out`` when given.
    """
    n = row0_f.shape[0]
    res = np.empty(n, np.float64) if out is None else out
    for i in prange(n):
        res[i] = p1812_point_loss_db(surface_m, ground_m, row0_f[i], col0_f[i], h0_agl_m[i],
                                     row1_f[i], col1_f[i], h1_agl_m[i], pixel_m, freq_mhz, ae_km)
    return res
