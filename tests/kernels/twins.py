"""Slow, obviously-correct twins of the fast kernels in ``c2000cov.kernels``.

Each twin recomputes per pixel / per sample what the kernel computes
incrementally, with plain Python geometry and the O(n) point-to-point
functions of :mod:`c2000cov.kernels.diffraction`.
"""

from __future__ import annotations

import math

import numpy as np

from c2000cov.kernels.diffraction import delta_bullington_db, diffraction_surface_heights

LBFS_CONST_DB = 92.4  # ITU-R P.1812-8 eq. (8)
POL_VERTICAL = 2


def _round_half_up(num: int, den: int) -> int:
    """floor(num / den + 1/2) for integers, den > 0 (exact)."""
    return (2 * num + den) // (2 * den)


def owner_ray_pixels(tx_row, tx_col, pixel_m, radius_m, row, col):
    """(row, col) samples, mast first, of the ray that owns pixel (row, col).

    The ray goes from the mast to the perimeter cell of the square of half-width
    R = floor(radius_m / pixel_m) that the pixel projects onto (nearest cell,
    halves rounded up), with one sample per pixel along the major axis
    (columns when |dcol| >= |drow|).
    """
    rr = math.floor(radius_m / pixel_m)
    dr = row - tx_row
    dc = col - tx_col
    if dr == 0 and dc == 0:
        return [(tx_row, tx_col)]
    if abs(dc) >= abs(dr):
        k, m, sign = abs(dc), dr, (1 if dc > 0 else -1)
    else:
        k, m, sign = abs(dr), dc, (1 if dr > 0 else -1)
    e = _round_half_up(m * rr, k)
    out = []
    for j in range(k + 1):
        mj = _round_half_up(j * e, rr)
        if abs(dc) >= abs(dr):
            out.append((tx_row + mj, tx_col + sign * j))
        else:
            out.append((tx_row + sign * j, tx_col + mj))
    if out[-1] != (row, col):
        raise RuntimeError("owner ray misses its pixel")  # a bug in the twin itself
    return out


def filled_profile(surface_samples, ground_samples):
    """The kernel's no-data rules along a ray: NaN ground -> previous filled ground,
    NaN surface -> this sample's filled ground. Sample 0 must have finite ground."""
    s_out = []
    g_out = []
    g_prev = float(ground_samples[0])
    for s, g in zip(surface_samples, ground_samples, strict=True):
        g = float(g)
        s = float(s)
        gf = g if not math.isnan(g) else g_prev
        sf = s if not math.isnan(s) else gf
        s_out.append(sf)
        g_out.append(gf)
        g_prev = gf
    return np.array(s_out), np.array(g_out)


def twin_path_loss_db(d_km, surf_m, grnd_m, hts_m, hrs_m, freq_ghz, ap_km, pol=POL_VERTICAL,
                      omega_frac=0.0):
    """Lbfs (eqs. 8, 8a) + delta-Bullington Ld (eq. 39) for one profile, O(n).

    Intermediate points use ``surf_m``, the terminals ``grnd_m``; the smooth
    surface is fitted to ``grnd_m``.
    """
    h = np.array(surf_m, dtype=float)
    h[0] = grnd_m[0]
    h[-1] = grnd_m[-1]
    hstd, hsrd = diffraction_surface_heights(d_km, np.asarray(grnd_m, float), hts_m, hrs_m)
    ld = delta_bullington_db(d_km, h, hts_m, hrs_m, ap_km, freq_ghz, omega_frac, pol,
                             hstd, hsrd)[0]
    dtot = d_km[-1] - d_km[0]
    dfs = math.sqrt(dtot**2 + ((hts_m - hrs_m) / 1000.0) ** 2)
    return LBFS_CONST_DB + 20 * math.log10(freq_ghz) + 20 * math.log10(dfs) + ld


def twin_ray_loss_db(d_km, h_m, h_tx_amsl_m, h_rx_agl_m, ground_m, freq_mhz, ae_km,
                     pol=POL_VERTICAL, omega_frac=0.0):
    """Twin of ``ray_loss_db``: each sample i >= 1 on its own O(i) profile."""
    d_km = np.asarray(d_km, float)
    n = d_km.size
    out = np.full(n, np.nan)
    if math.isnan(ground_m[0]):
        return out
    surf, grnd = filled_profile(h_m, ground_m)
    for i in range(1, n):
        if math.isnan(ground_m[i]):
            continue
        out[i] = twin_path_loss_db(d_km[: i + 1], surf[: i + 1], grnd[: i + 1], h_tx_amsl_m,
                                   grnd[i] + h_rx_agl_m, freq_mhz / 1000.0, ae_km, pol,
                                   omega_frac)
    return out


def twin_area_loss_db(surface_m, ground_m, tx_row, tx_col, h_tx_agl_m, h_rx_agl_m, pixel_m,
                      radius_m, freq_mhz, ae_km, pol=POL_VERTICAL, omega_frac=0.0):
    """Twin of ``area_loss_db``: per pixel, extract the owner ray's profile and evaluate it."""
    nrow, ncol = surface_m.shape
    out = np.full((nrow, ncol), np.nan)
    g_tx = float(ground_m[tx_row, tx_col])
    if math.isnan(g_tx):
        return out.astype(np.float32)
    hts = g_tx + h_tx_agl_m
    freq_ghz = freq_mhz / 1000.0
    d0 = 0.5 * pixel_m / 1000.0
    dz = (h_tx_agl_m - h_rx_agl_m) / 1000.0
    out[tx_row, tx_col] = (LBFS_CONST_DB + 20 * math.log10(freq_ghz)
                           + 20 * math.log10(math.hypot(d0, dz)))
    for row in range(nrow):
        for col in range(ncol):
            if (row, col) == (tx_row, tx_col):
                continue
            if math.hypot(row - tx_row, col - tx_col) * pixel_m > radius_m:
                continue
            if math.isnan(ground_m[row, col]):
                continue
            px = owner_ray_pixels(tx_row, tx_col, pixel_m, radius_m, row, col)
            rc = np.array(px)
            d_km = np.hypot(rc[:, 0] - tx_row, rc[:, 1] - tx_col) * pixel_m / 1000.0
            surf, grnd = filled_profile(surface_m[rc[:, 0], rc[:, 1]], ground_m[rc[:, 0], rc[:, 1]])
            out[row, col] = twin_path_loss_db(d_km, surf, grnd, hts,
                                              float(ground_m[row, col]) + h_rx_agl_m, freq_ghz,
                                              ae_km, pol, omega_frac)
    return out.astype(np.float32)
