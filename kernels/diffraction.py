"""Delta-Bullington diffraction core of ITU-R P.1812-8 (section 4.3), as Numba kernels.

The same method is section 4.2 of ITU-R P.452 and section 4.5 of ITU-R P.526.
All functions are scalar kernels (:data:`c2000cov.kernels.jit.kernel`) over 1-D profiles:

- ``d_km``: distances of the profile points from the transmitter (km), ascending,
  first point at the transmitter and last point at the receiver;
- ``h_m``: heights above mean sea level of the same points (m), as used for
  diffraction (terrain, or terrain plus representative clutter at the
  intermediate points, P.1812-8 section 3.2);
- ``hts_m`` / ``hrs_m``: transmitter / receiver antenna heights above mean sea
  level (m);
- ``ap_km``: effective Earth radius (km); ``ce_km_inv = 1 / ap_km``;
- ``freq_ghz``: frequency (GHz); ``lambda_m``: wavelength (m).

Equation numbers are those of ITU-R P.1812-8 Annex 1 as labelled in the ITU-R
SG3 validation logs. The kernels never raise and never modify their inputs;
degenerate input (fewer than two points, zero path length) gives NaN.
"""

from __future__ import annotations

import math

import numpy as np

from .constants import (
    CURVATURE_M_KM,
    LAND_EPS_R,
    LAND_SIGMA_S_M,
    NU_FLOOR,
    P1812_SPEED_OF_LIGHT_M_GHZ,
    POL_VERTICAL,
    SEA_EPS_R,
    SEA_SIGMA_S_M,
)
from .jit import kernel


@kernel
def fmax(a, b):
    """``max(a, b)`` exactly as Python and Numba's CPU target compute it (``b if b > a else
    a``), for code that numba.cuda also compiles: its ``max`` builtin fails there."""
    return b if b > a else a


@kernel
def fmin(a, b):
    """``min(a, b)`` exactly as Python and Numba's CPU target compute it (``b if b < a else
    a``), for code that numba.cuda also compiles."""
    return b if b < a else a


@kernel
def wavelength_p1812_m(freq_ghz):
    """Wavelength (m) as P.1812 computes it: 0.2998 / f (f in GHz)."""
    return P1812_SPEED_OF_LIGHT_M_GHZ / freq_ghz


@kernel
def fresnel_j_db(nu):
    """Single knife-edge diffraction loss J(nu) in dB, P.1812-8 eq. (12).

    Parameters
    ----------
    nu : float
        Dimensionless Fresnel-Kirchhoff diffraction parameter.

    Returns
    -------
    float
        J(nu) = 6.9 + 20 log10(sqrt((nu - 0.1)^2 + 1) + nu - 0.1) dB for
        nu > -0.78, otherwise 0 dB.
    """
    if not nu > NU_FLOOR:
        return 0.0
    x = nu - 0.1
    return 6.9 + 20.0 * math.log10(math.sqrt(x * x + 1.0) + x)


@kernel
def bullington_db(d_km, h_m, hts_m, hrs_m, ce_km_inv, lambda_m):
    """Bullington diffraction loss Lbull (dB), P.1812-8 section 4.3.1, eqs. (12)-(21).

    Parameters
    ----------
    d_km : (n,) float array
        Profile distances from the transmitter (km), ascending.
    h_m : (n,) float array
        Profile heights amsl used for diffraction (m). Only the intermediate
        points 1..n-2 enter the calculation.
    hts_m, hrs_m : float
        Transmitter / receiver antenna heights amsl (m).
    ce_km_inv : float
        Effective Earth curvature 1/ap (1/km).
    lambda_m : float
        Wavelength (m).

    Returns
    -------
    float
        Lbull = Luc + (1 - exp(-Luc/6)) (10 + 0.02 d) (dB), eq. (21); NaN for
        fewer than two points, zero path length or a NaN height.
    """
    n = d_km.shape[0]
    if n < 2:
        return np.nan
    d0 = d_km[0]
    dtot = d_km[n - 1] - d0
    if not dtot > 0.0:
        return np.nan
    # Highest slope from the transmitter to an intermediate point, eq. (13).
    stim = -np.inf
    for i in range(1, n - 1):
        if math.isnan(h_m[i]):
            return np.nan  # no data along the path: no answer
        di = d_km[i] - d0
        if di <= 0.0 or di >= dtot:
            continue
        s = (h_m[i] + CURVATURE_M_KM * ce_km_inv * di * (dtot - di) - hts_m) / di
        if s > stim:
            stim = s
    # Slope of the direct Tx-Rx line, eq. (14).
    str_ = (hrs_m - hts_m) / dtot
    if stim < str_:
        # Case 1, line of sight: highest diffraction parameter, eqs. (15)-(16).
        numax = -np.inf
        for i in range(1, n - 1):
            di = d_km[i] - d0
            if di <= 0.0 or di >= dtot:
                continue
            nu = (
                h_m[i]
                + CURVATURE_M_KM * ce_km_inv * di * (dtot - di)
                - (hts_m * (dtot - di) + hrs_m * di) / dtot
            ) * math.sqrt(0.002 * dtot / (lambda_m * di * (dtot - di)))
            if nu > numax:
                numax = nu
        luc = fresnel_j_db(numax)
    else:
        # Case 2, trans-horizon: highest slope from the receiver, eq. (17).
        srim = -np.inf
        for i in range(1, n - 1):
            di = d_km[i] - d0
            if di <= 0.0 or di >= dtot:
                continue
            s = (h_m[i] + CURVATURE_M_KM * ce_km_inv * di * (dtot - di) - hrs_m) / (dtot - di)
            if s > srim:
                srim = s
        # Bullington point, eq. (18), and its diffraction parameter, eq. (19).
        dbp = (hrs_m - hts_m + srim * dtot) / (stim + srim)
        nub = (hts_m + stim * dbp - (hts_m * (dtot - dbp) + hrs_m * dbp) / dtot) * math.sqrt(
            0.002 * dtot / (lambda_m * dbp * (dtot - dbp))
        )
        luc = fresnel_j_db(nub)
    return luc + (1.0 - math.exp(-luc / 6.0)) * (10.0 + 0.02 * dtot)


@kernel
def smooth_surface_heights(d_km, h_m):
    """Least-squares smooth-Earth surface heights at Tx and Rx (m amsl).

    P.1812-8 Attachment 1, eqs. (85)-(88): a straight line fitted to the
    profile by least squares, evaluated at the two terminals.

    Parameters
    ----------
    d_km : (n,) float array
        Profile distances (km), ascending.
    h_m : (n,) float array
        Profile heights amsl (m); P.1812 uses terrain heights here.

    Returns
    -------
    tuple of float
        ``(hst_m, hsr_m)``: smooth-surface heights at the transmitter and the
        receiver (m amsl), before any correction. NaN for a degenerate profile.
    """
    n = d_km.shape[0]
    if n < 2:
        return np.nan, np.nan
    d0 = d_km[0]
    dtot = d_km[n - 1] - d0
    if not dtot > 0.0:
        return np.nan, np.nan
    v1 = 0.0
    v2 = 0.0
    for i in range(1, n):
        di = d_km[i] - d0
        dp = d_km[i - 1] - d0
        dd = di - dp
        v1 += dd * (h_m[i] + h_m[i - 1])
        v2 += dd * (h_m[i] * (2.0 * di + dp) + h_m[i - 1] * (di + 2.0 * dp))
    hst = (2.0 * v1 * dtot - v2) / (dtot * dtot)
    hsr = (v2 - v1 * dtot) / (dtot * dtot)
    return hst, hsr


@kernel
def diffraction_surface_heights(d_km, h_m, hts_m, hrs_m):
    """Smooth-surface heights for the diffraction model, hstd and hsrd (m amsl).

    P.1812-8 Attachment 1, eqs. (89)-(91): the least-squares surface of
    :func:`smooth_surface_heights` is lowered under the highest obstruction
    above the Tx-Rx ray (split between the ends by the obstruction angles)
    and limited to the ground height at each terminal.

    Parameters
    ----------
    d_km, h_m : (n,) float arrays
        Profile distances (km) and heights amsl (m); P.1812 uses terrain
        heights here (no clutter).
    hts_m, hrs_m : float
        Antenna heights amsl (m).

    Returns
    -------
    tuple of float
        ``(hstd_m, hsrd_m)``.
    """
    n = d_km.shape[0]
    hst, hsr = smooth_surface_heights(d_km, h_m)
    if n < 2 or math.isnan(hst):
        return np.nan, np.nan
    d0 = d_km[0]
    dtot = d_km[n - 1] - d0
    hobs = -np.inf
    aobt = -np.inf
    aobr = -np.inf
    for i in range(1, n - 1):
        di = d_km[i] - d0
        if di <= 0.0 or di >= dtot:
            continue
        hh = h_m[i] - (hts_m * (dtot - di) + hrs_m * di) / dtot  # eq. (89d)
        if hh > hobs:
            hobs = hh  # eq. (89a)
        if hh / di > aobt:
            aobt = hh / di  # eq. (89b)
        if hh / (dtot - di) > aobr:
            aobr = hh / (dtot - di)  # eq. (89c)
    if hobs <= 0.0:
        hstp = hst
        hsrp = hsr
    else:
        gt = aobt / (aobt + aobr)
        gr = aobr / (aobt + aobr)
        hstp = hst - hobs * gt
        hsrp = hsr - hobs * gr
    hstd = h_m[0] if hstp > h_m[0] else hstp
    hsrd = h_m[n - 1] if hsrp > h_m[n - 1] else hsrp
    return hstd, hsrd


@kernel
def _first_term_one_ground_db(eps_r, sigma_s_m, dtot_km, hte_m, hre_m, adft_km, freq_ghz, pol):
    """First-term spherical-Earth loss for one ground type, eqs. (29)-(36)."""
    s18 = 18.0 * sigma_s_m / freq_ghz
    k = 0.036 * (adft_km * freq_ghz) ** (-1.0 / 3.0) * ((eps_r - 1.0) ** 2 + s18 * s18) ** (-0.25)
    if pol == POL_VERTICAL:
        k = k * math.sqrt(eps_r * eps_r + s18 * s18)
    k2 = k * k
    k4 = k2 * k2
    beta = (1.0 + 1.6 * k2 + 0.67 * k4) / (1.0 + 4.5 * k2 + 1.53 * k4)
    x = 21.88 * beta * (freq_ghz / (adft_km * adft_km)) ** (1.0 / 3.0) * dtot_km
    y = 0.9575 * beta * (freq_ghz * freq_ghz / adft_km) ** (1.0 / 3.0)
    if x >= 1.6:
        fx = 11.0 + 10.0 * math.log10(x) - 17.6 * x
    else:
        fx = -20.0 * math.log10(x) - 5.6488 * x**1.425
    gmin = 2.0 + 20.0 * math.log10(k)
    g_sum = 0.0
    for h in (hte_m, hre_m):
        b = beta * y * h
        if b > 2.0:
            g = 17.6 * math.sqrt(b - 1.1) - 5.0 * math.log10(b - 1.1) - 8.0
        else:
            g = 20.0 * math.log10(b + 0.1 * b * b * b)
        if g < gmin:
            g = gmin
        g_sum += g
    return -fx - g_sum


@kernel
def first_term_diffraction_db(dtot_km, hte_m, hre_m, adft_km, freq_ghz, omega_frac, pol):
    """First-term spherical-Earth diffraction loss Ldft (dB), P.1812-8 section 4.3.3.

    Eq. (28): Ldft = omega Ldft(sea) + (1 - omega) Ldft(land), with sea
    eps_r = 80, sigma = 5 S/m and land eps_r = 22, sigma = 0.003 S/m.

    Parameters
    ----------
    dtot_km : float
        Path length (km).
    hte_m, hre_m : float
        Effective antenna heights above the smooth surface (m).
    adft_km : float
        Effective Earth radius for this term (km).
    freq_ghz : float
        Frequency (GHz).
    omega_frac : float
        Fraction of the path over sea (0..1).
    pol : int
        1 horizontal, 2 vertical.
    """
    sea = _first_term_one_ground_db(
        SEA_EPS_R, SEA_SIGMA_S_M, dtot_km, hte_m, hre_m, adft_km, freq_ghz, pol
    )
    land = _first_term_one_ground_db(
        LAND_EPS_R, LAND_SIGMA_S_M, dtot_km, hte_m, hre_m, adft_km, freq_ghz, pol
    )
    return omega_frac * sea + (1.0 - omega_frac) * land


@kernel
def smooth_path_clearance_m(dtot_km, hte_m, hre_m, ap_km, lam_m):
    """Clearance of a smooth-Earth path and the clearance needed for no loss, in m.

    P.1812-8 eqs. (23)-(24) give the smallest height ``hse`` of the ray above the
    curved Earth, eq. (25) the required clearance ``hreq``; returns ``(hse, hreq)``.
    Effective heights ``hte_m``, ``hre_m`` (m), path ``dtot_km`` (km), radius ``ap_km``.
    """
    c = (hte_m - hre_m) / (hte_m + hre_m)
    m = 250.0 * dtot_km * dtot_km / (ap_km * (hte_m + hre_m))
    arg = 1.5 * c * math.sqrt(3.0 * m / (m + 1.0) ** 3)
    arg = fmin(1.0, fmax(-1.0, arg))
    b = 2.0 * math.sqrt((m + 1.0) / (3.0 * m)) * math.cos(math.pi / 3.0 + math.acos(arg) / 3.0)
    dse1 = 0.5 * dtot_km * (1.0 + b)
    dse2 = dtot_km - dse1
    hse = (
        (hte_m - CURVATURE_M_KM * dse1 * dse1 / ap_km) * dse2
        + (hre_m - CURVATURE_M_KM * dse2 * dse2 / ap_km) * dse1
    ) / dtot_km
    hreq = 17.456 * math.sqrt(dse1 * dse2 * lam_m / dtot_km)
    return hse, hreq


@kernel
def sph_earth_diffraction_db(dtot_km, hte_m, hre_m, ap_km, freq_ghz, omega_frac, pol):
    """Spherical-Earth diffraction loss Ldsph (dB), P.1812-8 section 4.3.2, eqs. (22)-(27).

    Parameters
    ----------
    dtot_km : float
        Path length (km).
    hte_m, hre_m : float
        Effective antenna heights above the smooth surface (m), > 0.
    ap_km : float
        Effective Earth radius (km).
    freq_ghz : float
        Frequency (GHz).
    omega_frac : float
        Fraction of the path over sea (0..1).
    pol : int
        1 horizontal, 2 vertical.

    Returns
    -------
    float
        Ldsph (dB); NaN if an effective height is not positive.
    """
    if not (hte_m > 0.0 and hre_m > 0.0 and dtot_km > 0.0):
        return np.nan
    lam = wavelength_p1812_m(freq_ghz)
    # Marginal line-of-sight distance for a smooth path, eq. (22).
    dlos = math.sqrt(2.0 * ap_km) * (math.sqrt(0.001 * hte_m) + math.sqrt(0.001 * hre_m))
    if dtot_km >= dlos:
        return first_term_diffraction_db(dtot_km, hte_m, hre_m, ap_km, freq_ghz, omega_frac, pol)
    hse, hreq = smooth_path_clearance_m(dtot_km, hte_m, hre_m, ap_km, lam)
    if hse > hreq:
        return 0.0
    # Modified effective Earth radius giving marginal LoS at dtot, eq. (26).
    aem = 500.0 * (dtot_km / (math.sqrt(hte_m) + math.sqrt(hre_m))) ** 2
    ldft = first_term_diffraction_db(dtot_km, hte_m, hre_m, aem, freq_ghz, omega_frac, pol)
    if ldft < 0.0:
        return 0.0
    return (1.0 - hse / hreq) * ldft  # eq. (27)


@kernel
def delta_bullington_db(
    d_km,
    h_m,
    hts_m,
    hrs_m,
    ap_km,
    freq_ghz,
    omega_frac,
    pol,
    hstd_m=np.nan,
    hsrd_m=np.nan,
):
    """Complete delta-Bullington diffraction loss, P.1812-8 section 4.3.4, eqs. (37)-(39).

    Parameters
    ----------
    d_km, h_m : (n,) float arrays
        Profile distances (km) and heights amsl used for diffraction (m).
    hts_m, hrs_m : float
        Antenna heights amsl (m).
    ap_km : float
        Effective Earth radius (km): ae for the median, a_beta for beta0 %.
    freq_ghz : float
        Frequency (GHz).
    omega_frac : float
        Fraction of the path over sea (0..1).
    pol : int
        1 horizontal, 2 vertical.
    hstd_m, hsrd_m : float, optional
        Smooth-surface heights for the diffraction model (m amsl). NaN (the
        default) computes them from ``h_m`` with
        :func:`diffraction_surface_heights`. P.1812 derives them from the
        terrain heights without clutter; pass them in when ``h_m`` includes
        clutter.

    Returns
    -------
    tuple of float
        ``(ld_db, lbulla_db, lbulls_db, ldsph_db)`` with
        Ld = Lbulla + max(Ldsph - Lbulls, 0) (eq. 39).
    """
    n = d_km.shape[0]
    if n < 2:
        return np.nan, np.nan, np.nan, np.nan
    if math.isnan(hstd_m) or math.isnan(hsrd_m):
        hstd_m, hsrd_m = diffraction_surface_heights(d_km, h_m, hts_m, hrs_m)
    lam = wavelength_p1812_m(freq_ghz)
    ce = 1.0 / ap_km
    dtot = d_km[n - 1] - d_km[0]
    lbulla = bullington_db(d_km, h_m, hts_m, hrs_m, ce, lam)
    if math.isnan(lbulla) or math.isnan(hstd_m) or math.isnan(hsrd_m):
        return np.nan, np.nan, np.nan, np.nan
    # Smooth path: all heights zero, antenna heights above the surface, eq. (37).
    hts_p = hts_m - hstd_m
    hrs_p = hrs_m - hsrd_m
    zeros = np.zeros(n)
    lbulls = bullington_db(d_km, zeros, hts_p, hrs_p, ce, lam)
    ldsph = sph_earth_diffraction_db(dtot, hts_p, hrs_p, ap_km, freq_ghz, omega_frac, pol)
    ld = lbulla + max(ldsph - lbulls, 0.0)
    return ld, lbulla, lbulls, ldsph
