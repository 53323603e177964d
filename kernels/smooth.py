"""The Bullington point of the smooth (zero-height) profile of eq. (37), in O(log n).

Lbulls of ITU-R P.1812-8 eq. (37) is the Bullington loss of a profile of zero heights
with the effective antenna heights hts', hrs' above it. Over such a profile the slopes
of eqs. (13), (17) are concave in the distance, so their discrete maxima are at the two
samples around the continuous optimum, and the line-of-sight nu is unimodal: found by
a galloping search from the previous receiver's answer, then bisection. Exact.
"""

from __future__ import annotations

import math

from .hulls import nu_ge
from .jit import inline_kernel, noref_kernel


@inline_kernel
def bracket(x_km, i_max, guess_step, t):
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


@inline_kernel
def smooth_rises(x_km, j, i_max, d, c, hts_p, slope):
    """nu(j + 1) >= nu(j) over the zero-height profile (False at j = i_max)."""
    if j >= i_max:
        return False
    xa = x_km[j]
    xb = x_km[j + 1]
    # height above the Tx-Rx line of the zero profile: c x (d - x) - line
    ha = c * xa * (d - xa) - (hts_p + slope * xa)
    hb = c * xb * (d - xb) - (hts_p + slope * xb)
    return nu_ge(hb, xb, ha, xa, d)


@noref_kernel
def smooth_bullington_point(x_km, i, d, hts_p, hrs_p, c, guess_step, hint):
    """Bullington point (eqs. 13-19) of the zero-height profile x_km[0..i] with antenna
    heights hts_p, hrs_p above it, in O(log i): Lbulls of eq. (37) is Lbull of eq. (21) for it.

    Returns ``(h_m, x_pt_km, hint)``: the diffraction parameter at wavelength lam is
    ``nu = h_m * sqrt(0.002 d / (lam x_pt (d - x_pt)))`` (eqs. 15, 19), where ``x_pt`` is the
    line-of-sight maximiser of nu or the Bullington point ``dbp``. No comparison involves
    lam (:func:`nu_ge` compares nu without it), so the point is the same for every
    frequency. ``hint``: the sample of the line-of-sight maximum for the previous receiver
    (a search start only); the new one is returned (unchanged when the path is not
    line-of-sight). Needs i >= 2 (at least one intermediate point).
    """
    jhint = hint
    i_max = i - 1
    # Stim: max_j (c x (d - x) - hts') / x, concave in x; optimum at sqrt(hts'/c).
    t = math.sqrt(hts_p / c) if hts_p > 0.0 else 0.0
    j = bracket(x_km, i_max, guess_step, t)
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
        if smooth_rises(x_km, h, i_max, d, c, hts_p, slope):
            lo = h + 1  # the peak is in [lo, hi]
            step = 1
            hi = i_max
            while lo < i_max:
                probe = lo + step - 1
                if probe >= i_max:
                    break
                if smooth_rises(x_km, probe, i_max, d, c, hts_p, slope):
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
                if smooth_rises(x_km, probe, i_max, d, c, hts_p, slope):
                    lo = probe + 1
                    break
                hi = probe
                step *= 2
        while lo < hi:
            mid = (lo + hi) >> 1
            if smooth_rises(x_km, mid, i_max, d, c, hts_p, slope):
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
        j = bracket(x_km, i_max, guess_step, t)
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
