"""ITU-R P.1812-8: path-specific point-to-area prediction, 30 MHz to 6 GHz.

Implements Annex 1 of Recommendation ITU-R P.1812-8 for one path profile:

- section 3: radio-meteorological parameters (path centre, beta0, ae, a_beta),
  path fraction over sea and longest land/inland sections;
- Attachment 1: path profile analysis (horizon angles and distances,
  path classification, smooth-Earth heights, terrain roughness);
- section 4.2: line of sight with multipath/focusing (Lbfs, Lb0p, Lb0beta);
- section 4.3: delta-Bullington diffraction for ae and a_beta and the
  diffraction loss not exceeded for p % time (calls
  :mod:`c2000cov.kernels.diffraction`);
- section 4.4: troposcatter; section 4.5: ducting/layer reflection;
- section 4.6: combination into Lbc (p % time, 50 % locations);
- sections 4.7 and 4.9: location variability (outdoor only; no building entry
  loss) and Lb for pL % locations; section 4.10: field strength.

Terminal clutter (P.1812-8 section 3.2.1): the representative clutter height
R is added to the terrain at the intermediate profile points only
(g_i = h_i + R_i, g_1 = h_1, g_n = h_n); a terminal inside clutter therefore
sees its clutter through the profile points next to it. The path profile
analysis of Attachment 1 (horizon angles, smooth Earth, roughness, the
smooth surface of the diffraction model) uses the terrain heights h_i. There
is no separate terminal clutter loss in this edition. This reproduces the
ITU-R SG3 validation data for P.1812-8 to < 1e-6 dB.

Equation numbers follow P.1812-8 Annex 1 as labelled in the ITU-R SG3
validation logs. Frequencies are in GHz inside this module, as in the
Recommendation; the public function takes MHz.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from c2000cov.errors import InvalidInputError, warn_outside_validity
from c2000cov.kernels.diffraction import (
    delta_bullington_db,
    diffraction_surface_heights,
    smooth_surface_heights,
    wavelength_p1812_m,
)
from c2000cov.units import DEFAULT_DN_N_UNITS_KM, EARTH_RADIUS_KM

ITU_REC = "ITU-R P.1812-8"

# Section 3.7: effective Earth radius factor exceeded for beta0 % time.
K_BETA = 3.0
# Section 4.6, eq. (57): angular-distance interpolation constants.
THETA_SW_MRAD = 0.3
XI_ANGULAR = 0.8
# Eq. (58): distance interpolation constants.
D_SW_KM = 20.0
KAPPA_DISTANCE = 0.5
# Eq. (60): blending constant.
ETA_BLEND = 2.5
# Section 4.5, eq. (55a).
EPSILON_DUCT = 3.5
# Validity ranges stated by the Recommendation.
FREQ_MIN_GHZ = 0.03
FREQ_MAX_GHZ = 6.0
TIME_PCT_MIN = 1.0
TIME_PCT_MAX = 50.0
LOC_PCT_MIN = 1.0
LOC_PCT_MAX = 99.0
DIST_MIN_KM = 0.25
DIST_MAX_KM = 3000.0
ANTENNA_HEIGHT_MIN_M = 1.0
ANTENNA_HEIGHT_MAX_M = 3000.0
LAT_MAX_DEG = 80.0
# Defaults when no map values are supplied (N-units/km, N-units); dN is the one default of
# link and area runs (c2000cov.units.DEFAULT_DN_N_UNITS_KM, re-exported here).
DEFAULT_N0_N_UNITS = 325.0
DEFAULT_COAST_DIST_KM = 500.0
# Field strength for 1 kW e.r.p., eq. (70): E = 199.36 + 20 log10 f_GHz - Lb.
EP_1KW_CONSTANT_DB = 199.36
ERP_1KW_DBW = 30.0

ZONE_SEA = 1
ZONE_COASTAL = 3
ZONE_INLAND = 4


@dataclass(frozen=True)
class P1812Result:
    """Every intermediate and final quantity of one P.1812-8 prediction.

    Units are in the names: ``_km``, ``_m`` (heights; amsl unless stated),
    ``_mrad``, ``_deg``, ``_pct``, ``_db``, ``_dbuv_m``, ``_dbw``; ``_frac`` is
    a fraction 0..1. Equation numbers refer to P.1812-8 Annex 1.

    The diffraction components come twice: ``lbulla_db``, ``lbulls_db``,
    ``ldsph_db`` for the median effective Earth radius ae (they give
    ``ld50_db``) and ``*_beta_db`` for a_beta (they give ``ldb_db``). The SG3
    validation logs list the a_beta values under ``Lbulla``, ``Lbulls`` and
    ``Ldsph``.
    """

    itu_rec: str
    freq_ghz: float
    time_pct: float
    loc_pct: float
    pol: int
    # path geometry (Attachment 1)
    dtot_km: float
    path_type: str  # "los" or "transhorizon"
    dlt_km: float
    dlr_km: float
    theta_t_mrad: float
    theta_r_mrad: float
    theta_mrad: float
    hts_m: float
    hrs_m: float
    hst_ls_m: float  # least-squares smooth surface at Tx, eq. (85)
    hsr_ls_m: float  # eq. (86)
    hst_m: float  # min(hst_ls, h1), eq. (90a)
    hsr_m: float  # eq. (90b)
    hstd_m: float  # diffraction-model smooth surface at Tx, eq. (89)
    hsrd_m: float
    hte_diff_m: float  # hts - hstd, eq. (37a)
    hre_diff_m: float  # hrs - hsrd, eq. (37b)
    hte_m: float  # ducting effective height, eq. (92a)
    hre_m: float  # eq. (92b)
    hm_m: float  # terrain roughness, eq. (93)
    omega_frac: float  # fraction of path over sea
    dtm_km: float  # longest continuous land section
    dlm_km: float  # longest continuous inland section
    # radio meteorology (section 3)
    phi_path_deg: float
    dn_n_units_km: float
    n0_n_units: float
    beta0_pct: float
    ae_km: float
    ab_km: float
    # interpolation factors
    fi: float
    fj: float
    fk: float
    # losses
    lbfs_db: float
    lb0p_db: float
    lb0b_db: float
    lbulla_db: float
    lbulls_db: float
    ldsph_db: float
    lbulla_beta_db: float
    lbulls_beta_db: float
    ldsph_beta_db: float
    ld50_db: float
    ldb_db: float
    ldp_db: float
    lbd50_db: float
    lbd_db: float
    lminb0p_db: float
    lba_db: float
    lminbap_db: float
    lbda_db: float
    lbam_db: float
    lbs_db: float
    lbc_db: float
    sigma_loc_db: float
    lloc_db: float
    lb_db: float
    ep_1kw_dbuv_m: float
    erp_dbw: float
    ep_dbuv_m: float
    # Lb with troposcatter and ducting/layer reflection removed (Lbs, Lba -> inf):
    # line of sight + diffraction only.
    lb_no_tropo_duct_db: float

    def as_dict(self) -> dict:
        """All fields as a plain dict."""
        return asdict(self)


def inv_cum_norm(x: float) -> float:
    """Inverse complementary cumulative normal I(x), P.1812-8 approximation (eqs. 96-97).

    Valid for 1e-6 <= x <= 0.999999 (x is clipped to that range); I(0.5) ~ 0,
    I(0.1) ~ 1.28, I(0.9) ~ -1.28.
    """
    x = min(max(x, 1e-6), 0.999999)
    if x > 0.5:
        return -inv_cum_norm(1.0 - x)
    t = math.sqrt(-2.0 * math.log(x))
    c0, c1, c2 = 2.515516698, 0.802853, 0.010328
    d1, d2, d3 = 1.432788, 0.189269, 0.001308
    xi = ((c2 * t + c1) * t + c0) / (((d3 * t + d2) * t + d1) * t + 1.0)
    return t - xi


def great_circle_point_deg(
    lat_t_deg: float, lon_t_deg: float, lat_r_deg: float, lon_r_deg: float, dist_km: float
) -> tuple[float, float]:
    """Point at ``dist_km`` from Tx along the great circle towards Rx (lat, lon in degrees).

    Spherical Earth of radius 6371 km (ITU-R P.2001 Attachment H method, used
    by P.1812-8 eq. (4) for the path centre).
    """
    phit = math.radians(lat_t_deg)
    phir = math.radians(lat_r_deg)
    dlon = math.radians(lon_r_deg - lon_t_deg)
    r = math.sin(phit) * math.sin(phir) + math.cos(phit) * math.cos(phir) * math.cos(dlon)
    r = min(1.0, max(-1.0, r))
    x1 = math.sin(phir) - r * math.sin(phit)
    y1 = math.cos(phit) * math.cos(phir) * math.sin(dlon)
    bearing = 0.0 if (abs(x1) < 1e-9 and abs(y1) < 1e-9) else math.atan2(y1, x1)
    ang = dist_km / EARTH_RADIUS_KM
    s = math.sin(phit) * math.cos(ang) + math.cos(phit) * math.sin(ang) * math.cos(bearing)
    s = min(1.0, max(-1.0, s))
    lat = math.degrees(math.asin(s))
    x2 = math.cos(ang) - s * math.sin(phit)
    y2 = math.cos(phit) * math.sin(ang) * math.sin(bearing)
    lon = lon_t_deg + math.degrees(math.atan2(y2, x2))
    return lat, lon


def _cell_widths_km(d_km: np.ndarray) -> np.ndarray:
    """Length of path represented by each profile point (half-way to each neighbour)."""
    mid = 0.5 * (d_km[1:] + d_km[:-1])
    left = np.concatenate(([d_km[0]], mid))
    right = np.concatenate((mid, [d_km[-1]]))
    return right - left


def _longest_run_km(mask: np.ndarray, widths_km: np.ndarray) -> float:
    best = 0.0
    run = 0.0
    for inside, w in zip(mask, widths_km, strict=True):
        run = run + w if inside else 0.0
        best = max(best, run)
    return float(best)


def beta0_pct(phi_deg: float, dtm_km: float, dlm_km: float) -> float:
    """Time percentage beta0 (%) of refractivity gradients < -100 N/km, eqs. (2)-(5)."""
    tau = 1.0 - math.exp(-(4.12e-4 * dlm_km**2.41))
    mu1 = (10.0 ** (-dtm_km / (16.0 - 6.6 * tau)) + 10.0 ** (-5.0 * (0.496 + 0.354 * tau))) ** 0.2
    mu1 = min(mu1, 1.0)
    aphi = abs(phi_deg)
    if aphi <= 70.0:
        mu4 = mu1 ** (-0.935 + 0.0176 * aphi)
        return 10.0 ** (-0.015 * aphi + 1.67) * mu1 * mu4
    mu4 = mu1**0.3
    return 4.17 * mu1 * mu4


def location_sigma_db(freq_ghz: float, hrg_m: float, r_m: float, wa_m: float) -> float:
    """Location-variability standard deviation (dB), P.1812-8 section 4.7.

    sigma = (0.52 + 0.024 f) wa^0.28 scaled by u(h): 1 for an antenna below the
    clutter height R, falling linearly to 0 at R + 10 m.
    """
    sigma = (0.52 + 0.024 * freq_ghz) * wa_m**0.28
    if hrg_m < r_m:
        uh = 1.0
    elif hrg_m >= r_m + 10.0:
        uh = 0.0
    else:
        uh = 1.0 - (hrg_m - r_m) / 10.0
    return sigma * uh


def _ducting_db(
    *,
    dtot,
    dlt,
    dlr,
    dct,
    dcr,
    dlm,
    hts,
    hrs,
    hte,
    hre,
    hm,
    theta_t,
    theta_r,
    f,
    p,
    omega,
    ae,
    b0,
):
    """Ducting/layer-reflection basic transmission loss Lba (dB), section 4.5, eqs. (46)-(56)."""
    alf = 45.375 - 137.0 * f + 92.5 * f * f if f < 0.5 else 0.0  # eq. (47a)
    # Site-shielding losses, eq. (48).
    ast = 0.0
    asr = 0.0
    tt2 = theta_t - 0.1 * dlt
    tr2 = theta_r - 0.1 * dlr
    if tt2 > 0.0:
        ast = 20.0 * math.log10(1.0 + 0.361 * tt2 * math.sqrt(f * dlt)) + 0.264 * tt2 * f ** (1 / 3)
    if tr2 > 0.0:
        asr = 20.0 * math.log10(1.0 + 0.361 * tr2 * math.sqrt(f * dlr)) + 0.264 * tr2 * f ** (1 / 3)
    # Over-sea surface-duct coupling, eq. (49).
    act = 0.0
    acr = 0.0
    if omega >= 0.75 and dct <= dlt and dct <= 5.0:
        act = -3.0 * math.exp(-0.25 * dct * dct) * (1.0 + math.tanh(0.07 * (50.0 - hts)))
    if omega >= 0.75 and dcr <= dlr and dcr <= 5.0:
        acr = -3.0 * math.exp(-0.25 * dcr * dcr) * (1.0 + math.tanh(0.07 * (50.0 - hrs)))
    af = 102.45 + 20.0 * math.log10(f) + 20.0 * math.log10(dlt + dlr) + alf + ast + asr + act + acr
    gamma_d = 5e-5 * ae * f ** (1 / 3)  # eq. (51)
    tt1 = min(theta_t, 0.1 * dlt)  # eq. (52a)
    tr1 = min(theta_r, 0.1 * dlr)
    theta1 = 1e3 * dtot / ae + tt1 + tr1  # eq. (52)
    di = min(dtot - dlt - dlr, 40.0)
    mu3 = math.exp(-4.6e-5 * (hm - 10.0) * (43.0 + 6.0 * di)) if hm > 10.0 else 1.0  # eq. (56)
    tau = 1.0 - math.exp(-(4.12e-4 * dlm**2.41))
    alpha = max(-0.6 - EPSILON_DUCT * 1e-9 * dtot**3.1 * tau, -3.4)  # eq. (55a)
    mu2 = min((500.0 / ae * dtot**2 / (math.sqrt(hte) + math.sqrt(hre)) ** 2) ** alpha, 1.0)
    beta = b0 * mu2 * mu3  # eq. (54)
    lb = math.log10(beta)
    gamma = (
        1.076
        / (2.0058 - lb) ** 1.012
        * math.exp(-(9.51 - 4.8 * lb + 0.198 * lb * lb) * 1e-6 * dtot**1.13)
    )  # eq. (53a)
    ap = -12.0 + (1.2 + 3.7e-3 * dtot) * math.log10(p / beta) + 12.0 * (p / beta) ** gamma
    adp = gamma_d * theta1 + ap  # eq. (50)
    return af + adp  # eq. (46)


def _validate(freq_ghz, time_pct, loc_pct, d, h, r, zone, htg, hrg, pol, lats, sigma_loc_db):
    if not (FREQ_MIN_GHZ <= freq_ghz <= FREQ_MAX_GHZ):
        raise InvalidInputError(
            f"freq_mhz must be within {FREQ_MIN_GHZ * 1e3:g}-{FREQ_MAX_GHZ * 1e3:g} MHz for "
            f"{ITU_REC}, got {freq_ghz * 1e3:g} MHz; use another model outside that range"
        )
    if not (0.0 < time_pct <= TIME_PCT_MAX):
        raise InvalidInputError(
            f"time_pct must be > 0 and <= {TIME_PCT_MAX:g} % for {ITU_REC}, got {time_pct:g}"
        )
    if time_pct < TIME_PCT_MIN:
        warn_outside_validity(
            f"time_pct = {time_pct:g} % is below the {TIME_PCT_MIN:g} % stated for {ITU_REC}"
        )
    if not (0.0 < loc_pct < 100.0):
        raise InvalidInputError(f"loc_pct must be strictly between 0 and 100 %, got {loc_pct:g}")
    if not (LOC_PCT_MIN <= loc_pct <= LOC_PCT_MAX):
        warn_outside_validity(
            f"loc_pct = {loc_pct:g} % is outside the {LOC_PCT_MIN:g}-{LOC_PCT_MAX:g} % "
            f"stated for {ITU_REC}"
        )
    n = d.size
    if d.ndim != 1 or n < 3:
        raise InvalidInputError(
            f"d_km must be a 1-D profile with at least 3 points (Tx, one intermediate, Rx), "
            f"got shape {d.shape}"
        )
    for name, arr in (("h_m", h), ("r_m", r), ("zone", zone)):
        if arr.shape != d.shape:
            raise InvalidInputError(
                f"{name} must have the same length as d_km ({n}), got shape {arr.shape}"
            )
    for name, arr in (("d_km", d), ("h_m", h), ("r_m", r)):
        if not np.all(np.isfinite(arr)):
            k = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise InvalidInputError(f"{name}[{k}] must be finite, got {arr[k]}")
    if d[0] != 0.0:
        raise InvalidInputError(
            f"d_km[0] must be 0 (the transmitter), got {d[0]:g}; subtract d_km[0] first"
        )
    steps = np.diff(d)
    if np.any(steps <= 0.0):
        k = int(np.flatnonzero(steps <= 0.0)[0]) + 1
        raise InvalidInputError(
            f"d_km must increase strictly along the profile, got d_km[{k}] = {d[k]:g} after "
            f"d_km[{k - 1}] = {d[k - 1]:g}; sort the profile and drop repeated points"
        )
    if np.any(r < 0.0):
        k = int(np.flatnonzero(r < 0.0)[0])
        raise InvalidInputError(f"r_m[{k}] (clutter height) must be >= 0, got {r[k]:g}")
    bad = ~np.isin(zone, (ZONE_SEA, ZONE_COASTAL, ZONE_INLAND))
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(
            f"zone[{k}] must be 1 (sea), 3 (coastal land) or 4 (inland), got {zone[k]}"
        )
    if pol not in (1, 2):
        raise InvalidInputError(f"pol must be 1 (horizontal) or 2 (vertical), got {pol!r}")
    for name, value in (("htg_m", htg), ("hrg_m", hrg)):
        if not value > 0.0:
            raise InvalidInputError(
                f"{name} (antenna height above ground) must be > 0, got {value}"
            )
        if not (ANTENNA_HEIGHT_MIN_M <= value <= ANTENNA_HEIGHT_MAX_M):
            warn_outside_validity(
                f"{name} = {value:g} m is outside the {ANTENNA_HEIGHT_MIN_M:g}-"
                f"{ANTENNA_HEIGHT_MAX_M:g} m stated for {ITU_REC}"
            )
    for name, value in lats:
        if not (-90.0 <= value <= 90.0):
            raise InvalidInputError(f"{name} must be within -90..90 degrees, got {value:g}")
        if abs(value) > LAT_MAX_DEG:
            warn_outside_validity(
                f"{name} = {value:g} deg is beyond the +-{LAT_MAX_DEG:g} deg stated for {ITU_REC}"
            )
    dtot = d[-1]
    if not (DIST_MIN_KM <= dtot <= DIST_MAX_KM):
        warn_outside_validity(
            f"path length {dtot:g} km is outside the {DIST_MIN_KM:g}-{DIST_MAX_KM:g} km "
            f"stated for {ITU_REC}"
        )
    if sigma_loc_db is not None and sigma_loc_db < 0.0:
        raise InvalidInputError(f"sigma_loc_db must be >= 0, got {sigma_loc_db:g}")


def p1812(
    freq_mhz: float,
    time_pct: float,
    loc_pct: float,
    d_km,
    h_m,
    r_m,
    zone,
    htg_m: float,
    hrg_m: float,
    pol: int,
    phi_t_deg: float,
    phi_r_deg: float,
    lam_t_deg: float,
    lam_r_deg: float,
    *,
    dn_n_units_km: float = DEFAULT_DN_N_UNITS_KM,
    n0_n_units: float = DEFAULT_N0_N_UNITS,
    erp_dbw: float = ERP_1KW_DBW,
    sigma_loc_db: float | None = 0.0,
    wa_m: float = 100.0,
    dct_km: float = DEFAULT_COAST_DIST_KM,
    dcr_km: float = DEFAULT_COAST_DIST_KM,
) -> P1812Result:
    """Basic transmission loss and field strength by ITU-R P.1812-8 for one profile.

    Parameters
    ----------
    freq_mhz : float
        Frequency (MHz), 30-6000.
    time_pct : float
        Time percentage p (%) for which Lb is not exceeded, 1-50.
    loc_pct : float
        Location percentage pL (%) for which Lb is not exceeded, 1-99.
    d_km : (n,) array_like
        Distances of the profile points from the transmitter (km), strictly
        increasing, ``d_km[0] == 0``; the last point is the receiver.
    h_m : (n,) array_like
        Terrain heights amsl (m).
    r_m : (n,) array_like
        Representative clutter heights above ground (m); added to the terrain
        at the intermediate points (section 3.2.1). Zeros for bare terrain.
    zone : (n,) array_like of int
        Radio-climatic zone per point: 1 sea, 3 coastal land, 4 inland.
    htg_m, hrg_m : float
        Tx and Rx antenna heights above ground (m).
    pol : int
        1 horizontal, 2 vertical.
    phi_t_deg, phi_r_deg : float
        Tx and Rx latitudes (degrees north).
    lam_t_deg, lam_r_deg : float
        Tx and Rx longitudes (degrees east).
    dn_n_units_km : float, optional
        Average radio-refractivity lapse rate dN through the lowest 1 km at
        the path centre (N-units/km, positive), from the P.1812 map. Default 45.
    n0_n_units : float, optional
        Sea-level surface refractivity N0 at the path centre (N-units), from
        the P.1812 map. Default 325.
    erp_dbw : float, optional
        Effective radiated power (dBW) for ``ep_dbuv_m``; default 30 dBW (1 kW).
    sigma_loc_db : float or None, optional
        Location-variability standard deviation (dB). Default 0. None computes
        it from section 4.7 with ``wa_m`` and the clutter height at the receiver.
    wa_m : float, optional
        Prediction resolution (m) for the section 4.7 standard deviation.
    dct_km, dcr_km : float, optional
        Distance over land from Tx / Rx to the coast (km); set to 0 when the
        terminal's zone is sea. Default 500.

    Returns
    -------
    P1812Result

    Raises
    ------
    InvalidInputError
        Frequency outside 30-6000 MHz, time_pct outside (0, 50], loc_pct
        outside (0, 100), profile arrays of unequal length, distances not
        strictly increasing from 0, unknown zone or polarisation, antenna
        height <= 0.

    Warns
    -----
    OutsideValidityWarning
        time_pct < 1 %, loc_pct outside 1-99 %, antenna height outside
        1-3000 m, path length outside 0.25-3000 km, latitude beyond 80 deg.
    """
    f = float(freq_mhz) / 1e3
    p = float(time_pct)
    pl = float(loc_pct)
    d = np.asarray(d_km, dtype=float)
    h = np.asarray(h_m, dtype=float)
    r = np.asarray(r_m, dtype=float)
    zone_arr = np.asarray(zone)
    if zone_arr.dtype.kind == "f":
        if np.any(zone_arr != np.round(zone_arr)):
            raise InvalidInputError("zone must hold whole numbers 1, 3 or 4")
    zone_arr = zone_arr.astype(np.int64) if zone_arr.dtype.kind in "iuf" else zone_arr
    htg = float(htg_m)
    hrg = float(hrg_m)
    _validate(
        f,
        p,
        pl,
        d,
        h,
        r,
        zone_arr,
        htg,
        hrg,
        pol,
        (
            ("phi_t_deg", float(phi_t_deg)),
            ("phi_r_deg", float(phi_r_deg)),
        ),
        sigma_loc_db,
    )
    if not dn_n_units_km < 157.0:
        raise InvalidInputError(
            f"dn_n_units_km must be < 157 N-units/km (k50 = 157/(157 - dN)), got {dn_n_units_km:g}"
        )
    pol = int(pol)
    dtot = float(d[-1])

    if zone_arr[0] == ZONE_SEA:
        dct_km = 0.0
    if zone_arr[-1] == ZONE_SEA:
        dcr_km = 0.0

    # ---- Section 3: radio-meteorology --------------------------------------
    phi_path, _ = great_circle_point_deg(phi_t_deg, lam_t_deg, phi_r_deg, lam_r_deg, 0.5 * dtot)
    widths = _cell_widths_km(d)
    dtm = _longest_run_km((zone_arr == ZONE_COASTAL) | (zone_arr == ZONE_INLAND), widths)
    dlm = _longest_run_km(zone_arr == ZONE_INLAND, widths)
    b0 = beta0_pct(phi_path, dtm, dlm)
    ae = EARTH_RADIUS_KM * 157.0 / (157.0 - dn_n_units_km)  # eqs. (6), (7a)
    ab = EARTH_RADIUS_KM * K_BETA  # eq. (7b)
    omega = float(np.sum(widths[zone_arr == ZONE_SEA]) / dtot)

    # ---- Attachment 1: path profile analysis (terrain heights) -------------
    hts = h[0] + htg
    hrs = h[-1] + hrg
    di = d[1:-1]
    hi = h[1:-1]
    theta_i = 1000.0 * np.arctan((hi - hts) / (1000.0 * di) - di / (2.0 * ae))  # eq. (76)
    theta_td = 1000.0 * math.atan((hrs - hts) / (1000.0 * dtot) - dtot / (2.0 * ae))
    theta_rd = 1000.0 * math.atan((hts - hrs) / (1000.0 * dtot) - dtot / (2.0 * ae))
    theta_max = float(theta_i.max())
    if theta_max > theta_td:
        path_type = "transhorizon"
        theta_t = theta_max
        lt = int(np.argmax(theta_i)) + 1  # first index of the maximum
        dlt = float(d[lt])
        theta_ri = 1000.0 * np.arctan(
            (hi - hrs) / (1000.0 * (dtot - di)) - (dtot - di) / (2.0 * ae)
        )  # eq. (79)
        theta_r = float(theta_ri.max())
        lr = int(np.flatnonzero(theta_ri == theta_r)[-1]) + 1  # last index of the maximum
        dlr = dtot - float(d[lr])
    else:
        path_type = "los"
        theta_t = theta_td
        theta_r = theta_rd
        lam = wavelength_p1812_m(f)
        nu = (hi + 500.0 / ae * di * (dtot - di) - (hts * (dtot - di) + hrs * di) / dtot) * np.sqrt(
            0.002 * dtot / (lam * di * (dtot - di))
        )
        lt = int(np.flatnonzero(nu == nu.max())[-1]) + 1  # Bullington point at 50 % time
        lr = lt
        dlt = float(d[lt])
        dlr = dtot - dlt
    theta = 1e3 * dtot / ae + theta_t + theta_r  # eq. (82)

    hst_ls, hsr_ls = smooth_surface_heights(d, h)  # eqs. (85)-(88)
    hstd, hsrd = diffraction_surface_heights(d, h, hts, hrs)  # eqs. (89)-(91)
    hst = min(hst_ls, h[0])  # eq. (90a)
    hsr = min(hsr_ls, h[-1])  # eq. (90b)
    slope = (hsr - hst) / dtot
    hte = htg + h[0] - hst  # eq. (92a)
    hre = hrg + h[-1] - hsr  # eq. (92b)
    idx = np.arange(lt, lr + 1)
    hm = float(np.max(h[idx] - (hst + slope * d[idx])))  # eq. (93)

    # ---- Section 4.2: line of sight ----------------------------------------
    lbfs = 92.4 + 20.0 * math.log10(f) + 10.0 * math.log10(dtot**2 + ((hts - hrs) / 1e3) ** 2)
    es_scale = 2.6 * (1.0 - math.exp(-0.1 * (dlt + dlr)))
    lb0p = lbfs + es_scale * math.log10(p / 50.0)  # eqs. (9a), (10)
    lb0b = lbfs + es_scale * math.log10(b0 / 50.0)  # eqs. (9b), (11)

    # ---- Section 4.3: diffraction ------------------------------------------
    g = h + r
    g[0] = h[0]
    g[-1] = h[-1]
    ld50, lbulla, lbulls, ldsph = delta_bullington_db(d, g, hts, hrs, ae, f, omega, pol, hstd, hsrd)
    ldb, lbulla_b, lbulls_b, ldsph_b = delta_bullington_db(
        d, g, hts, hrs, ab, f, omega, pol, hstd, hsrd
    )
    if p >= b0:
        fi = inv_cum_norm(p / 100.0) / inv_cum_norm(b0 / 100.0)  # eq. (40a)
    else:
        fi = 1.0
    if p == 50.0:
        ldp = ld50
    else:
        ldp = ld50 + fi * (ldb - ld50)  # eq. (41)
    lbd50 = lbfs + ld50  # eq. (42)
    lbd = lb0p + ldp  # eq. (43)

    # ---- Section 4.4: troposcatter ------------------------------------------
    lf = 25.0 * math.log10(f) - 2.5 * math.log10(f / 2.0) ** 2  # eq. (45)
    lbs = (
        190.1
        + lf
        + 20.0 * math.log10(dtot)
        + 0.573 * theta
        - 0.15 * n0_n_units
        - 10.125 * math.log10(50.0 / p) ** 0.7
    )  # eq. (44)

    # ---- Section 4.5: ducting / layer reflection ---------------------------
    lba = _ducting_db(
        dtot=dtot,
        dlt=dlt,
        dlr=dlr,
        dct=dct_km,
        dcr=dcr_km,
        dlm=dlm,
        hts=hts,
        hrs=hrs,
        hte=hte,
        hre=hre,
        hm=hm,
        theta_t=theta_t,
        theta_r=theta_r,
        f=f,
        p=p,
        omega=omega,
        ae=ae,
        b0=b0,
    )

    # ---- Section 4.6: combination ------------------------------------------
    fj = 1.0 - 0.5 * (1.0 + math.tanh(3.0 * XI_ANGULAR * (theta - THETA_SW_MRAD) / THETA_SW_MRAD))
    fk = 1.0 - 0.5 * (1.0 + math.tanh(3.0 * KAPPA_DISTANCE * (dtot - D_SW_KM) / D_SW_KM))
    if p < b0:
        lminb0p = lb0p + (1.0 - omega) * ldp  # eq. (59)
    else:
        lminb0p = lbd50 + (lb0b + (1.0 - omega) * ldp - lbd50) * fi
    # eq. (60), written stably: eta ln(exp(a/eta) + exp(b/eta)).
    lminbap = ETA_BLEND * np.logaddexp(lba / ETA_BLEND, lb0p / ETA_BLEND)
    lbda = lbd if lminbap > lbd else lminbap + (lbd - lminbap) * fk  # eq. (61)
    lbam = lbda + (lminb0p - lbda) * fj  # eq. (62)
    lbc = -5.0 * math.log10(10.0 ** (-0.2 * lbs) + 10.0 ** (-0.2 * lbam))  # eq. (63)

    # ---- Sections 4.7, 4.9: location variability (outdoor) ------------------
    if sigma_loc_db is None:
        sigma = location_sigma_db(f, hrg, float(r[-1]), wa_m)
    else:
        sigma = float(sigma_loc_db)
    lloc = 0.0 if zone_arr[-1] == ZONE_SEA else -inv_cum_norm(pl / 100.0) * sigma
    lb = max(lb0p, lbc + lloc)  # eq. (69)
    lb_no_tropo_duct = max(lb0p, lbd + (lminb0p - lbd) * fj + lloc)

    # ---- Section 4.10: field strength ---------------------------------------
    ep_1kw = EP_1KW_CONSTANT_DB + 20.0 * math.log10(f) - lb  # eq. (70)
    ep = ep_1kw + float(erp_dbw) - ERP_1KW_DBW

    return P1812Result(
        itu_rec=ITU_REC,
        freq_ghz=f,
        time_pct=p,
        loc_pct=pl,
        pol=pol,
        dtot_km=dtot,
        path_type=path_type,
        dlt_km=dlt,
        dlr_km=dlr,
        theta_t_mrad=float(theta_t),
        theta_r_mrad=float(theta_r),
        theta_mrad=float(theta),
        hts_m=float(hts),
        hrs_m=float(hrs),
        hst_ls_m=float(hst_ls),
        hsr_ls_m=float(hsr_ls),
        hst_m=float(hst),
        hsr_m=float(hsr),
        hstd_m=float(hstd),
        hsrd_m=float(hsrd),
        hte_diff_m=float(hts - hstd),
        hre_diff_m=float(hrs - hsrd),
        hte_m=float(hte),
        hre_m=float(hre),
        hm_m=hm,
        omega_frac=omega,
        dtm_km=dtm,
        dlm_km=dlm,
        phi_path_deg=float(phi_path),
        dn_n_units_km=float(dn_n_units_km),
        n0_n_units=float(n0_n_units),
        beta0_pct=float(b0),
        ae_km=float(ae),
        ab_km=float(ab),
        fi=float(fi),
        fj=float(fj),
        fk=float(fk),
        lbfs_db=float(lbfs),
        lb0p_db=float(lb0p),
        lb0b_db=float(lb0b),
        lbulla_db=float(lbulla),
        lbulls_db=float(lbulls),
        ldsph_db=float(ldsph),
        lbulla_beta_db=float(lbulla_b),
        lbulls_beta_db=float(lbulls_b),
        ldsph_beta_db=float(ldsph_b),
        ld50_db=float(ld50),
        ldb_db=float(ldb),
        ldp_db=float(ldp),
        lbd50_db=float(lbd50),
        lbd_db=float(lbd),
        lminb0p_db=float(lminb0p),
        lba_db=float(lba),
        lminbap_db=float(lminbap),
        lbda_db=float(lbda),
        lbam_db=float(lbam),
        lbs_db=float(lbs),
        lbc_db=float(lbc),
        sigma_loc_db=float(sigma),
        lloc_db=float(lloc),
        lb_db=float(lb),
        ep_1kw_dbuv_m=float(ep_1kw),
        erp_dbw=float(erp_dbw),
        ep_dbuv_m=float(ep),
        lb_no_tropo_duct_db=float(lb_no_tropo_duct),
    )
