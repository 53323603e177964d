"""Building entry loss, Recommendation ITU-R P.2109-2 (08/2023), Annex 1 section 3.

The building entry loss not exceeded with probability P (eqs (1)-(10), f in GHz,
``log`` = log10)::

    L_BEL(P) = 10 log(10^(0.1 A(P)) + 10^(0.1 B(P)) + 10^(0.1 C))   (1)
    A(P) = F^-1(P) sigma1 + mu1                                      (2)
    B(P) = F^-1(P) sigma2 + mu2                                      (3)
    C = -3.0                                                          (4)
    mu1 = L_h + L_e                                                   (5)
    mu2 = w + x log f                                                 (6)
    sigma1 = u + v log f                                              (7)
    sigma2 = y + z log f                                              (8)
    L_h = r + s log f + t (log f)^2                                   (9)
    L_e = 0.212 |theta|                                               (10)

``F^-1`` is the inverse standard normal cumulative distribution and ``theta``
the elevation angle of the path at the facade in degrees. Coefficients
(Table 1):

=====================  =====  =====  ====  ====  ===  ====  ====  ===  ====
class                    r      s     t     u     v    w     x     y     z
=====================  =====  =====  ====  ====  ===  ====  ====  ===  ====
traditional            12.64   3.72  0.96   9.6  2.0   9.1  -3.0  4.5  -2.0
thermally efficient    28.19  -3.00  8.48  13.5  3.8  27.8  -2.9  9.4  -2.1
=====================  =====  =====  ====  ====  ===  ====  ====  ===  ====

Validity: about 80 MHz to 100 GHz. At 390 MHz and horizontal incidence this
gives medians of 13.9 dB (traditional) and 33.0 dB (thermally efficient), and
23.6 dB / 47.6 dB not exceeded for 90 % of locations.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from c2000cov.errors import InvalidInputError, warn_outside_validity

ITU_REC = "ITU-R P.2109-2"

FREQ_RANGE_MHZ = (80.0, 100_000.0)
"""Stated validity of the model, about 0.08-100 GHz, in MHz."""

C_DB = -3.0
"""Eq. (4): constant term C in dB."""

ELEVATION_FACTOR_DB_PER_DEG = 0.212
"""Eq. (10): elevation correction L_e per degree of |theta|."""

COEFFICIENTS: dict[str, dict[str, float]] = {
    "traditional": dict(r=12.64, s=3.72, t=0.96, u=9.6, v=2.0, w=9.1, x=-3.0, y=4.5, z=-2.0),
    "thermally_efficient": dict(
        r=28.19, s=-3.00, t=8.48, u=13.5, v=3.8, w=27.8, x=-2.9, y=9.4, z=-2.1
    ),
}
"""Table 1 of ITU-R P.2109-2: coefficients per building class."""

BUILDING_CLASSES = tuple(COEFFICIENTS)

Z_90_PCT = float(ndtri(0.9))
"""Standard normal quantile at 90 %, 1.2816; used for the lognormal equivalent spread."""


def _coefficients(building_class) -> dict[str, float]:
    if not isinstance(building_class, str) or building_class.lower() not in COEFFICIENTS:
        raise InvalidInputError(
            f"building_class must be one of {', '.join(repr(c) for c in BUILDING_CLASSES)}, "
            f"got {building_class!r}"
        )
    return COEFFICIENTS[building_class.lower()]


def building_entry_loss_db(freq_mhz, prob_pct, building_class="traditional", elevation_deg=0.0):
    """Building entry loss not exceeded for ``prob_pct`` % of locations, ITU-R P.2109-2 eq. (1).

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency in MHz (validity about 80 MHz - 100 GHz).
    prob_pct : float or array_like
        Probability, in %, with which the loss is not exceeded; 0 < P < 100.
    building_class : {"traditional", "thermally_efficient"}
        Building class of Table 1. Thermally efficient buildings have
        metallised glass and foil-backed insulation (roughly: recent
        construction); traditional buildings have neither.
    elevation_deg : float or array_like, optional
        Elevation angle of the path at the facade in degrees, -90..90
        (sign ignored, eq. (10)); 0 for a horizontal path.

    Returns
    -------
    numpy.ndarray or float
        Building entry loss in dB, broadcast over the inputs; a float for
        scalar inputs.

    Raises
    ------
    InvalidInputError
        Unknown ``building_class`` (the message lists the valid ones),
        non-positive frequency, ``prob_pct`` outside (0, 100) or an elevation
        outside [-90, 90] degrees.

    Warns
    -----
    OutsideValidityWarning
        If a frequency lies outside 80 MHz - 100 GHz.
    """
    c = _coefficients(building_class)
    f_mhz, p_pct, theta_deg = np.broadcast_arrays(
        np.asarray(freq_mhz, dtype=float),
        np.asarray(prob_pct, dtype=float),
        np.asarray(elevation_deg, dtype=float),
    )
    if np.any(f_mhz <= 0):
        raise InvalidInputError(f"freq_mhz must be > 0 MHz, got min {np.nanmin(f_mhz):g}")
    if np.any((p_pct <= 0) | (p_pct >= 100)):
        raise InvalidInputError(
            f"prob_pct must be strictly between 0 and 100 %, got {np.nanmin(p_pct):g} to "
            f"{np.nanmax(p_pct):g}; e.g. 50 for the median"
        )
    if np.any(np.abs(theta_deg) > 90):
        raise InvalidInputError(
            f"elevation_deg must be within -90..90 degrees, got max |theta| "
            f"{np.nanmax(np.abs(theta_deg)):g}"
        )
    finite_f = f_mhz[np.isfinite(f_mhz)]
    if finite_f.size and (finite_f.min() < FREQ_RANGE_MHZ[0] or finite_f.max() > FREQ_RANGE_MHZ[1]):
        warn_outside_validity(
            f"P.2109 building entry loss is valid for about 80 MHz - 100 GHz, got "
            f"{finite_f.min():g} to {finite_f.max():g} MHz; loss computed anyway"
        )

    log_f = np.log10(f_mhz / 1000.0)
    z = ndtri(p_pct / 100.0)
    l_h_db = c["r"] + c["s"] * log_f + c["t"] * log_f**2  # (9)
    l_e_db = ELEVATION_FACTOR_DB_PER_DEG * np.abs(theta_deg)  # (10)
    mu1_db = l_h_db + l_e_db  # (5)
    mu2_db = c["w"] + c["x"] * log_f  # (6)
    sigma1_db = c["u"] + c["v"] * log_f  # (7)
    sigma2_db = c["y"] + c["z"] * log_f  # (8)
    a_db = z * sigma1_db + mu1_db  # (2)
    b_db = z * sigma2_db + mu2_db  # (3)
    loss_db = 10.0 * np.log10(
        10.0 ** (0.1 * a_db) + 10.0 ** (0.1 * b_db) + 10.0 ** (0.1 * C_DB)
    )  # (1)
    if loss_db.ndim == 0:
        return float(loss_db)
    return loss_db


def entry_loss_median_and_sigma_db(freq_mhz, building_class="traditional", elevation_deg=0.0):
    """Median building entry loss and an equivalent lognormal spread, for link budgets.

    The P.2109 distribution is not lognormal (eq. (1) sums two lognormal terms
    and a constant). For a link budget that adds the entry loss as one more
    lognormal term, this returns the exact median ``L50`` and the spread that
    makes a normal distribution (in dB) pass through the exact 50 % and 90 %
    points::

        sigma = (L90 - L50) / 1.2816

    How good the approximation is (390 MHz, horizontal path; "exact" is P.2109,
    "ln" the lognormal ``L50 + z sigma``):

    ====================  =====  =====  =====  ============  =============
    class                  L50    L90   sigma  L10 exact/ln  L95 exact/ln
    ====================  =====  =====  =====  ============  =============
    traditional            13.9   23.6   7.58    5.7 / 4.2    26.6 / 26.4
    thermally efficient    33.0   47.6  11.38   18.7 / 18.4   51.8 / 51.7
    ====================  =====  =====  =====  ============  =============

    The upper tail, which decides indoor coverage, is matched within 0.2 dB
    up to 95 %; the lower tail of traditional buildings is too optimistic
    (lower loss) by about 1.5 dB at 10 %, because the constant C = -3 dB and
    the second term keep the exact loss from falling as far.

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency in MHz.
    building_class : {"traditional", "thermally_efficient"}
        Building class of P.2109 Table 1.
    elevation_deg : float or array_like, optional
        Elevation angle at the facade in degrees (0 = horizontal).

    Returns
    -------
    tuple of (numpy.ndarray or float, numpy.ndarray or float)
        ``(median_db, sigma_db)``: the 50 % building entry loss and the
        equivalent lognormal standard deviation, both in dB.
    """
    median_db = building_entry_loss_db(freq_mhz, 50.0, building_class, elevation_deg)
    l90_db = building_entry_loss_db(freq_mhz, 90.0, building_class, elevation_deg)
    sigma_db = (np.asarray(l90_db) - np.asarray(median_db)) / Z_90_PCT
    if np.ndim(sigma_db) == 0:
        sigma_db = float(sigma_db)
    return median_db, sigma_db
