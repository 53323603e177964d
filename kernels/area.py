"""Area propagation kernel: ITU-R P.1812-8 basic transmission loss from one mast to every pixel.

For one transmitter the kernel computes, for every pixel within a radius, the
basic transmission loss of ITU-R P.1812-8 at p = 50 % for a path with no
troposcatter or anomalous propagation:

    Lb = Lbfs + Ld50                                             (eqs. 8, 8a and 4.3.4)

- Lbfs = 92.4 + 20 log10(f_GHz) + 20 log10(dfs), eq. (8), with the 3-D distance
  dfs = sqrt(d^2 + ((hts - hrs) / 1000)^2) km of eq. (8a) and d the horizontal
  (great-circle) distance;
- Ld50 the delta-Bullington diffraction loss of section 4.3.4, eqs. (37)-(39),
  with ap = ae (the median effective Earth radius, argument ``ae_km``):
  Ld = Lbulla + max(Ldsph - Lbulls, 0). The knife-edge function J(nu) and the
  spherical-Earth loss Ldsph are those of :mod:`c2000cov.kernels.diffraction`,
  so the point-to-point and the area results share one implementation.

Profile seen by a pixel
-----------------------
Inputs are a window of a surface raster (terrain + buildings, m amsl) and a
ground raster (terrain, m amsl), float32, NaN = no data, with the mast at pixel
``(tx_row, tx_col)`` (pixel centre). Rays go from the mast pixel to every cell
on the perimeter of the square of half-width ``R = floor(radius_m / pixel_m)``
pixels (8 R rays). A ray to perimeter cell at minor offset ``e`` (|e| <= R)
along major axis offset ``s R`` visits, at step ``k = 0..R`` along its major
axis, the pixel with minor offset ``m_k = floor(k e / R + 1/2)`` (one sample
per pixel along the major axis). A pixel at major offset ``k`` and minor offset
``m`` (major axis = the axis with the larger absolute offset; columns on the
diagonal) is *owned* by the ray with ``e = floor(m R / k + 1/2)``: that ray
passes through it, and it is the only ray that writes it, so rays can run in
parallel without races and the result does not depend on the thread count.

The path profile of a pixel is the owner ray's samples ``0..i`` up to it:

- distances: the true pixel-centre distances ``d_j = pixel_m sqrt(k_j^2 +
  m_j^2)`` (km), so free-space loss uses the exact pixel distance;
- the intermediate points ``1..i-1`` use the surface height (buildings
  included); the two terminals use the ground height: the transmitter antenna
  is at ``hts = ground[tx] + h_tx_agl_m`` and the receiver at
  ``hrs = ground[pixel] + h_rx_agl_m``, so a receiver is never inside its own
  building (an outdoor receiver next to it);
- P.1812 derives the smooth-Earth surface (eqs. 85-91) from terrain heights
  without clutter: here it is the ground profile ``ground[0..i]``;
- no data on the ray: a NaN surface sample takes the (filled) ground height of
  the same sample; a NaN ground sample takes the previous filled ground height
  along the ray. A pixel with NaN ground gets NaN (no data), as do pixels with
  a centre farther than ``radius_m`` and, when the mast pixel's ground is NaN,
  the whole window.
- the mast pixel itself gets free-space loss at a horizontal distance of half a
  pixel (``MIN_DIST_PIXELS`` = 0.5) and no diffraction loss.

Method: about O(n log n) per ray instead of O(n^2)
-------------------------------------------------
The Bullington quantities of a pixel at distance d are maxima over the
intermediate points. With ``c = 500 / ap`` (m/km^2) and the Earth-curvature
corrected heights ``g_j = h_j - c d_j^2`` (a parabola through the
transmitter), the height of point j above the chord of the curved Earth is
``h_j + c d_j (d - d_j) = g_j + c d d_j``, so (eqs. 13-19):

- Stim = c d + max_j (g_j - hts) / d_j, where the maximum is a running maximum
  along the ray (exact);
- Srim = max_j (g_j - g_rx) / (d - d_j) - c d with ``g_rx = hrs - c d^2``: the
  tangent from the receiver point to the upper convex hull of the points
  ``(d_j, g_j)``. The hull is built incrementally (monotone chain, amortised
  O(1) per sample) and the tangent found by binary search (O(log n)); exact.
  The Bullington point and nu_b then follow exactly;
- line-of-sight case, nu_max = max_j H_j sqrt(0.002 d / (lambda d_j (d - d_j))),
  H_j the clearance under the Tx-Rx line: not a linear function of the points,
  so a hull vertex is not always the maximiser (a point under a long hull edge
  can be closer to the ray in Fresnel terms). The hull is kept as a tree of
  nested hulls (each sample remembers the hull vertex before it when it was
  added; the samples under an edge (p, q) have as upper hull the chain from
  q - 1 back to p). nu is unimodal along a concave chain below the line, so the
  best top-level vertex is a binary search; every edge bounds the nu of the
  points under it (the maximum of the linear clearance over sqrt(x (d - x)),
  closed form), and edges are expanded branch-and-bound, best bound first,
  skipping those that cannot beat the best nu found by more than ``NU_TOL`` =
  0.002 (or -0.78, below which J = 0); the previous receiver's maximiser seeds
  the best nu. Typical cost: a few tens of nodes per line-of-sight pixel (mean
  44 on 25 km rays of the benchmark terrain), worst case O(n). Error: nu
  within NU_TOL, so Luc within 8.7 * NU_TOL = 0.017 dB and Lbull (eq. 21,
  slope <= 1 + (10 + 0.02 d) / 6) within 0.05 dB;
- smooth surface (eqs. 85-88): v1 and v2 are prefix sums along the ray
  (summed in the same order as the point-to-point code, so hst and hsr are
  identical); hobs, alpha_obt, alpha_obr (eqs. 89-90) use the uncurved ground
  profile: alpha_obt is a running maximum, hobs (maximum height above the
  Tx-Rx line) and alpha_obr (tangent from the receiver) binary searches on a
  second incrementally built upper hull, of the points ``(d_j, ground_j)``.
  They are only needed when alpha_obt > 0 (hobs > 0 exactly then);
- Lbulls (Bullington over a zero-height profile with the effective antenna
  heights): the slopes ``c (d - x) - hts'/x`` and ``c x - hrs'/(d - x)`` are
  concave in x, so the discrete maxima are at the two samples around the
  continuous optimum ``sqrt(hts'/c)``, ``d - sqrt(hrs'/c)``; the line-of-sight
  nu_max over the zero profile is unimodal (every point is a hull vertex) and
  found by a galloping search from the previous receiver's maximiser, then
  bisection (O(log n)). Exact;
- Ldsph (section 4.3.2-4.3.3) is O(1) per pixel, from a table (below).

Tables (approximations)
-----------------------
Two per-call tables replace the transcendental functions of the per-pixel work;
they depend only on the frequency, ap, omega and polarisation of the call, and
are filled the same way whatever the thread count:

- Lbull(nu, d) = J(nu) + E(nu) (10 + 0.02 d), E = 1 - exp(-J/6) (eqs. 12, 21),
  for Lbulla and Lbulls: J and E tabulated at a step of 1/256 in nu on
  [-0.78, 16] and interpolated linearly; error at most 6.7e-5 dB for
  d <= 100 km (``LBULL_TAB_ERR_DB``; second-derivative bound), exact above 16.
- Ldsph in the smooth-path line-of-sight case (d < dlos, eq. 22), which is
  nearly every pixel of a C2000 coverage area: Ldsph = (1 - r) Ldft(aem) for
  r = hse / hreq < 1 (eqs. 23-27). r and Ldft(aem) (eqs. 26, 28-36) are smooth
  functions of (d, hte, hre), tabulated on a grid uniform in a piecewise-linear
  log2 of each (steps 1/16 in d, 1/8 in the heights: 3-6 % apart in d, 6-13 %
  in the heights), over d from one pixel to the radius, hte from the mast height
  and hre from the receiver height to 1.5 times the window's ground relief plus
  10 m above them; trilinear interpolation, then the clipping of eqs. (25) and
  (27), so the kink where the smooth path clears (r = 1) is exact. The table
  costs about 40 ms of one core for a 25 km radius. Error against the exact
  function: at most 0.033 dB on 2 million random (d, hte, hre) for masts of
  3-100 m, 99.9 % within 0.02 dB (tests/kernels/test_area.py asserts 0.05 dB).
  Outside the table, and for d >= dlos, the exact function.

With these and the nu search tolerance, against the O(n) twin (the same
profiles through :func:`c2000cov.kernels.diffraction.delta_bullington_db`) the
float32 results differ by at most 0.013 dB on the benchmark terrain
(median 0.0014 dB, 30 % identical) and 0.009 dB on the random terrains of
tests/kernels/test_area.py.

Several frequencies in one sweep
--------------------------------
:func:`area_loss_multi_db` computes any number of frequencies (C2000: downlink
392.5 MHz and uplink 382.5 MHz) in one sweep, and :func:`area_loss_db` is that
function with one frequency, so ``area_loss_multi_db(..., freqs_mhz)[k]`` is
bit-identical to ``area_loss_db(..., freqs_mhz[k])`` whatever the other
frequencies. Done once per sample, because no frequency enters it: the rays and
their ownership, both hulls, Stim, Srim, the Bullington point and its height
above the Tx-Rx line (nu = that height times sqrt(0.002 d / (lambda dbp
(d - dbp))), the square root evaluated per frequency exactly as before), the
smooth-surface sums and hst, hsr, hobs, alpha_obt/obr, the smooth-path
Bullington point (its searches compare nu without lambda), the line-of-sight
test and 10 log10(dfs^2). Per frequency: the scale factor of nu, J/Lbull and
Ldsph (one table per frequency, on a common grid; each node computed on its own,
so a stacked table equals the stand-alone one), and 92.4 + 20 log10 f.

The line-of-sight nu search over the actual profile runs per frequency, with its
own hint. Its maximiser is the same for every frequency (lambda is a common
positive factor of nu), but the search is approximate: it prunes with the
absolute tolerance NU_TOL and the floor -0.78, both in nu, that is in units that
scale with sqrt(1 / lambda), so the point it returns (and the hint it passes on)
can differ between frequencies. One search at a reference frequency would give
every frequency's nu within its own tolerance only if run at the shortest
wavelength with the floor of the longest, and its results would then differ
(within the tolerance) from a single-frequency call, so both bit-identity with
:func:`area_loss_db` and the results of earlier versions would be lost. The
search is about half of the time of a single-frequency sweep; sharing the rest
saves about 20 % for two frequencies.

Mechanisms of P.1812-8 left out
-------------------------------
The kernel returns Lbd50 = Lbfs + Ld50 (eq. 42) only. It leaves out
troposcatter Lbs (eq. 44), ducting/layer reflection Lba (eq. 46) and their
combination with the diffraction loss (eqs. 59-63), the multipath/focusing
correction Esp of Lb0p for p < 50 % (eq. 10), location variability, and the
terminal clutter and building entry losses (handled elsewhere in c2000cov).
Measured with the point-to-point module on the ITU-R SG3 validation cases and on
synthetic C2000 paths (390 MHz, p = 50 %, Tx 30-60 m, Rx 1.5 m, 1-30 km): ducting
changes Lb by 0 dB on every such path; troposcatter by at most 0.0006 dB up to 15 km
and 0.085 dB at 30 km on bare terrain, and by 0 dB when buildings are part of the
height profile, as here (the horizon angles then include them). On the two
validation paths under 30 km (1 km at 95 MHz) the difference is 0.0000 dB at
p = 50 %. The combination with them is therefore within 0.1 dB of Lbfs + Ld50.
Time percentage: p = 50 % only (ap = ae).

All kernels are ``@njit(cache=True, error_model="numpy")``; ``area_loss_multi_db`` is
``parallel=True`` with ``prange`` over chunks of rays (``RAY_CHUNKS``). Row-major
rays read transposed copies of the two rasters (8 bytes per window pixel) so
that every ray walks along memory rows. Inputs are never modified; results go
to a new array or to ``out=``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .diffraction import (
    first_term_diffraction_db,
    fresnel_j_db,
    smooth_path_clearance_m,
    sph_earth_diffraction_db,
    wavelength_p1812_m,
)

ITU_REC = "ITU-R P.1812-8"

# Free-space constant of P.1812-8 eq. (8): Lbfs = 92.4 + 20 log f(GHz) + 20 log d(km).
LBFS_CONST_DB = 92.4

# Curvature term 500 Ce di (d - di) of eq. (13): 500 m per km^2 times 1/ap.
CURVATURE_M_KM = 500.0

# J(nu) is zero at and below this nu (P.1812-8 eq. 12); used to prune the nu search.
NU_FLOOR = -0.78

# Tolerance of the line-of-sight nu search: sub-trees that cannot beat the best nu
# found by more than this are skipped. |dJ/dnu| <= 20 / ln(10) = 8.7 dB, so the
# error in J is at most 8.7 * NU_TOL dB.
NU_TOL = 0.002

# Horizontal distance used for the mast's own pixel, in pixels.
MIN_DIST_PIXELS = 0.5

# Polarisation codes of c2000cov.kernels.diffraction (TETRA uses vertical).
POL_HORIZONTAL = 1
POL_VERTICAL = 2

M_PER_KM = 1000.0

# Rays are split into this many chunks for the threads; each chunk allocates its
# scratch buffers once. Results do not depend on it.
RAY_CHUNKS = 256


# ------------------------------------------------------------------- tables
#
# Lbull(nu, d) = J(nu) + (1 - exp(-J(nu) / 6)) (10 + 0.02 d) (eqs. 12, 21) is J(nu) plus
# E(nu) (10 + 0.02 d), J and E functions of nu alone, tabulated per call at
# LBULL_TAB_STEP_NU on [NU_FLOOR, LBULL_TAB_MAX_NU] and interpolated linearly. With
# |J''| <= 3.34 and |E''| <= 2.65 the error is at most h^2 / 8 (3.34 + 2.65 (10 + 0.02 d)),
# 6.7e-5 dB for d <= 100 km (LBULL_TAB_ERR_DB); the exact formula above the range.
LBULL_TAB_STEP_NU = 1.0 / 256.0
LBULL_TAB_ERR_DB = 6.7e-5
LBULL_TAB_MAX_NU = 16.0

# Ldsph (eqs. 22-27) in the smooth-path line-of-sight case d < dlos is
# (1 - hse / hreq) Ldft(aem), clipped at 0: the ratio r = hse / hreq and Ldft(aem) are
# smooth functions of (d, hte, hre), tabulated per call on a grid uniform in sqrt(d)
# and in a piecewise-linear log2 of each height (:func:`_plog2`), interpolated
# trilinearly; the clipping is applied after the interpolation, so the kink where the
# path clears (r = 1) is exact. Outside the grid, and for d >= dlos, the exact function.
SPH_TAB_STEP_PLOG2_D = 1.0 / 16.0
SPH_TAB_STEP_PLOG2 = 1.0 / 8.0
SPH_TAB_MAX_NODES = 256
# Heights above the window's ground relief the table covers (hts' <= h_tx_agl + relief
# usually; higher ones take the exact function).
SPH_TAB_RELIEF_FACTOR = 1.5
SPH_TAB_RELIEF_MARGIN_M = 10.0
# Smallest height the table covers (m); lower effective heights take the exact function.
SPH_TAB_MIN_H_M = 0.5


@njit(cache=True, error_model="numpy", inline="always")
def _plog2(h):
    """Piecewise-linear log2 of h > 0: e + (m - 1) with h = 2^e m, 1 <= m < 2 (monotone)."""
    m, e = math.frexp(h)  # h = m 2^e, 0.5 <= m < 1
    return e - 2.0 + 2.0 * m


@njit(cache=True, error_model="numpy", inline="always")
def _plog2_inv(t):
    """Inverse of :func:`_plog2`."""
    e = math.floor(t)
    return math.ldexp(1.0 + (t - e), int(e))


@njit(cache=True, error_model="numpy")
def _lbull_tables():
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


@njit(cache=True, error_model="numpy", inline="always")
def _lbull_db(nu, d, jt, et):
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


@njit(cache=True, error_model="numpy")
def _sph_clearance_ratio(dtot_km, hte_m, hre_m, ap_km, lam_m):
    """hse / hreq of P.1812-8 eqs. (23)-(25) (:func:`smooth_path_clearance_m`)."""
    hse, hreq = smooth_path_clearance_m(dtot_km, hte_m, hre_m, ap_km, lam_m)
    return hse / hreq


@njit(cache=True, parallel=True, error_model="numpy")
def _sph_fill(tab, u0, t0, r0, ap_km, freq_ghz, omega_frac, pol):
    """Fill ``tab`` (nu_, nt, nr, 2) with (r, Ldft(aem)) at plog2(d) = u0 + i du,
    plog2(hte) = t0 + j dt, plog2(hre) = r0 + k dt. Every node is computed on its own, so
    a table is the same whether it stands alone or is one frequency of a stack."""
    nu_, nt, nr, _ = tab.shape
    lam = wavelength_p1812_m(freq_ghz)
    for i in prange(nu_):
        d = _plog2_inv(u0 + i * SPH_TAB_STEP_PLOG2_D)
        for j in range(nt):
            hte = _plog2_inv(t0 + j * SPH_TAB_STEP_PLOG2)
            for k in range(nr):
                hre = _plog2_inv(r0 + k * SPH_TAB_STEP_PLOG2)
                r = _sph_clearance_ratio(d, hte, hre, ap_km, lam)
                aem = 500.0 * (d / (math.sqrt(hte) + math.sqrt(hre))) ** 2  # eq. (26)
                tab[i, j, k, 0] = r
                tab[i, j, k, 1] = first_term_diffraction_db(d, hte, hre, aem, freq_ghz,
                                                            omega_frac, pol)
    return tab


@njit(cache=True, error_model="numpy")
def _sph_grid(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m, hre_hi_m):
    """Nodes of the Ldsph table covering plog2(d) in [plog2(d_min), plog2(d_max)] and the two
    height ranges (at most SPH_TAB_MAX_NODES per axis): ``(n_u, n_t, n_r, origin)`` with
    ``origin = (u0, t0, r0)``. Independent of the frequency."""
    # origins on the grid, so that the powers of two (kinks of plog2) are nodes
    u0 = math.floor(_plog2(d_min_km) / SPH_TAB_STEP_PLOG2_D) * SPH_TAB_STEP_PLOG2_D
    n_u = int(math.ceil((_plog2(d_max_km) - u0) / SPH_TAB_STEP_PLOG2_D)) + 2
    t0 = math.floor(_plog2(hte_lo_m) / SPH_TAB_STEP_PLOG2) * SPH_TAB_STEP_PLOG2
    n_t = int(math.ceil((_plog2(hte_hi_m) - t0) / SPH_TAB_STEP_PLOG2)) + 2
    r0 = math.floor(_plog2(hre_lo_m) / SPH_TAB_STEP_PLOG2) * SPH_TAB_STEP_PLOG2
    n_r = int(math.ceil((_plog2(hre_hi_m) - r0) / SPH_TAB_STEP_PLOG2)) + 2
    n_u = min(max(n_u, 2), SPH_TAB_MAX_NODES)
    n_t = min(max(n_t, 2), SPH_TAB_MAX_NODES)
    n_r = min(max(n_r, 2), SPH_TAB_MAX_NODES)
    origin = np.empty(3, np.float64)
    origin[0] = u0
    origin[1] = t0
    origin[2] = r0
    return n_u, n_t, n_r, origin


@njit(cache=True, error_model="numpy")
def _make_sph_table(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m, hre_hi_m, ap_km, freq_ghz,
                    omega_frac, pol):
    """Ldsph table of one frequency (see :func:`_sph_grid`, :func:`_sph_fill`); returns
    ``(tab, origin)``."""
    n_u, n_t, n_r, origin = _sph_grid(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m,
                                      hre_hi_m)
    tab = np.empty((n_u, n_t, n_r, 2), np.float64)
    _sph_fill(tab, origin[0], origin[1], origin[2], ap_km, freq_ghz, omega_frac, pol)
    return tab, origin


@njit(cache=True, error_model="numpy")
def _make_sph_tables(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m, hre_hi_m, ap_km,
                     freqs_ghz, omega_frac, pol):
    """Ldsph tables of several frequencies on one grid: ``(tabs, origin)``, ``tabs[k]``
    identical to the table :func:`_make_sph_table` builds for ``freqs_ghz[k]``."""
    n_u, n_t, n_r, origin = _sph_grid(d_min_km, d_max_km, hte_lo_m, hte_hi_m, hre_lo_m,
                                      hre_hi_m)
    tabs = np.empty((freqs_ghz.shape[0], n_u, n_t, n_r, 2), np.float64)
    for k in range(freqs_ghz.shape[0]):
        _sph_fill(tabs[k], origin[0], origin[1], origin[2], ap_km, freqs_ghz[k], omega_frac,
                  pol)
    return tabs, origin


@njit(cache=True, error_model="numpy", inline="always")
def _ldsph_db(d, hte, hre, tab, u0, t0, r0, sqrt_2ap, ap_km, freq_ghz, omega_frac, pol):
    """Ldsph of eqs. (22)-(27) from a table of :func:`_sph_fill` (exact fallback)."""
    dlos = sqrt_2ap * (math.sqrt(0.001 * hte) + math.sqrt(0.001 * hre))  # eq. (22)
    fu = (_plog2(d) - u0) * (1.0 / SPH_TAB_STEP_PLOG2_D)
    ft = (_plog2(hte) - t0) * (1.0 / SPH_TAB_STEP_PLOG2)
    fr = (_plog2(hre) - r0) * (1.0 / SPH_TAB_STEP_PLOG2)
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


# --------------------------------------------------------------------------- hulls


@njit(cache=True, error_model="numpy", inline="always")
def _hull_push(hx, hy, hi, size, x, y, idx):
    """Append point (x, y) with sample index idx, x larger than all hull x, to an upper
    convex hull; returns the new size. The vertex before it is ``hi[size - 2]``."""
    while size >= 2:
        x0 = hx[size - 2]
        y0 = hy[size - 2]
        # pop the last vertex if it is on or below the segment from vertex size-2 to (x, y)
        if (hx[size - 1] - x0) * (y - y0) - (hy[size - 1] - y0) * (x - x0) >= 0.0:
            size -= 1
        else:
            break
    hx[size] = x
    hy[size] = y
    hi[size] = idx
    return size + 1


@njit(cache=True, error_model="numpy", inline="always")
def _hull_tangent_from_right(hx, hy, size, xr, yr):
    """max_k (hy_k - yr) / (xr - hx_k) over the hull, xr > every hx (binary search)."""
    lo = 0
    hi = size - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        # f(mid + 1) >= f(mid), both denominators positive
        if (hy[mid + 1] - yr) * (xr - hx[mid]) >= (hy[mid] - yr) * (xr - hx[mid + 1]):
            lo = mid + 1
        else:
            hi = mid
    return (hy[lo] - yr) / (xr - hx[lo])


@njit(cache=True, error_model="numpy", inline="always")
def _hull_max_above_line(hx, hy, size, y0, slope):
    """max_k hy_k - (y0 + slope hx_k) over the hull (binary search on edge slopes)."""
    lo = 0
    hi = size - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if hy[mid + 1] - hy[mid] >= slope * (hx[mid + 1] - hx[mid]):
            lo = mid + 1
        else:
            hi = mid
    return hy[lo] - (y0 + slope * hx[lo])


@njit(cache=True, error_model="numpy", inline="always")
def _nu_los(y, x, d, y_tx, slope, lam_m):
    """Diffraction parameter of eq. (15) for curved height y at distance x (km)."""
    return (y - (y_tx + slope * x)) * math.sqrt(0.002 * d / (lam_m * x * (d - x)))


@njit(cache=True, error_model="numpy", inline="always")
def _nu_ge(ha, xa, hb, xb, d):
    """nu(a) >= nu(b) (eq. 15) for heights ha, hb above the Tx-Rx line at distances
    xa, xb (km): compares ha / sqrt(xa (d - xa)) with hb / sqrt(xb (d - xb)) without roots."""
    if ha >= 0.0:
        if hb < 0.0:
            return True
        return ha * ha * (xb * (d - xb)) >= hb * hb * (xa * (d - xa))
    if hb >= 0.0:
        return False
    return ha * ha * (xb * (d - xb)) <= hb * hb * (xa * (d - xa))


@njit(cache=True, error_model="numpy", inline="always")
def _edge_bound(xp, hp, fp, xq, hq, fq, d, kf):
    """Upper bound of nu for points on or below the hull edge p-q (eq. 15).

    ``hp, hq``: heights of the vertices above the Tx-Rx line (negative in
    line-of-sight), ``fp, fq`` their nu. Along the edge the height above the
    line is linear, a + b x, and nu(x) = (a + b x) sqrt(kf / (x (d - x))) is
    largest at x = a d / (b d + 2 a) (clamped to the edge).
    """
    b = (hq - hp) / (xq - xp)
    a = hp - b * xp
    best = fp if fp > fq else fq
    den = b * d + 2.0 * a
    if den != 0.0:
        xs = a * d / den
        if xp < xs < xq:
            v = (a + b * xs) * math.sqrt(kf / (xs * (d - xs)))
            if v > best:
                best = v
    return best


@njit(cache=True, error_model="numpy")
def _los_numax(cx, cy, ci, nc, pred, x_km, y_m, d, y_tx, y_rx, lam_m, stack, sbound, hint):
    """Exact max over all intermediate points of nu (eq. 15), line-of-sight case.

    ``cx, cy, ci``: upper hull (x, curved height, sample index) of the points
    ``(x_km[j], y_m[j])``, j = 1..i-1; ``pred[j]``: the hull vertex before j when
    j was added (0 for the first point). The samples under a hull edge (p, q)
    are the samples p+1..q-1; their own upper hull is the chain q-1, pred[q-1],
    ... back to p: a tree of nested hulls.

    Along a concave chain lying below the Tx-Rx line, nu is unimodal (the
    clearance is convex and positive, sqrt(x (d - x)) concave), so the best
    top-level vertex is found by binary search. A point below an edge has a nu
    no larger than the edge's maximum (:func:`_edge_bound`), so edges are
    expanded branch-and-bound: outwards from the peak on the top level (edge
    bounds decrease there), then into nested chains, highest bound first, skipping
    every edge whose bound does not beat the best nu found (or -0.78, below which
    J(nu) = 0 anyway). ``hint`` (a sample index, 0 for none), typically the
    best point of the previous receiver on the ray, seeds the best nu so that
    pruning starts tight.

    Returns ``(nu, j)``: the maximum nu, within ``NU_TOL`` (a value <= -0.78
    when the true maximum is <= -0.78), and the sample where it was found.
    """
    slope = (y_rx - y_tx) / d
    kf = 0.002 * d / lam_m
    lo = 0
    hi = nc - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        xa = cx[mid + 1]
        xb = cx[mid]
        if _nu_ge(cy[mid + 1] - (y_tx + slope * xa), xa, cy[mid] - (y_tx + slope * xb), xb, d):
            lo = mid + 1
        else:
            hi = mid
    best = _nu_los(cy[lo], cx[lo], d, y_tx, slope, lam_m)
    jbest = ci[lo]
    if hint > 0:
        v = _nu_los(y_m[hint], x_km[hint], d, y_tx, slope, lam_m)
        if v > best:
            best = v
            jbest = hint
    thr = best + NU_TOL if best + NU_TOL > NU_FLOOR else NU_FLOOR
    nst = 0
    # top level, left of the peak
    xq = cx[lo]
    hq = cy[lo] - (y_tx + slope * xq)
    fq = best
    k = lo
    while k > 0:
        xp = cx[k - 1]
        hp = cy[k - 1] - (y_tx + slope * xp)
        fp = hp * math.sqrt(kf / (xp * (d - xp)))
        bnd = _edge_bound(xp, hp, fp, xq, hq, fq, d, kf)
        if bnd <= thr:
            break
        if ci[k] - ci[k - 1] > 1:
            stack[nst] = ci[k]
            sbound[nst] = bnd
            nst += 1
        xq = xp
        hq = hp
        fq = fp
        k -= 1
    # top level, right of the peak
    xp = cx[lo]
    hp = cy[lo] - (y_tx + slope * xp)
    fp = best
    k = lo
    while k < nc - 1:
        xq = cx[k + 1]
        hq = cy[k + 1] - (y_tx + slope * xq)
        fq = hq * math.sqrt(kf / (xq * (d - xq)))
        bnd = _edge_bound(xp, hp, fp, xq, hq, fq, d, kf)
        if bnd <= thr:
            break
        if ci[k + 1] - ci[k] > 1:
            stack[nst] = ci[k + 1]
            sbound[nst] = bnd
            nst += 1
        xp = xq
        hp = hq
        fp = fq
        k += 1
    # nested chains under the candidate edges
    while nst > 0:
        # best first: expand the pending edge with the highest bound
        kb = 0
        for kk in range(1, nst):
            if sbound[kk] > sbound[kb]:
                kb = kk
        if sbound[kb] <= thr:
            break  # nothing pending can beat the best found
        q = stack[kb]
        nst -= 1
        stack[kb] = stack[nst]
        sbound[kb] = sbound[nst]
        p = pred[q]
        xp = x_km[p]
        hp = y_m[p] - (y_tx + slope * xp)
        fp = hp * math.sqrt(kf / (xp * (d - xp)))
        # walk the chain q-1 -> pred -> ... -> p: each vertex is a point, each edge
        # (pred[v], v) a nested sub-tree
        v = q - 1
        xv = x_km[v]
        hv = y_m[v] - (y_tx + slope * xv)
        fv = hv * math.sqrt(kf / (xv * (d - xv)))
        while v != p:
            if fv > best:
                best = fv
                jbest = v
                if best + NU_TOL > thr:
                    thr = best + NU_TOL
            u = pred[v]
            if u == p:
                xu = xp
                hu = hp
                fu = fp
            else:
                xu = x_km[u]
                hu = y_m[u] - (y_tx + slope * xu)
                fu = hu * math.sqrt(kf / (xu * (d - xu)))
            if v - u > 1:
                bnd = _edge_bound(xu, hu, fu, xv, hv, fv, d, kf)
                if bnd > thr:
                    stack[nst] = v
                    sbound[nst] = bnd
                    nst += 1
            if fu <= fv and fu <= thr:
                # nu is unimodal along the chain: left of its peak every further edge is
                # bounded by its right vertex, here at most fu
                break
            v = u
            xv = xu
            hv = hu
            fv = fu
    return best, jbest


# ------------------------------------------------------------------- smooth path


@njit(cache=True, error_model="numpy", inline="always")
def _bracket(x_km, i_max, guess_step, t):
    """Largest j in [1, i_max] with x_km[j] <= t (1 if none)."""
    j = int(t / guess_step) if t > 0.0 else 1
    if j < 1:
        j = 1
    elif j > i_max:
        j = i_max
    while j < i_max and x_km[j + 1] <= t:
        j += 1
    while j > 1 and x_km[j] > t:
        j -= 1
    return j


@njit(cache=True, error_model="numpy", inline="always")
def _smooth_rises(x_km, j, i_max, d, c, hts_p, slope):
    """nu(j + 1) >= nu(j) over the zero-height profile (False at j = i_max)."""
    if j >= i_max:
        return False
    xa = x_km[j]
    xb = x_km[j + 1]
    # height above the Tx-Rx line of the zero profile: c x (d - x) - line
    ha = c * xa * (d - xa) - (hts_p + slope * xa)
    hb = c * xb * (d - xb) - (hts_p + slope * xb)
    return _nu_ge(hb, xb, ha, xa, d)


@njit(cache=True, error_model="numpy")
def _smooth_bullington_point(x_km, i, d, hts_p, hrs_p, c, guess_step, hint):
    """Bullington point (eqs. 13-19) of the zero-height profile x_km[0..i] with antenna
    heights hts_p, hrs_p above it, in O(log i): Lbulls of eq. (37) is Lbull of eq. (21) for it.

    Returns ``(h_m, x_pt_km, hint)``: the diffraction parameter at wavelength lam is
    ``nu = h_m * sqrt(0.002 d / (lam x_pt (d - x_pt)))`` (eqs. 15, 19), where ``x_pt`` is the
    line-of-sight maximiser of nu or the Bullington point ``dbp``. No comparison involves
    lam (:func:`_nu_ge` compares nu without it), so the point is the same for every
    frequency. ``hint``: the sample of the line-of-sight maximum for the previous receiver
    (a search start only); the new one is returned (unchanged when the path is not
    line-of-sight). Needs i >= 2 (at least one intermediate point).
    """
    jhint = hint
    i_max = i - 1
    # Stim: max_j (c x (d - x) - hts') / x, concave in x; optimum at sqrt(hts'/c).
    t = math.sqrt(hts_p / c) if hts_p > 0.0 else 0.0
    j = _bracket(x_km, i_max, guess_step, t)
    xj = x_km[j]
    stim = (c * xj * (d - xj) - hts_p) / xj
    if j < i_max:
        xj = x_km[j + 1]
        s = (c * xj * (d - xj) - hts_p) / xj
        if s > stim:
            stim = s
    str_ = (hrs_p - hts_p) / d
    if stim < str_:
        # line of sight: nu over the zero profile is unimodal in j; find the first j
        # where it stops rising, galloping from the previous receiver's answer
        slope = (hrs_p - hts_p) / d
        h = hint if hint > 1 else 1
        if h > i_max:
            h = i_max
        if _smooth_rises(x_km, h, i_max, d, c, hts_p, slope):
            lo = h + 1  # the peak is in [lo, hi]
            step = 1
            hi = i_max
            while lo < i_max:
                probe = lo + step - 1
                if probe >= i_max:
                    break
                if _smooth_rises(x_km, probe, i_max, d, c, hts_p, slope):
                    lo = probe + 1
                    step *= 2
                else:
                    hi = probe
                    break
        else:
            hi = h  # the peak is in [lo, hi]
            step = 1
            lo = 1
            while hi > 1:
                probe = hi - step
                if probe < 1:
                    break
                if _smooth_rises(x_km, probe, i_max, d, c, hts_p, slope):
                    lo = probe + 1
                    break
                hi = probe
                step *= 2
        while lo < hi:
            mid = (lo + hi) >> 1
            if _smooth_rises(x_km, mid, i_max, d, c, hts_p, slope):
                lo = mid + 1
            else:
                hi = mid
        jhint = lo
        xj = x_km[lo]
        h_nu = c * xj * (d - xj) - (hts_p * (d - xj) + hrs_p * xj) / d
        x_pt = xj
    else:
        # Srim: max_j (c x (d - x) - hrs') / (d - x), concave; optimum at d - sqrt(hrs'/c)
        t = d - math.sqrt(hrs_p / c) if hrs_p > 0.0 else d
        j = _bracket(x_km, i_max, guess_step, t)
        xj = x_km[j]
        srim = (c * xj * (d - xj) - hrs_p) / (d - xj)
        if j < i_max:
            xj = x_km[j + 1]
            s = (c * xj * (d - xj) - hrs_p) / (d - xj)
            if s > srim:
                srim = s
        dbp = (hrs_p - hts_p + srim * d) / (stim + srim)
        h_nu = hts_p + stim * dbp - (hts_p * (d - dbp) + hrs_p * dbp) / d
        x_pt = dbp
    return h_nu, x_pt, jhint


# ---------------------------------------------------------------------- one ray


@njit(cache=True, error_model="numpy")
def _freq_constants(freqs_mhz):
    """Per-frequency constants of a call: ``(freqs_ghz, lams_m, fs_consts_db)``, the
    frequency (GHz), the wavelength 0.2998 / f (m) and 92.4 + 20 log10(f) of eq. (8) (dB)."""
    nf = freqs_mhz.shape[0]
    freqs_ghz = np.empty(nf, np.float64)
    lams_m = np.empty(nf, np.float64)
    fs_consts_db = np.empty(nf, np.float64)
    for k in range(nf):
        freq_ghz = freqs_mhz[k] / 1000.0
        freqs_ghz[k] = freq_ghz
        lams_m[k] = wavelength_p1812_m(freq_ghz)
        fs_consts_db[k] = LBFS_CONST_DB + 20.0 * math.log10(freq_ghz)
    return freqs_ghz, lams_m, fs_consts_db


@njit(cache=True, error_model="numpy")
def _ray_core(
    x_km,
    surf_m,
    grnd_m,
    n,
    hts_m,
    h_rx_agl_m,
    freqs_ghz,
    lams_m,
    fs_consts_db,
    ap_km,
    omega_frac,
    pol,
    need,
    loss_db,
    work,
    iwork,
    jhints,
    jt,
    et,
    sph_tabs,
    sph_org,
):
    """Loss (dB) at every sample 1..n-1 of one ray with ``need[i]`` set, into
    ``loss_db[k, i]`` for every frequency k.

    ``x_km[0] == 0`` is the transmitter; ``grnd_m[0]`` must be finite. ``freqs_ghz``,
    ``lams_m``, ``fs_consts_db``: per-frequency constants of :func:`_freq_constants`;
    ``sph_tabs[k]`` the Ldsph table of frequency k. ``work`` (6, >= n) float64, ``iwork``
    (4, >= n) and ``jhints`` (n_freq,) int64 are scratch space for the two hulls, the
    curved heights and the nu search. Samples with NaN ground get NaN.

    Everything that depends only on the geometry (hulls, Stim/Srim, the Bullington points,
    the smooth surface, the line-of-sight test) is computed once per sample; per frequency
    only nu (its scale factor), the line-of-sight nu search of the actual profile (its
    tolerance is in nu, so it runs per frequency, with its own hint), the Lbull and Ldsph
    lookups and the free-space constant. Each frequency k goes through exactly the
    operations a call with that frequency alone does, so its result is bit-identical
    whatever the other frequencies of the call.
    """
    nf = freqs_ghz.shape[0]
    cx = work[0]
    cy = work[1]
    gx = work[2]
    gy = work[3]
    yall = work[4]
    sbound = work[5]
    ci = iwork[0]
    gi = iwork[1]
    pred = iwork[2]
    stack = iwork[3]
    c = CURVATURE_M_KM / ap_km
    sqrt_2ap = math.sqrt(2.0 * ap_km)
    guess_step = x_km[n - 1] / (n - 1) if n > 1 else 1.0
    hg0 = grnd_m[0]
    nc = 0  # curved surface hull size
    ng = 0  # uncurved ground hull size
    st_max = -np.inf  # max_j (g_j - hts) / x_j, curved surface
    at_max = -np.inf  # max_j (ground_j - hts) / x_j, uncurved ground
    v1 = 0.0
    v2 = 0.0
    hg_prev = hg0
    x_prev = 0.0
    for k in range(nf):
        jhints[k] = 0  # best line-of-sight point of the previous receiver, per frequency
    shint = 1  # the same over the smooth (zero-height) profile (no frequency in it)
    for i in range(1, n):
        xi = x_km[i]
        graw = grnd_m[i]
        sraw = surf_m[i]
        hg = graw if not math.isnan(graw) else hg_prev
        hs = sraw if not math.isnan(sraw) else hg
        # smooth-surface sums eqs. (85)-(86), same order as the point-to-point code
        dd = xi - x_prev
        v1 += dd * (hg + hg_prev)
        v2 += dd * (hg * (2.0 * xi + x_prev) + hg_prev * (xi + 2.0 * x_prev))
        if need[i]:
            if math.isnan(graw):
                for k in range(nf):
                    loss_db[k, i] = np.nan
            else:
                d = xi
                hrs = graw + h_rx_agl_m
                # ---- Bullington over the actual profile, Lbulla: the geometry
                los = False
                hbp = 0.0
                dbp = 0.0
                if nc > 0:
                    stim = st_max + c * d
                    str_ = (hrs - hts_m) / d
                    if stim < str_:
                        los = True
                    else:
                        srim = _hull_tangent_from_right(cx, cy, nc, d, hrs - c * d * d) - c * d
                        dbp = (hrs - hts_m + srim * d) / (stim + srim)
                        hbp = hts_m + stim * dbp - (hts_m * (d - dbp) + hrs * dbp) / d
                # ---- smooth surface for the diffraction model, eqs. (87)-(91)
                hst = (2.0 * v1 * d - v2) / (d * d)
                hsr = (v2 - v1 * d) / (d * d)
                slope = (hrs - hts_m) / d
                aobt = at_max - slope
                if ng > 0 and aobt > 0.0:
                    hobs = _hull_max_above_line(gx, gy, ng, hts_m, slope)
                    aobr = _hull_tangent_from_right(gx, gy, ng, d, hrs) + slope
                    hstp = hst - hobs * (aobt / (aobt + aobr))
                    hsrp = hsr - hobs * (aobr / (aobt + aobr))
                else:
                    hstp = hst
                    hsrp = hsr
                hstd = hg0 if hstp > hg0 else hstp
                hsrd = graw if hsrp > graw else hsrp
                hts_p = hts_m - hstd
                hrs_p = hrs - hsrd
                # ---- smooth-path Bullington point, eq. (37)
                hs_nu = -np.inf
                xs_pt = 0.0
                if i >= 2:
                    hs_nu, xs_pt, shint = _smooth_bullington_point(
                        x_km, i, d, hts_p, hrs_p, c, guess_step, shint
                    )
                dz_km = (hts_m - hrs) / M_PER_KM
                lfs_d_db = 10.0 * math.log10(d * d + dz_km * dz_km)
                # ---- per frequency: nu, Lbulla, Lbulls, Ldsph, eqs. (37)-(39), and eq. (8)
                for k in range(nf):
                    lam = lams_m[k]
                    nu = -np.inf
                    if los:
                        nu, jh = _los_numax(
                            cx, cy, ci, nc, pred, x_km, yall, d, hts_m, hrs - c * d * d, lam,
                            stack, sbound, jhints[k],
                        )
                        jhints[k] = jh
                    elif nc > 0:
                        nu = hbp * math.sqrt(0.002 * d / (lam * dbp * (d - dbp)))
                    lbulla = _lbull_db(nu, d, jt, et)
                    nus = -np.inf
                    if i >= 2:
                        nus = hs_nu * math.sqrt(0.002 * d / (lam * xs_pt * (d - xs_pt)))
                    lbulls = _lbull_db(nus, d, jt, et)
                    ldsph = _ldsph_db(d, hts_p, hrs_p, sph_tabs[k], sph_org[0], sph_org[1],
                                      sph_org[2], sqrt_2ap, ap_km, freqs_ghz[k], omega_frac, pol)
                    ld = lbulla + max(ldsph - lbulls, 0.0)
                    loss_db[k, i] = fs_consts_db[k] + lfs_d_db + ld
        # sample i becomes an intermediate point for the samples beyond it
        y = hs - c * xi * xi
        yall[i] = y
        nc = _hull_push(cx, cy, ci, nc, xi, y, i)
        pred[i] = ci[nc - 2] if nc >= 2 else 0
        s = (y - hts_m) / xi
        if s > st_max:
            st_max = s
        ng = _hull_push(gx, gy, gi, ng, xi, hg, i)
        s = (hg - hts_m) / xi
        if s > at_max:
            at_max = s
        hg_prev = hg
        x_prev = xi


@njit(cache=True, error_model="numpy")
def ray_loss_db(
    d_km,
    h_m,
    h_tx_amsl_m,
    h_rx_agl_m,
    ground_m,
    freq_mhz,
    ae_km,
    pol=POL_VERTICAL,
    omega_frac=0.0,
    out=None,
):
    """P.1812-8 basic transmission loss (p = 50 %) from sample 0 to every later sample of a ray.

    Parameters
    ----------
    d_km : (n,) float64 array
        Distances from the transmitter (km), ``d_km[0] == 0``, strictly increasing.
    h_m : (n,) float array
        Surface heights amsl (terrain + buildings, m) used as intermediate
        profile points. NaN: replaced by the ground height of that sample.
    h_tx_amsl_m : float
        Transmitter antenna height amsl (m).
    h_rx_agl_m : float
        Receiver antenna height above ground (m), > 0.
    ground_m : (n,) float array
        Ground (terrain) heights amsl (m). The receiver at sample i is at
        ``ground_m[i] + h_rx_agl_m``; the profile for sample i is
        ``ground_m[0], h_m[1..i-1], ground_m[i]`` and the smooth-Earth surface is
        fitted to ``ground_m[0..i]``. NaN: no data (NaN result there; as an
        intermediate point it takes the previous ground height).
    freq_mhz : float
        Frequency (MHz).
    ae_km : float
        Median effective Earth radius (km), used as ap (p = 50 %).
    pol : int, optional
        1 horizontal, 2 vertical (default).
    omega_frac : float, optional
        Fraction of the path over sea, 0 (default) to 1.
    out : (n,) float64 array, optional
        Output array; a new one is allocated if None.

    Returns
    -------
    (n,) float64 array
        Basic transmission loss Lbfs + Ld50 (dB); ``out[0]`` is NaN (no path);
        NaN everywhere if ``ground_m[0]`` is NaN.
    """
    n = d_km.shape[0]
    if out is None:
        res = np.empty(n, np.float64)
    else:
        res = out
    if n == 0:
        return res
    res[0] = np.nan
    if n < 2:
        return res
    if math.isnan(ground_m[0]):
        res[:] = np.nan
        return res
    x = np.empty(n, np.float64)
    s = np.empty(n, np.float64)
    g = np.empty(n, np.float64)
    for i in range(n):
        x[i] = d_km[i]
        s[i] = h_m[i]
        g[i] = ground_m[i]
    need = np.ones(n, np.bool_)
    loss = np.empty((1, n), np.float64)
    work = np.empty((6, n), np.float64)
    iwork = np.empty((4, n), np.int64)
    jhints = np.empty(1, np.int64)
    freqs_mhz = np.empty(1, np.float64)
    freqs_mhz[0] = freq_mhz
    freqs_ghz, lams_m, fs_consts_db = _freq_constants(freqs_mhz)
    jt, et = _lbull_tables()
    g_lo = np.inf
    g_hi = -np.inf
    for i in range(n):
        if g[i] < g_lo:
            g_lo = g[i]
        if g[i] > g_hi:
            g_hi = g[i]
    relief = SPH_TAB_RELIEF_FACTOR * (g_hi - g_lo) + SPH_TAB_RELIEF_MARGIN_M
    h_tx_agl = max(h_tx_amsl_m - g[0], SPH_TAB_MIN_H_M)
    h_rx_agl = max(h_rx_agl_m, SPH_TAB_MIN_H_M)
    sph_tabs, sph_org = _make_sph_tables(x[1], x[n - 1], h_tx_agl, h_tx_agl + relief, h_rx_agl,
                                         h_rx_agl + relief, ae_km, freqs_ghz, omega_frac, pol)
    _ray_core(x, s, g, n, h_tx_amsl_m, h_rx_agl_m, freqs_ghz, lams_m, fs_consts_db, ae_km,
              omega_frac, pol, need, loss, work, iwork, jhints, jt, et, sph_tabs, sph_org)
    for i in range(1, n):
        res[i] = loss[0, i]
    return res


# ------------------------------------------------------------------------- area


@njit(cache=True, parallel=True, error_model="numpy")
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
):
    """P.1812-8 basic transmission loss (p = 50 %) from one mast to every pixel in a radius,
    at several frequencies in one sweep.

    The rays, ownership, hulls, Stim/Srim, Bullington points, smooth surface and
    line-of-sight tests depend only on the geometry and are computed once; per frequency
    only the physics (nu scale, line-of-sight nu search, Lbull and Ldsph lookups, free-space
    constant). ``out[k]`` is bit-identical to ``area_loss_db(..., freqs_mhz[k], ...)``,
    whatever the other frequencies (that function is this one with a single frequency).

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
    hts = g_tx + h_tx_agl_m
    freqs_ghz, lams_m, fs_consts_db = _freq_constants(freqs_mhz)
    # the mast pixel: free space at half a pixel, no diffraction
    d0_km = MIN_DIST_PIXELS * pixel_m / M_PER_KM
    dz_km = h_tx_agl_m - h_rx_agl_m
    dz_km /= M_PER_KM
    lfs0_db = 10.0 * math.log10(d0_km * d0_km + dz_km * dz_km)
    for k in range(nf):
        res[k, tx_row, tx_col] = fs_consts_db[k] + lfs0_db
    rr = int(math.floor(radius_m / pixel_m))
    if rr < 1:
        return res
    # Row-major rays read a transposed copy so that every ray walks along memory rows.
    surf_t = np.empty((ncol, nrow), np.float32)
    grnd_t = np.empty((ncol, nrow), np.float32)
    for cc in prange(ncol):
        for r in range(nrow):
            surf_t[cc, r] = surface_m[r, cc]
            grnd_t[cc, r] = ground_m[r, cc]
    jt, et = _lbull_tables()
    g_lo, g_hi = _nan_min_max(ground_m)
    relief = SPH_TAB_RELIEF_FACTOR * (g_hi - g_lo) + SPH_TAB_RELIEF_MARGIN_M
    h_tx_agl = max(h_tx_agl_m, SPH_TAB_MIN_H_M)
    h_rx_agl = max(h_rx_agl_m, SPH_TAB_MIN_H_M)
    sph_tabs, sph_org = _make_sph_tables(pixel_m / M_PER_KM, radius_m / M_PER_KM, h_tx_agl,
                                         h_tx_agl + relief, h_rx_agl, h_rx_agl + relief, ae_km,
                                         freqs_ghz, omega_frac, pol)
    n_cm = 2 * rr + 1  # column-major rays per side
    n_rm = 2 * rr - 1  # row-major rays per side (corners belong to column-major)
    nrays = 2 * n_cm + 2 * n_rm
    n_chunks = min(nrays, RAY_CHUNKS)
    for chunk in prange(n_chunks):
        n_max = rr + 1
        x = np.empty(n_max, np.float64)
        sv = np.empty(n_max, np.float64)
        gv = np.empty(n_max, np.float64)
        need = np.zeros(n_max, np.bool_)
        rows = np.empty(n_max, np.int64)
        cols = np.empty(n_max, np.int64)
        loss = np.empty((nf, n_max), np.float64)
        work = np.empty((6, n_max), np.float64)
        iwork = np.empty((4, n_max), np.int64)
        jhints = np.empty(nf, np.int64)
        r_begin = chunk * nrays // n_chunks
        r_end = (chunk + 1) * nrays // n_chunks
        for ray in range(r_begin, r_end):
            if ray < 2 * n_cm:
                col_major = True
                sign = 1 if ray < n_cm else -1
                e = ray % n_cm - rr
            else:
                q = ray - 2 * n_cm
                col_major = False
                sign = 1 if q < n_rm else -1
                e = q % n_rm - (rr - 1)
            n = _trace_ray(surface_m, ground_m, surf_t, grnd_t, tx_row, tx_col, col_major, sign,
                           e, rr, pixel_m, radius_m, g_tx, x, sv, gv, need, rows, cols)
            if n < 2:
                continue
            _ray_core(x, sv, gv, n, hts, h_rx_agl_m, freqs_ghz, lams_m, fs_consts_db, ae_km,
                      omega_frac, pol, need, loss, work, iwork, jhints, jt, et, sph_tabs,
                      sph_org)
            for j in range(1, n):
                if need[j]:
                    for k in range(nf):
                        res[k, rows[j], cols[j]] = loss[k, j]
    return res


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, parallel=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
def _trace_ray(surface_m, ground_m, surf_t, grnd_t, tx_row, tx_col, col_major, sign, e, rr,
               pixel_m, radius_m, g_tx, x, sv, gv, need, rows, cols):
    """Samples of one ray (distances km, surface, ground, ownership, pixel indices).

    Returns the number of samples, trimmed after the last pixel the ray owns
    (0 if it owns none). Column-major rays read ``surface_m``; row-major rays
    read the transposed copies, with the roles of rows and columns swapped.
    """
    if col_major:
        s_arr = surface_m
        g_arr = ground_m
        a0 = tx_row  # minor axis origin
        b0 = tx_col  # major axis origin
    else:
        s_arr = surf_t
        g_arr = grnd_t
        a0 = tx_col
        b0 = tx_row
    n_minor, n_major = s_arr.shape
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
        rem += 2 * e
        if rem >= two_r:
            rem -= two_r
            m += 1
        elif rem < 0:
            rem += two_r
            m -= 1
        a = a0 + m
        b = b0 + sign * k
        if a < 0 or a >= n_minor or b < 0 or b >= n_major:
            break
        dist_m = pixel_m * math.sqrt(float(k * k + m * m))
        if dist_m > radius_m:
            break
        x[n] = dist_m / M_PER_KM
        sv[n] = s_arr[a, b]
        gv[n] = g_arr[a, b]
        # owner: e == floor(m R / k + 1/2)  <=>  (2e - 1) k <= 2 m R < (2e + 1) k
        owned = (2 * e - 1) * k <= 2 * m * rr and 2 * m * rr < (2 * e + 1) * k
        if not col_major and (m == k or m == -k):
            owned = False  # diagonal pixels belong to the column-major rays
        need[n] = owned
        if col_major:
            rows[n] = a
            cols[n] = b
        else:
            rows[n] = b
            cols[n] = a
        if owned:
            last_owned = n
        n += 1
    return last_owned + 1 if last_owned > 0 else 0
