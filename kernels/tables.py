"""Per-call tables that replace the transcendental functions of the per-pixel work.

Two tables, filled the same way whatever the thread count (see ``docs/kernels.md``,
"Tables"):

- Lbull(nu, d) of ITU-R P.1812-8 eqs. (12), (21): J(nu) and E(nu) = 1 - exp(-J/6) at a
  step of 1/256 in nu on [-0.78, 16], interpolated linearly; error at most
  ``LBULL_TAB_ERR_DB`` for d <= 100 km, the exact formula above the range;
- Ldsph of eqs. (22)-(27) in the smooth-path line-of-sight case: the clearance ratio
  r = hse / hreq and Ldft(aem) on a grid uniform in a piecewise-linear log2 of
  (d, hte, hre), interpolated trilinearly, the clipping of eqs. (25), (27) applied
  afterwards; the exact function outside the grid and for d >= dlos.

Only :func:`sph_fill_missing` and the table builders allocate or run in parallel; the lookups
:func:`lbull_db` and :func:`ldsph_db` are scalar functions of their arguments.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .constants import (
    LBULL_TAB_MAX_NU,
    LBULL_TAB_STEP_NU,
    NU_FLOOR,
    SPH_TAB_MAX_NODES,
    SPH_TAB_STEP_PLOG2,
    SPH_TAB_STEP_PLOG2_D,
)
from .diffraction import (
    first_term_diffraction_db,
    fresnel_j_db,
    smooth_path_clearance_m,
    sph_earth_diffraction_db,
    wavelength_p1812_m,
)
from .jit import inline_kernel, kernel, parallel_kernel


@inline_kernel
def plog2(h):
    """Piecewise-linear log2 of h > 0: e + (m - 1) with h = 2^e m, 1 <= m < 2 (monotone)."""
    m, e = math.frexp(h)  # h = m 2^e, 0.5 <= m < 1
    return e - 2.0 + 2.0 * m


@inline_kernel
def plog2_inv(t):
    """Inverse of :func:`plog2`."""
    e = math.floor(t)
    return math.ldexp(1.0 + (t - e), int(e))


@kernel
def lbull_tables():
    """J(nu) and 1 - exp(-J(nu) / 6) at nu = NU_FLOOR + k LBULL_TAB_STEP_NU."""
    n = int((LBULL_TAB_MAX_NU - NU_FLOOR) / LBULL_TAB_STEP_NU) + 2
    jt = np.empty(n, np.float64)
    et = np.empty(n, np.float64)
    for k in range(n):
        nu = NU_FLOOR + k * LBULL_TAB_STEP_NU
        x = nu - 0.1
        j = 6.9 + 20.0 * math.log10(math.sqrt(x * x + 1.0) + x)  # eq. (12), nu >= -0.78
        jt[k] = j
        et[k] = 1.0 - math.exp(-j / 6.0)
    return jt, et


@inline_kernel
def lbull_db(nu, d, jt, et):
    """Bullington loss of eq. (21) from the diffraction parameter nu (eqs. 12, 21),
    d the path length (km): table interpolation (see LBULL_TAB_STEP_NU)."""
    if not nu > NU_FLOOR:
        return 0.0
    f = (nu - NU_FLOOR) * (1.0 / LBULL_TAB_STEP_NU)
    if not f < jt.shape[0] - 1:
        luc = fresnel_j_db(nu)
        return luc + (1.0 - math.exp(-luc / 6.0)) * (10.0 + 0.02 * d)
    k = int(f)
    t = f - k
    luc = jt[k] + t * (jt[k + 1] - jt[k])
    e = et[k] + t * (et[k + 1] - et[k])
    return luc + e * (10.0 + 0.02 * d)


@kernel
def sph_clearance_ratio(dtot_km, hte_m, hre_m, ap_km, lam_m):
    """hse / hreq of P.1812-8 eqs. (23)-(25) (:func:`smooth_path_clearance_m`)."""
    hse, hreq = smooth_path_clearance_m(dtot_km, hte_m, hre_m, ap_km, lam_m)
    return hse / hreq


@parallel_kernel
def sph_fill_missing(tab, u0, t0, r0, ap_km, freq_ghz, omega_frac, pol, done):
    """Fill ``tab`` (nu_, nt, nr, 2) with (r, Ldft(aem)) at plog2(d) = u0 + i du,
    plog2(hte) = t0 + j dt, plog2(hre) = r0 + k dt, except the nodes (i, j, k) with
    ``done[j, k]`` set (left as they are). Every node is computed on its own, so a node's
    value depends only on its (d, hte, hre) and the physics, not on the table around it: a
    table is the same whether it stands alone, is one frequency of a stack, or is cut out
    of a larger table on the same grid (``c2000cov.radio.sph_store``)."""
    nu_, nt, nr, _ = tab.shape
    lam = wavelength_p1812_m(freq_ghz)
    for i in prange(nu_):
        d = plog2_inv(u0 + i * SPH_TAB_STEP_PLOG2_D)
        for j in range(nt):
            hte = plog2_inv(t0 + j * SPH_TAB_STEP_PLOG2)
            for k in range(nr):
                if done[j, k]:
                    continue
                hre = plog2_inv(r0 + k * SPH_TAB_STEP_PLOG2)
                r = sph_clearance_ratio(d, hte, hre, ap_km, lam)
                aem = 500.0 * (d / (math.sqrt(hte) + math.sqrt(hre))) ** 2  # eq. (26)
                tab[i, j, k, 0] = r
                tab[i, j, k, 1] = first_term_diffraction_db(d, hte, hre, aem, freq_ghz,
                                                            omega_frac, pol)
    return tab


@kernel
def sph_fill(tab, u0, t0, r0, ap_km, freq_ghz, omega_frac, pol):
    """Fill every node of ``tab`` (nu_, nt, nr, 2) (:func:`sph_fill_missing` with none done)."""
    done = np.zeros((tab.shape[1], tab.shape[2]), np.bool_)
    return sph_fill_missing(tab, u0, t0, r0, ap_km, freq_ghz, omega_frac, pol, done)


@kernel
def sph_grid(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m, hre_hi_m):
    """Nodes of the Ldsph table covering plog2(d) in [plog2(d_min), plog2(d_max)] and the two
    height ranges (at most SPH_TAB_MAX_NODES per axis): ``(n_u, n_t, n_r, origin)`` with
    ``origin = (u0, t0, r0)``. Independent of the frequency."""
    # origins on the grid, so that the powers of two (kinks of plog2) are nodes
    u0 = math.floor(plog2(d_min_km) / SPH_TAB_STEP_PLOG2_D) * SPH_TAB_STEP_PLOG2_D
    n_u = int(math.ceil((plog2(d_max_km) - u0) / SPH_TAB_STEP_PLOG2_D)) + 2
    t0 = math.floor(plog2(hte_lo_m) / SPH_TAB_STEP_PLOG2) * SPH_TAB_STEP_PLOG2
    n_t = int(math.ceil((plog2(hte_hi_m) - t0) / SPH_TAB_STEP_PLOG2)) + 2
    r0 = math.floor(plog2(hre_lo_m) / SPH_TAB_STEP_PLOG2) * SPH_TAB_STEP_PLOG2
    n_r = int(math.ceil((plog2(hre_hi_m) - r0) / SPH_TAB_STEP_PLOG2)) + 2
    n_u = min(max(n_u, 2), SPH_TAB_MAX_NODES)
    n_t = min(max(n_t, 2), SPH_TAB_MAX_NODES)
    n_r = min(max(n_r, 2), SPH_TAB_MAX_NODES)
    origin = np.empty(3, np.float64)
    origin[0] = u0
    origin[1] = t0
    origin[2] = r0
    return n_u, n_t, n_r, origin


@kernel
def make_sph_table(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m, hre_hi_m, ap_km, freq_ghz,
                    omega_frac, pol):
    """Ldsph table of one frequency (see :func:`sph_grid`, :func:`sph_fill`); returns
    ``(tab, origin)``."""
    n_u, n_t, n_r, origin = sph_grid(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m,
                                      hre_hi_m)
    tab = np.empty((n_u, n_t, n_r, 2), np.float64)
    sph_fill(tab, origin[0], origin[1], origin[2], ap_km, freq_ghz, omega_frac, pol)
    return tab, origin


@kernel
def make_sph_tables(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m, hre_hi_m, ap_km,
                     freqs_ghz, omega_frac, pol):
    """Ldsph tables of several frequencies on one grid: ``(tabs, origin)``, ``tabs[k]``
    identical to the table :func:`make_sph_table` builds for ``freqs_ghz[k]``."""
    n_u, n_t, n_r, origin = sph_grid(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m,
                                      hre_hi_m)
    tabs = np.empty((freqs_ghz.shape[0], n_u, n_t, n_r, 2), np.float64)
    for k in range(freqs_ghz.shape[0]):
        sph_fill(tabs[k], origin[0], origin[1], origin[2], ap_km, freqs_ghz[k], omega_frac,
                  pol)
    return tabs, origin


@inline_kernel
def ldsph_db(d, hte, hre, tab, u0, t0, r0, sqrt_2ap, ap_km, freq_ghz, omega_frac, pol):
    """Ldsph of eqs. (22)-(27) from a table of :func:`sph_fill` (exact fallback)."""
    dlos = sqrt_2ap * (math.sqrt(0.001 * hte) + math.sqrt(0.001 * hre))  # eq. (22)
    fu = (plog2(d) - u0) * (1.0 / SPH_TAB_STEP_PLOG2_D)
    ft = (plog2(hte) - t0) * (1.0 / SPH_TAB_STEP_PLOG2)
    fr = (plog2(hre) - r0) * (1.0 / SPH_TAB_STEP_PLOG2)
    nu_, nt, nr, _ = tab.shape
    if not (d < dlos and 0.0 <= fu < nu_ - 1 and 0.0 <= ft < nt - 1 and 0.0 <= fr < nr - 1):
        return sph_earth_diffraction_db(d, hte, hre, ap_km, freq_ghz, omega_frac, pol)
    i = int(fu)
    j = int(ft)
    k = int(fr)
    x = fu - i
    y = ft - j
    z = fr - k
    r = 0.0
    ld = 0.0
    for q in range(2):
        a00 = tab[i, j, k, q] + x * (tab[i + 1, j, k, q] - tab[i, j, k, q])
        a01 = tab[i, j, k + 1, q] + x * (tab[i + 1, j, k + 1, q] - tab[i, j, k + 1, q])
        a10 = tab[i, j + 1, k, q] + x * (tab[i + 1, j + 1, k, q] - tab[i, j + 1, k, q])
        a11 = tab[i, j + 1, k + 1, q] + x * (tab[i + 1, j + 1, k + 1, q] - tab[i, j + 1, k + 1, q])
        b0 = a00 + y * (a10 - a00)
        b1 = a01 + y * (a11 - a01)
        v = b0 + z * (b1 - b0)
        if q == 0:
            r = v
        else:
            ld = v
    if r >= 1.0 or ld <= 0.0:
        return 0.0  # eq. (25): clear path; eq. (27): Ldft < 0 gives 0
    return (1.0 - r) * ld  # eq. (27)
