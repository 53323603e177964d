"""Terminal clutter correction, Recommendation ITU-R P.2108-1 (09/2021), section 3.1.

Section 3.1 of Annex 1 (height-gain terminal correction model) gives the median
additional loss ``Ah`` of a terminal of height ``h`` standing in clutter of
representative height ``R``. The basic transmission loss is computed to or from
a point at height ``R`` above the terminal's ground, and ``Ah`` is added. With ``f`` in
GHz and heights and widths in m:

* (2a) ``Ah = J(nu) - 6.03``  for suburban, urban, trees/forest and dense urban,
  with ``J(nu) = 6.9 + 20 log10(sqrt((nu - 0.1)^2 + 1) + nu - 0.1)`` the
  knife-edge loss of ITU-R P.526 (zero for ``nu <= -0.78``);
* (2b) ``Ah = -Kh2 log10(h / R)``  for water/sea and open/rural;
* (2c) ``nu = Knu sqrt(hdif theta_clut)``;
* (2d) ``hdif = R - h``;
* (2e) ``theta_clut = arctan(hdif / ws)`` in degrees;
* (2f) ``Kh2 = 21.8 + 6.2 log10(f)``;
* (2g) ``Knu = 0.342 sqrt(f)``.

The terminal is above the clutter when ``h >= R``; then ``Ah = 0`` (the
correction only applies below the clutter top, as in the ITU-R reference
implementation). Default representative clutter heights (section 3.1.1 table):
water/sea 10 m, open/rural 10 m, suburban 10 m, urban 15 m,
trees/forest 15 m, dense urban 20 m; default street width ``ws`` = 27 m.
Validity: 0.03-3 GHz.

Not implemented: section 3.2 (statistical clutter loss for terrestrial paths)
is valid only from 0.5 GHz, so it does not apply to C2000 at 380-400 MHz;
section 3.3 (Earth-space and aeronautical paths) is out of scope.

Edition note: the ITU-R reference code (OFCOM's implementation of it) has been
aligned with a revision P.2108-2 (2025) that changes section 3.3; its section
3.1 equations are the same as in P.2108-1, the edition pinned here: its
equations were checked against two reference implementations and their test
vectors (the Recommendation PDF itself was not available offline).
"""

from __future__ import annotations

import numpy as np

from c2000cov.errors import InvalidInputError, warn_outside_validity

ITU_REC = "ITU-R P.2108-1"

DEFAULT_STREET_WIDTH_M = 27.0
"""Section 3.1.1 default street width ws, in m."""

FREQ_RANGE_MHZ = (30.0, 3000.0)
"""Validity of section 3.1, 0.03-3 GHz, in MHz."""

CLUTTER_TYPES: dict[str, tuple[str, float]] = {
    # name: (equation, default representative clutter height R in m), section 3.1.1
    "water_sea": ("2b", 10.0),
    "open_rural": ("2b", 10.0),
    "suburban": ("2a", 10.0),
    "urban": ("2a", 15.0),
    "trees_forest": ("2a", 15.0),
    "dense_urban": ("2a", 20.0),
}
"""Clutter type -> (equation used, default representative clutter height R in m)."""


def knife_edge_j_db(nu):
    """Knife-edge diffraction loss J(nu) of ITU-R P.526, in dB (0 for nu <= -0.78).

    Parameters
    ----------
    nu : float or array_like
        Dimensionless diffraction parameter.

    Returns
    -------
    numpy.ndarray
        J(nu) in dB.
    """
    nu = np.asarray(nu, dtype=float)
    j_db = 6.9 + 20.0 * np.log10(np.sqrt((nu - 0.1) ** 2 + 1.0) + nu - 0.1)
    return np.where(nu > -0.78, j_db, 0.0)


def height_gain_correction_db(
    freq_mhz, h_m, clutter_type="urban", r_m=None, ws_m=DEFAULT_STREET_WIDTH_M
):
    """Height-gain terminal correction Ah, ITU-R P.2108-1 section 3.1, eqs (2a)-(2g).

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency in MHz (validity 30-3000 MHz).
    h_m : float or array_like
        Terminal antenna height above ground in m, > 0.
    clutter_type : str
        One of ``CLUTTER_TYPES``: "water_sea", "open_rural", "suburban",
        "urban", "trees_forest", "dense_urban". Selects eq. (2a) or (2b) and
        the section 3.1.1 default representative clutter height.
    r_m : float or array_like, optional
        Representative clutter height R in m (> 0); overrides the section
        3.1.1 default of ``clutter_type`` (e.g. a local building height).
    ws_m : float or array_like, optional
        Street width in m (> 0), default 27 m. Used by eq. (2a) only.

    Returns
    -------
    numpy.ndarray or float
        Additional loss Ah in dB (0 where ``h_m >= R``), broadcast over the
        inputs; a float for scalar inputs.

    Raises
    ------
    InvalidInputError
        Unknown ``clutter_type`` (the message lists the valid ones), or a
        non-positive frequency, height, clutter height or street width.

    Warns
    -----
    OutsideValidityWarning
        If a frequency lies outside 30-3000 MHz.
    """
    if not isinstance(clutter_type, str) or clutter_type.lower() not in CLUTTER_TYPES:
        raise InvalidInputError(
            f"clutter_type must be one of {', '.join(repr(c) for c in CLUTTER_TYPES)}, "
            f"got {clutter_type!r}"
        )
    equation, default_r_m = CLUTTER_TYPES[clutter_type.lower()]
    f_mhz, h, r, ws = np.broadcast_arrays(
        np.asarray(freq_mhz, dtype=float),
        np.asarray(h_m, dtype=float),
        np.asarray(default_r_m if r_m is None else r_m, dtype=float),
        np.asarray(ws_m, dtype=float),
    )
    for name, arr in (("freq_mhz", f_mhz), ("h_m", h), ("r_m", r), ("ws_m", ws)):
        if np.any(arr <= 0):
            raise InvalidInputError(
                f"P.2108 section 3.1: {name} must be > 0, got min {np.nanmin(arr):g}"
            )
    finite_f = f_mhz[np.isfinite(f_mhz)]
    if finite_f.size and (finite_f.min() < FREQ_RANGE_MHZ[0] or finite_f.max() > FREQ_RANGE_MHZ[1]):
        warn_outside_validity(
            f"P.2108 section 3.1 is valid for 30-3000 MHz, got {finite_f.min():g} to "
            f"{finite_f.max():g} MHz; correction computed anyway"
        )

    f_ghz = f_mhz / 1000.0
    below = h < r
    # Evaluate on the clipped difference so that h >= R gives finite numbers we then zero.
    h_dif_m = np.where(below, r - h, 0.0)  # (2d)
    if equation == "2b":
        k_h2 = 21.8 + 6.2 * np.log10(f_ghz)  # (2f)
        a_h_db = -k_h2 * np.log10(h / r)  # (2b)
    else:
        theta_clut_deg = np.degrees(np.arctan(h_dif_m / ws))  # (2e)
        k_nu = 0.342 * np.sqrt(f_ghz)  # (2g)
        nu = k_nu * np.sqrt(h_dif_m * theta_clut_deg)  # (2c)
        a_h_db = knife_edge_j_db(nu) - 6.03  # (2a)
    a_h_db = np.where(below, a_h_db, 0.0)
    a_h_db = np.where(np.isnan(h) | np.isnan(r) | np.isnan(f_ghz), np.nan, a_h_db)
    if a_h_db.ndim == 0:
        return float(a_h_db)
    return a_h_db
