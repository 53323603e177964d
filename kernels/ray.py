"""One ray: the P.1812-8 loss from the transmitter to every sample of a ray, in one pass.

:func:`ray_core` is the per-ray work of the area kernel (:mod:`c2000cov.kernels.area`)
and of :func:`ray_loss_db`, its 1-D entry point. Its inputs are grouped in namedtuples
(:class:`RaySamples`, :class:`RayPhysics`, :class:`LossTables`, :class:`RayScratch`)
rather than passed one by one; Numba compiles them as plain structs, so the grouping
costs nothing. The method (hulls, running maxima, prefix sums, tables) is described in
``docs/kernels.md``.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from .constants import (
    CURVATURE_M_KM,
    LBFS_CONST_DB,
    M_PER_KM,
    MHZ_PER_GHZ,
    NU_FLOOR,
    POL_VERTICAL,
    SPH_TAB_MIN_H_M,
    SPH_TAB_RELIEF_FACTOR,
    SPH_TAB_RELIEF_MARGIN_M,
)
from .diffraction import fmax, wavelength_p1812_m
from .hulls import hull_max_above_line, hull_push, hull_tangent_from_right, los_argmax, nu_los
from .jit import inline_kernel, kernel, noref_kernel
from .smooth import smooth_bullington_point
from .tables import lbull_db, lbull_tables, ldsph_db, make_sph_tables

#: The samples of one ray: distances from the transmitter (km, ``x_km[0] == 0``), surface
#: and ground heights amsl (m, NaN = no data), whether the pixel of each sample needs a
#: result (``need``, bool), and the number of samples ``n`` (the arrays may be longer).
RaySamples = namedtuple("RaySamples", ["x_km", "surf_m", "grnd_m", "need", "n"])

#: The physics of a call, the same for every ray: transmitter antenna height amsl (m),
#: receiver height above ground (m), effective Earth radius ap (km), sea fraction,
#: polarisation code, and per frequency (arrays of n_freq) the frequency (GHz), the
#: wavelength (m) and the free-space constant 92.4 + 20 log10(f) (dB).
RayPhysics = namedtuple("RayPhysics", ["hts_m", "h_rx_agl_m", "ap_km", "omega_frac", "pol",
                                       "freqs_ghz", "lams_m", "fs_consts_db"])

#: The tables of a call (:mod:`c2000cov.kernels.tables`): J(nu) and E(nu) for Lbull, the
#: Ldsph tables (n_freq, n_u, n_t, n_r, 2) and their grid origin (3,).
LossTables = namedtuple("LossTables", ["jt", "et", "sph_tabs", "sph_org"])

#: Scratch space of one ray (each at least n long): the upper hull of the curved surface
#: (x km, curved height m, sample index), the upper hull of the uncurved ground, the
#: curved height of every sample, each sample's hull predecessor and the branch-and-bound
#: stack of the line-of-sight search (sample index, bound).
RayScratch = namedtuple("RayScratch", ["hull_x_km", "hull_y_m", "hull_idx", "ground_x_km",
                                       "ground_y_m", "ground_idx", "curved_y_m", "pred",
                                       "stack", "stack_bound"])


@inline_kernel
def ray_physics(hts_m, h_rx_agl_m, ap_km, omega_frac, pol, freqs_ghz, lams_m, fs_consts_db):
    """A :class:`RayPhysics` with every scalar cast to float64 (``pol`` to int64).

    One member type per field, whatever the caller passes (float32 heights, an omitted
    default): :func:`ray_core` then has one signature. Numba's on-disk cache mixes up
    compilations of a function for namedtuples that differ only in a member's type (a
    float32 and a float64 ``hts_m`` crashed on the next load), so that must not happen.
    Casting float32 to float64 is exact, and the arithmetic promoted to float64 anyway.
    """
    return RayPhysics(float(hts_m), float(h_rx_agl_m), float(ap_km), float(omega_frac),
                      int(pol), freqs_ghz, lams_m, fs_consts_db)


@kernel
def new_scratch(n_max):
    """A :class:`RayScratch` for rays of up to ``n_max`` samples."""
    return RayScratch(np.empty(n_max, np.float64), np.empty(n_max, np.float64),
                      np.empty(n_max, np.int64), np.empty(n_max, np.float64),
                      np.empty(n_max, np.float64), np.empty(n_max, np.int64),
                      np.empty(n_max, np.float64), np.empty(n_max, np.int64),
                      np.empty(n_max, np.int64), np.empty(n_max, np.float64))


@kernel
def freq_constants(freqs_mhz):
    """Per-frequency constants of a call: ``(freqs_ghz, lams_m, fs_consts_db)``, the
    frequency (GHz), the wavelength 0.2998 / f (m) and 92.4 + 20 log10(f) of eq. (8) (dB)."""
    nf = freqs_mhz.shape[0]
    freqs_ghz = np.empty(nf, np.float64)
    lams_m = np.empty(nf, np.float64)
    fs_consts_db = np.empty(nf, np.float64)
    for k in range(nf):
        freq_ghz = freqs_mhz[k] / MHZ_PER_GHZ
        freqs_ghz[k] = freq_ghz
        lams_m[k] = wavelength_p1812_m(freq_ghz)
        fs_consts_db[k] = LBFS_CONST_DB + 20.0 * math.log10(freq_ghz)
    return freqs_ghz, lams_m, fs_consts_db


@noref_kernel
def ray_core(ray, phys, tabs, scratch, loss_db):
    """Loss (dB) at every sample 1..n-1 of one ray with ``ray.need[i]`` set, into
    ``loss_db[k, i]`` for every frequency k.

    Parameters
    ----------
    ray : RaySamples
        The ray's samples; ``x_km[0] == 0`` is the transmitter and ``grnd_m[0]`` must be
        finite. Samples with NaN ground get NaN.
    phys : RayPhysics
        The call's antenna heights, Earth radius, ground and per-frequency constants
        (:func:`freq_constants`).
    tabs : LossTables
        The call's Lbull and Ldsph tables (``sph_tabs[k]`` for frequency k).
    scratch : RayScratch
        Work space for the two hulls, the curved heights and the nu search, at least
        ``ray.n`` long (:func:`new_scratch`); fully overwritten.
    loss_db : (n_freq, >= n) float64 array
        Output; only the samples with ``need[i]`` are written.

    Everything that depends only on the geometry (hulls, Stim/Srim, the Bullington points,
    the smooth surface, the line-of-sight test and the line-of-sight maximiser of nu,
    which is exact and the same at every frequency) is computed once per sample; per
    frequency only nu (its scale factor), the Lbull and Ldsph lookups and the free-space
    constant. Each frequency k goes through the operations a call with that frequency
    alone does, so its result is bit-identical whatever the other frequencies of the call;
    the line-of-sight search's floor follows the longest wavelength of the call, which
    changes how far it searches below nu = -0.78 (J = 0 there), never its answer above.
    """
    x_km = ray.x_km
    surf_m = ray.surf_m
    grnd_m = ray.grnd_m
    need = ray.need
    n = ray.n
    hts_m = phys.hts_m
    h_rx_agl_m = phys.h_rx_agl_m
    ap_km = phys.ap_km
    omega_frac = phys.omega_frac
    pol = phys.pol
    freqs_ghz = phys.freqs_ghz
    lams_m = phys.lams_m
    fs_consts_db = phys.fs_consts_db
    jt = tabs.jt
    et = tabs.et
    sph_tabs = tabs.sph_tabs
    sph_org = tabs.sph_org
    cx = scratch.hull_x_km
    cy = scratch.hull_y_m
    ci = scratch.hull_idx
    gx = scratch.ground_x_km
    gy = scratch.ground_y_m
    gi = scratch.ground_idx
    yall = scratch.curved_y_m
    pred = scratch.pred
    stack = scratch.stack
    sbound = scratch.stack_bound
    nf = freqs_ghz.shape[0]
    lam_max = lams_m[0]
    for k in range(1, nf):
        if lams_m[k] > lam_max:
            lam_max = lams_m[k]
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
    lhint = 0  # the line-of-sight maximiser of the previous receiver (0: none)
    shint = 1  # the same over the smooth (zero-height) profile
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
                        srim = hull_tangent_from_right(cx, cy, nc, d, hrs - c * d * d) - c * d
                        dbp = (hrs - hts_m + srim * d) / (stim + srim)
                        hbp = hts_m + stim * dbp - (hts_m * (d - dbp) + hrs * dbp) / d
                # ---- smooth surface for the diffraction model, eqs. (87)-(91)
                hst = (2.0 * v1 * d - v2) / (d * d)
                hsr = (v2 - v1 * d) / (d * d)
                slope = (hrs - hts_m) / d
                aobt = at_max - slope
                if ng > 0 and aobt > 0.0:
                    hobs = hull_max_above_line(gx, gy, ng, hts_m, slope)
                    aobr = hull_tangent_from_right(gx, gy, ng, d, hrs) + slope
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
                    hs_nu, xs_pt, shint = smooth_bullington_point(
                        x_km, i, d, hts_p, hrs_p, c, guess_step, shint
                    )
                # ---- line of sight: the point of largest nu, one search for every
                # frequency (its maximiser does not depend on lambda); keys below the
                # floor give nu <= -0.78, J = 0, at every frequency of the sweep
                jlos = 0
                los_slope = 0.0
                if los:
                    y_rx_c = hrs - c * d * d
                    jlos = los_argmax(cx, cy, ci, nc, pred, x_km, yall, d, hts_m, y_rx_c,
                                      -(NU_FLOOR * NU_FLOOR) * lam_max / (0.002 * d), stack,
                                      sbound, lhint)
                    lhint = jlos
                    los_slope = (y_rx_c - hts_m) / d
                dz_km = (hts_m - hrs) / M_PER_KM
                lfs_d_db = 10.0 * math.log10(d * d + dz_km * dz_km)
                # ---- per frequency: nu, Lbulla, Lbulls, Ldsph, eqs. (37)-(39), and eq. (8)
                for k in range(nf):
                    lam = lams_m[k]
                    nu = -np.inf
                    if los:
                        nu = nu_los(yall[jlos], x_km[jlos], d, hts_m, los_slope, lam)
                    elif nc > 0:
                        nu = hbp * math.sqrt(0.002 * d / (lam * dbp * (d - dbp)))
                    lbulla = lbull_db(nu, d, jt, et)
                    nus = -np.inf
                    if i >= 2:
                        nus = hs_nu * math.sqrt(0.002 * d / (lam * xs_pt * (d - xs_pt)))
                    lbulls = lbull_db(nus, d, jt, et)
                    ldsph = ldsph_db(d, hts_p, hrs_p, sph_tabs[k], sph_org[0], sph_org[1],
                                      sph_org[2], sqrt_2ap, ap_km, freqs_ghz[k], omega_frac, pol)
                    ld = lbulla + fmax(ldsph - lbulls, 0.0)
                    loss_db[k, i] = fs_consts_db[k] + lfs_d_db + ld
        # sample i becomes an intermediate point for the samples beyond it
        y = hs - c * xi * xi
        yall[i] = y
        nc = hull_push(cx, cy, ci, nc, xi, y, i)
        pred[i] = ci[nc - 2] if nc >= 2 else 0
        s = (y - hts_m) / xi
        if s > st_max:
            st_max = s
        ng = hull_push(gx, gy, gi, ng, xi, hg, i)
        s = (hg - hts_m) / xi
        if s > at_max:
            at_max = s
        hg_prev = hg
        x_prev = xi


@kernel
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
    scratch = new_scratch(n)
    freqs_mhz = np.empty(1, np.float64)
    freqs_mhz[0] = freq_mhz
    freqs_ghz, lams_m, fs_consts_db = freq_constants(freqs_mhz)
    jt, et = lbull_tables()
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
    sph_tabs, sph_org = make_sph_tables(x[1], x[n - 1], h_tx_agl, h_tx_agl + relief, h_rx_agl,
                                         h_rx_agl + relief, ae_km, freqs_ghz, omega_frac, pol)
    phys = ray_physics(h_tx_amsl_m, h_rx_agl_m, ae_km, omega_frac, pol, freqs_ghz, lams_m,
                      fs_consts_db)
    ray_core(RaySamples(x, s, g, need, n), phys, LossTables(jt, et, sph_tabs, sph_org), scratch,
             loss)
    for i in range(1, n):
        res[i] = loss[0, i]
    return res
