"""Location-probability helpers for lognormal shadowing.

The received level at a location is taken as normal in dB around a predicted
median ``S_median`` with standard deviation ``sigma`` (lognormal shadowing,
DOMAIN.md). A location is covered with probability::

    P = Q((S_req - S_median) / sigma)

where ``Q`` is the upper tail of the standard normal distribution. A target
location probability ``p`` needs a fade margin of ``sigma * Q^-1(1 - p)``
(1.645 sigma at 95 %). Independent spreads (e.g. outdoor shadowing and building
entry loss) add in power: ``sigma = sqrt(sigma1^2 + sigma2^2 + ...)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from c2000cov.errors import InvalidInputError


def _maybe_float(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def q_function(x):
    """Standard normal upper-tail probability ``Q(x) = P(X > x)``, X ~ N(0, 1).

    Parameters
    ----------
    x : float or array_like
        Argument (dimensionless).

    Returns
    -------
    numpy.ndarray or float
        ``Q(x) = 1 - Phi(x) = 0.5 erfc(x / sqrt(2))``, in [0, 1]; NaN stays NaN.
    """
    return _maybe_float(ndtr(-np.asarray(x, dtype=float)))


def _check_sigma(sigma_db) -> np.ndarray:
    sigma = np.asarray(sigma_db, dtype=float)
    if np.any(sigma <= 0):
        raise InvalidInputError(
            f"sigma_db must be > 0 dB, got min {np.nanmin(sigma):g}; "
            "use e.g. 5.5 dB (urban) to 8 dB (planning default)"
        )
    return sigma


def coverage_probability(s_req_dbm, s_median_dbm, sigma_db):
    """Probability that the received level reaches the required level.

    ``P = Q((S_req - S_median) / sigma)`` for a level that is normal in dB.

    Parameters
    ----------
    s_req_dbm : float or array_like
        Required level (receiver sensitivity plus margins) in dBm.
    s_median_dbm : float or array_like
        Predicted median received level in dBm.
    sigma_db : float or array_like
        Location-variability standard deviation in dB, > 0.

    Returns
    -------
    numpy.ndarray or float
        Coverage probability as a fraction in [0, 1] (0.5 where the median
        equals the requirement).

    Raises
    ------
    InvalidInputError
        If any ``sigma_db`` is not > 0.
    """
    sigma = _check_sigma(sigma_db)
    margin_db = np.asarray(s_median_dbm, dtype=float) - np.asarray(s_req_dbm, dtype=float)
    return location_probability(margin_db, sigma)


def location_probability(margin_db, sigma_db):
    """Location probability of a median margin: ``P = Q(-margin_db / sigma_db)``.

    The one place the coverage probability is computed: the best-server
    reduction, N-1 and every table call it. The arithmetic keeps the dtype
    of ``margin_db`` (float32 rasters stay float32 until ``Q``), so results
    are bit-identical whoever calls it. ``sigma_db`` must be > 0 (checked
    where it is read, in the scenario and in :func:`coverage_probability`).

    Parameters
    ----------
    margin_db : float or array_like
        Median received level minus the required level (dB); NaN stays NaN.
    sigma_db : float or array_like
        Location-variability standard deviation (dB), > 0.

    Returns
    -------
    numpy.ndarray or float
        Probability in [0, 1].
    """
    return q_function(-margin_db / sigma_db)


def fade_margin_db(sigma_db, target_pct):
    """Margin above the median needed for a target location probability.

    ``M = sigma * Q^-1(1 - p) = sigma * Phi^-1(p)``; 1.645 sigma at 95 %,
    1.282 sigma at 90 %, 0 at 50 % (negative below 50 %).

    Parameters
    ----------
    sigma_db : float or array_like
        Standard deviation in dB, > 0.
    target_pct : float or array_like
        Target location probability in %, strictly between 0 and 100.

    Returns
    -------
    numpy.ndarray or float
        Fade margin in dB.

    Raises
    ------
    InvalidInputError
        If ``sigma_db`` is not > 0 or ``target_pct`` is outside (0, 100).
    """
    sigma = _check_sigma(sigma_db)
    p = np.asarray(target_pct, dtype=float)
    if np.any((p <= 0) | (p >= 100)):
        raise InvalidInputError(
            f"target_pct must be strictly between 0 and 100 %, got {np.nanmin(p):g} to "
            f"{np.nanmax(p):g}; e.g. 95 for 95 % of locations"
        )
    return _maybe_float(sigma * ndtri(p / 100.0))


def combine_sigma_db(*sigmas_db):
    """Root-sum-square of independent standard deviations in dB.

    Parameters
    ----------
    *sigmas_db : float or array_like
        Standard deviations in dB (>= 0), broadcast against each other.

    Returns
    -------
    numpy.ndarray or float
        ``sqrt(sum(sigma_i^2))`` in dB.

    Raises
    ------
    InvalidInputError
        If no sigma is given or any is negative.
    """
    if not sigmas_db:
        raise InvalidInputError("combine_sigma_db needs at least one sigma_db value")
    arrays = [np.asarray(s, dtype=float) for s in sigmas_db]
    for i, s in enumerate(arrays):
        if np.any(s < 0):
            raise InvalidInputError(
                f"combine_sigma_db argument {i + 1}: sigma_db must be >= 0 dB, got {np.nanmin(s):g}"
            )
    return _maybe_float(np.sqrt(sum(s**2 for s in arrays)))
