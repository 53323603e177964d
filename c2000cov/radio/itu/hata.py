"""Okumura-Hata median path loss (Hata 1980, as given in ITU-R P.529-3).

Source: M. Hata, "Empirical formula for propagation loss in land mobile radio
services", IEEE Trans. Veh. Technol. VT-29(3), 1980, pp. 317-325, as reproduced
in Recommendation ITU-R P.529-3 (10/1999), Annex 1, section 1.1 (the Hata
formulae for distances up to 20 km; the P.529 extension beyond 20 km is not
implemented). In the notation used here (f in MHz, d in km, heights in m):

Urban area (the "standard" formula)::

    L_u = 69.55 + 26.16 log f - 13.82 log Hb - a(Hm) + (44.9 - 6.55 log Hb) log d

Mobile antenna height correction, small-to-medium city::

    a(Hm) = (1.1 log f - 0.7) Hm - (1.56 log f - 0.8)

Suburban area::

    L_su = L_u - 2 [log(f / 28)]^2 - 5.4

Open area::

    L_o = L_u - 4.78 (log f)^2 + 18.33 log f - 40.94

The large-city a(Hm) variant and the COST-231 extension (1500-2000 MHz) are not
implemented: C2000 works at 380-400 MHz in Dutch towns, which the
small-to-medium city correction describes. Hata's stated validity is
150-1500 MHz, Hb 30-200 m, Hm 1-10 m, d 1-20 km; outside it the loss is still
computed and an :class:`~c2000cov.errors.OutsideValidityWarning` is issued.
"""

from __future__ import annotations

import numpy as np

from c2000cov.errors import InvalidInputError, warn_outside_validity

ITU_REC = "Hata (1980) as given in ITU-R P.529-3, Annex 1, section 1.1"

ENVIRONMENTS = ("urban", "suburban", "open")

FREQ_RANGE_MHZ = (150.0, 1500.0)
H_BASE_RANGE_M = (30.0, 200.0)
H_MOBILE_RANGE_M = (1.0, 10.0)
DIST_RANGE_KM = (1.0, 20.0)


def mobile_height_correction_db(freq_mhz, h_mobile_m):
    """Mobile antenna height correction a(Hm) for a small-to-medium city, in dB.

    ``a(Hm) = (1.1 log f - 0.7) Hm - (1.56 log f - 0.8)``; close to zero for
    Hm = 1.5 m (-0.017 dB at 392.5 MHz).

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency in MHz.
    h_mobile_m : float or array_like
        Mobile antenna height above ground in m.

    Returns
    -------
    numpy.ndarray
        a(Hm) in dB.
    """
    log_f = np.log10(np.asarray(freq_mhz, dtype=float))
    hm = np.asarray(h_mobile_m, dtype=float)
    return (1.1 * log_f - 0.7) * hm - (1.56 * log_f - 0.8)


def _check_range(name: str, values: np.ndarray, lo: float, hi: float, unit: str) -> None:
    finite = values[np.isfinite(values)]
    if finite.size and (finite.min() < lo or finite.max() > hi):
        warn_outside_validity(
            f"Hata model: {name} outside its validity range {lo:g}-{hi:g} {unit} "
            f"(got {finite.min():g} to {finite.max():g} {unit}); loss computed anyway"
        )


def hata_loss_db(freq_mhz, dist_km, h_base_m, h_mobile_m, environment="urban"):
    """Okumura-Hata median basic path loss, Hata (1980) / ITU-R P.529-3 Annex 1 section 1.1.

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency in MHz (validity 150-1500 MHz).
    dist_km : float or array_like
        Distance between base and mobile in km (validity 1-20 km).
    h_base_m : float or array_like
        Effective base station antenna height in m (validity 30-200 m).
    h_mobile_m : float or array_like
        Mobile antenna height above ground in m (validity 1-10 m).
    environment : {"urban", "suburban", "open"}
        Area type. "urban" uses the small-to-medium city a(Hm); "suburban" and
        "open" apply Hata's corrections to that urban value.

    Returns
    -------
    numpy.ndarray or float
        Median path loss in dB, broadcast over the inputs (float for scalars).

    Raises
    ------
    InvalidInputError
        If ``environment`` is not one of the valid choices, or a frequency,
        distance or height is not > 0 (the logarithms are undefined).

    Warns
    -----
    OutsideValidityWarning
        If any input lies outside Hata's validity range.
    """
    if not isinstance(environment, str) or environment.lower() not in ENVIRONMENTS:
        raise InvalidInputError(
            f"environment must be one of {', '.join(repr(e) for e in ENVIRONMENTS)}, "
            f"got {environment!r}"
        )
    env = environment.lower()
    f, d, hb, hm = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (freq_mhz, dist_km, h_base_m, h_mobile_m))
    )
    for name, arr, unit in (
        ("freq_mhz", f, "MHz"),
        ("dist_km", d, "km"),
        ("h_base_m", hb, "m"),
        ("h_mobile_m", hm, "m"),
    ):
        if np.any(arr <= 0):
            raise InvalidInputError(
                f"Hata model: {name} must be > 0 {unit}, got min {np.nanmin(arr):g} {unit}"
            )
    _check_range("freq_mhz", f, *FREQ_RANGE_MHZ, "MHz")
    _check_range("h_base_m", hb, *H_BASE_RANGE_M, "m")
    _check_range("h_mobile_m", hm, *H_MOBILE_RANGE_M, "m")
    _check_range("dist_km", d, *DIST_RANGE_KM, "km")

    log_f = np.log10(f)
    log_hb = np.log10(hb)
    loss_db = (
        69.55
        + 26.16 * log_f
        - 13.82 * log_hb
        - mobile_height_correction_db(f, hm)
        + (44.9 - 6.55 * log_hb) * np.log10(d)
    )
    if env == "suburban":
        loss_db = loss_db - 2.0 * np.log10(f / 28.0) ** 2 - 5.4
    elif env == "open":
        loss_db = loss_db - 4.78 * log_f**2 + 18.33 * log_f - 40.94
    if loss_db.ndim == 0:
        return float(loss_db)
    return loss_db
