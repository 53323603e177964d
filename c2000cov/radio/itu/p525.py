"""Free-space basic transmission loss, Recommendation ITU-R P.525-4 (08/2019).

Section 2.2 (point-to-point links) gives the free-space basic transmission loss
between isotropic antennas,

    Lbf = 20 log10(4 pi d / lambda)                       [dB]
        = 32.4 + 20 log10(f) + 20 log10(d)                [dB]

with ``f`` in MHz and ``d`` in km. The constant 32.4 dB is the Recommendation's
rounding of 20 log10(4 pi 1e9 / c) = 32.45 dB; this module uses 32.4 as written
in the Recommendation so that results match hand calculations from the text.
(A later edition, P.525-5, is reported to exist; the formula is unchanged.)
"""

from __future__ import annotations

import numpy as np

from c2000cov.errors import InvalidInputError

ITU_REC = "ITU-R P.525-4"

FREE_SPACE_CONSTANT_DB = 32.4
"""Constant of the P.525 section 2.2 formula for f in MHz and d in km, in dB."""


def free_space_loss_db(freq_mhz, dist_km):
    """Free-space basic transmission loss, ITU-R P.525-4 section 2.2.

    ``Lbf = 32.4 + 20 log10(f) + 20 log10(d)``.

    Parameters
    ----------
    freq_mhz : float or array_like
        Frequency in MHz, > 0.
    dist_km : float or array_like
        Path length in km, > 0. Broadcasts against ``freq_mhz``.

    Returns
    -------
    numpy.ndarray or float
        Basic transmission loss in dB (a float for scalar inputs).

    Raises
    ------
    InvalidInputError
        If any frequency or distance is not > 0 (NaN passes through as NaN).
    """
    f = np.asarray(freq_mhz, dtype=float)
    d = np.asarray(dist_km, dtype=float)
    if np.any(f <= 0):
        raise InvalidInputError(
            f"freq_mhz must be > 0 MHz, got min {np.nanmin(f)!r}; pass the carrier frequency in MHz"
        )
    if np.any(d <= 0):
        raise InvalidInputError(
            f"dist_km must be > 0 km, got min {np.nanmin(d)!r}; free-space loss is undefined at "
            "zero distance (mask the transmitter pixel or clip to a minimum distance)"
        )
    loss_db = FREE_SPACE_CONSTANT_DB + 20.0 * np.log10(f) + 20.0 * np.log10(d)
    if loss_db.ndim == 0:
        return float(loss_db)
    return loss_db
